"""kill -9 a writer process at random moments: no acknowledged rollout is ever lost and the file
always opens cleanly, with our reader and with plain h5py (the robomimic layout). Trials append
to the same file (resume), so kills land in fresh writes, resumes, index updates and merges."""
from __future__ import annotations

import random
import time
from pathlib import Path

import h5py
import numpy as np

from recordings.reader import RecordingReader
from recordings.writer import RecordingWriter
from tests.recordings.forked import ForkedChild
from tests.recordings.helpers import ENV_ARGS, make_rollout

TRIALS = 40
COUNT = 6


def small(i: int):
    return make_rollout(i, steps=10, samples=3)


def writer_work(path: Path):
    def work(say) -> None:
        writer = RecordingWriter(path, env_args=ENV_ARGS, config={"trial": True}, mode="a")
        start = len(writer)
        say(f"open {start}")
        for i in range(start, start + COUNT):
            writer.write_rollout(small(i))
            say(f"ack {i}")
        writer.close()
        say("closed")
    return work


def run_and_kill(path: Path, rng: random.Random) -> tuple[int | None, list[int], bool]:
    """Kill the child after a random number of acks plus a random delay (COUNT + 1: let it
    reach close(), or finish). Returns (rollouts at open, acked ids, closed cleanly)."""
    child = ForkedChild(writer_work(path))
    target = rng.randint(0, COUNT + 1)
    lines: list[str] = []
    acks = 0
    for line in child.stdout:
        lines.append(line.strip())
        acks += line.startswith("ack")
        if (line.startswith("open") and target == 0) or (line.startswith("ack") and acks >= target):
            break
    time.sleep(rng.uniform(0, 0.015))
    lines += child.kill()
    opened = next((int(x.split()[1]) for x in lines if x.startswith("open")), None)
    acked = [int(x.split()[1]) for x in lines if x.startswith("ack")]
    return opened, acked, "closed" in lines


def check_file(path: Path, acked_total: int, verified: int, rng: random.Random) -> int:
    """Every rollout is listed with the right seed; rollouts new since the last trial (and a few
    older ones) are read back in full, by our reader and by plain h5py."""
    with RecordingReader(path) as r:
        n = len(r)
        assert n >= acked_total, f"lost rollouts: {n} in file, {acked_total} acknowledged"
        np.testing.assert_array_equal(r.summary["seed"], [small(i).seed for i in range(n)])
        recheck = sorted(set(range(verified, n)) | set(rng.sample(range(n), min(n, 3))))
        for i in recheck:
            want = small(i)
            ro = r.rollout(i)
            assert ro.seed == want.seed
            np.testing.assert_array_equal(ro.actions(), want.actions)
            np.testing.assert_array_equal(ro.replans[1].samples, want.replans[1].samples)
    with h5py.File(path, "r") as f:                 # plain robomimic-style access
        assert len([k for k in f["data"] if k.startswith("demo_")]) == n
        for i in recheck:
            np.testing.assert_array_equal(f[f"data/demo_{i}/actions"][()], small(i).actions)
    return n


def test_kill_9_at_random_points_loses_nothing(tmp_path):
    rng = random.Random(1234)
    path = tmp_path / "killed.h5"
    acked_total = verified = 0
    outcomes = set()
    for trial in range(TRIALS):
        opened, acked, closed = run_and_kill(path, rng)
        if opened is not None:
            assert opened >= acked_total, f"trial {trial}: resume saw {opened} < {acked_total}"
        if acked:
            assert acked == list(range(acked[0], acked[-1] + 1))
            acked_total = acked[-1] + 1
        if not path.exists():               # killed before its first rollout: no file yet
            assert acked_total == 0
            continue
        n = check_file(path, acked_total, verified, rng)
        verified = n
        acked_total = max(acked_total, n)   # written but killed before its ack: now kept
        outcomes.add("closed" if closed else "killed")
    assert outcomes == {"closed", "killed"}
    assert acked_total >= TRIALS
