"""kill -9 the scan writer at random moments (>= 20 trials): every acknowledged chunk is kept and
the file always opens, with ScanReader and with plain h5py. Trials resume the same file, so kills
land in fresh writes, resumes (index and merged), index updates and merges."""
from __future__ import annotations

import random
import time

import h5py
import numpy as np

from recordings.formats.scan_file import ScanWriter
from recordings.header import code_version
from recordings.formats.scan_reader import ScanReader
from tests.recordings.forked import ForkedChild
from tests.recordings.scan_helpers import COLUMNS, HEADER, rows

TRIALS = 24
CHUNKS = 4
CHUNK_ROWS = 5


def chunk_keys(c: int) -> list[tuple[int, int]]:
    """Chunk c of the whole scan: 5 frames of episode c // 2 (two chunks per episode)."""
    return [(c // 2, 2 * (CHUNK_ROWS * (c % 2) + j)) for j in range(CHUNK_ROWS)]


def writer_work(path):
    def work(say) -> None:
        w = ScanWriter(path, columns=COLUMNS, header=HEADER, mode="a", resume_keys=("data",),
                       durable=False)    # fsync guards power cuts, not kills: same safety here
        start = w.num_rows // CHUNK_ROWS
        say(f"open {start}")
        for c in range(start, start + CHUNKS):
            w.write_chunk(rows(chunk_keys(c)))
            say(f"ack {c}")
        w.close(partial=True, reason="trial")
        say("closed")
    return work


def run_and_kill(path, rng: random.Random) -> tuple[list[int], bool]:
    child = ForkedChild(writer_work(path))
    target = rng.randint(0, CHUNKS + 1)
    lines: list[str] = []
    acks = 0
    for line in child.stdout:
        lines.append(line.strip())
        acks += line.startswith("ack")
        if (line.startswith("open") and target == 0) or (line.startswith("ack") and acks >= target):
            break
    time.sleep(rng.uniform(0, 0.02))
    lines += child.kill()
    return [int(x.split()[1]) for x in lines if x.startswith("ack")], "closed" in lines


def check(path, acked_chunks: int) -> int:
    with ScanReader(path) as r:
        n = r.num_rows
        assert n >= acked_chunks * CHUNK_ROWS, f"lost frames: {n} < {acked_chunks * CHUNK_ROWS}"
        assert n % CHUNK_ROWS == 0
        keys = sorted(k for c in range(n // CHUNK_ROWS) for k in chunk_keys(c))
        want = rows(keys)
        for col in ("episode", "frame", "demo_dist_nearest", "collapsed"):
            np.testing.assert_array_equal(r.column(col), want[col])
        last = [n - 1]
        np.testing.assert_array_equal(r.rows("plans", last), want["plans"][last])
        layout = r.layout
    with h5py.File(path, "r") as f:       # plain h5py: links (index) or the frames table
        if layout == "index":
            assert int(f["chunk_rows"][()].sum()) == n
            last_chunk = len(f["chunk_rows"]) - 1
            assert f[f"chunks/c_{last_chunk}/episode"].shape == (f["chunk_rows"][last_chunk],)
        else:
            assert f["frames/episode"].shape == (n,)
    return n


def test_kill_9_at_random_points_keeps_every_acknowledged_chunk(tmp_path):
    code_version()      # cached before forking: children skip the git call
    rng = random.Random(4321)
    path = tmp_path / "scan.h5"
    acked_total = 0
    outcomes = set()
    for trial in range(TRIALS):
        acked, closed = run_and_kill(path, rng)
        if acked:
            assert acked == list(range(acked[0], acked[-1] + 1)), f"trial {trial}: {acked}"
            assert acked[0] >= acked_total, f"trial {trial}: resumed before an acked chunk"
            acked_total = acked[-1] + 1
        if not path.exists():
            assert acked_total == 0
            continue
        n = check(path, acked_total)
        acked_total = max(acked_total, n // CHUNK_ROWS)   # written, killed before the ack: kept
        outcomes.add("closed" if closed else "killed")
    assert outcomes == {"closed", "killed"}
    assert acked_total >= TRIALS
