"""kill -9 a writer subprocess at random moments: no acknowledged rollout is ever lost and the file
always opens cleanly, with our reader and with plain h5py (the robomimic layout)."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

from recordings.reader import RecordingReader
from tests.recordings.helpers import make_rollout

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 24
COUNT = 6


def run_and_kill(path: Path, rng: random.Random) -> tuple[int | None, list[int], bool]:
    """Start the child, kill it after a random number of acks plus a random delay (sometimes
    during close()). Returns (rollouts found at open, acked ids, closed cleanly)."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.recordings.writer_child", str(path),
                             str(COUNT)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    target = rng.randint(0, COUNT + 1)          # COUNT + 1: let it finish (or die in close())
    lines: list[str] = []
    acks = 0
    for line in proc.stdout:
        lines.append(line.strip())
        acks += line.startswith("ack")
        if line.startswith("open") and target == 0 or line.startswith("ack") and acks >= target:
            break
    time.sleep(rng.uniform(0, 0.012))
    proc.send_signal(signal.SIGKILL)
    lines += [x.strip() for x in proc.stdout.read().splitlines()]
    proc.wait()
    opened = next((int(x.split()[1]) for x in lines if x.startswith("open")), None)
    acked = [int(x.split()[1]) for x in lines if x.startswith("ack")]
    return opened, acked, "closed" in lines


def check_file(path: Path, acked_total: int) -> int:
    with RecordingReader(path) as r:
        n = len(r)
        assert n >= acked_total, f"lost rollouts: {n} in file, {acked_total} acknowledged"
        for i in range(n):
            want = make_rollout(i, steps=10, samples=3)
            ro = r.rollout(i)
            assert ro.seed == want.seed
            np.testing.assert_array_equal(ro.actions(), want.actions)
            np.testing.assert_array_equal(ro.replans[1].samples, want.replans[1].samples)
    with h5py.File(path, "r") as f:                 # plain robomimic-style access
        for i in range(acked_total):
            np.testing.assert_array_equal(f[f"data/demo_{i}/actions"][()],
                                          make_rollout(i, steps=10, samples=3).actions)
    return n


def test_kill_9_at_random_points_loses_nothing(tmp_path):
    rng = random.Random(1234)
    path = tmp_path / "killed.h5"
    acked_total = 0
    kinds = set()
    for trial in range(TRIALS):
        opened, acked, closed = run_and_kill(path, rng)
        if opened is not None:
            assert opened >= acked_total, f"trial {trial}: resume saw {opened} < {acked_total}"
        assert acked == list(range(acked[0], acked[0] + len(acked))) if acked else True
        if acked:
            acked_total = acked[-1] + 1
        n = check_file(path, acked_total)
        acked_total = max(acked_total, n)   # written but killed before its ack: now part of file
        kinds.add("closed" if closed else "killed")
    assert kinds == {"closed", "killed"}
    with RecordingReader(path) as r:
        assert len(r) >= acked_total
