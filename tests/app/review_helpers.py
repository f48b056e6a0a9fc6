"""Recordings for the review tests: small files written with RecordingWriter (constructed
rollouts) and a plain robomimic file written with h5py only."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from app.bench._review_data import synthetic_rollout, write_synthetic
from recordings.writer import RecordingWriter

__all__ = ["write_synthetic", "write_ranked", "write_robomimic", "RANKED_FAILURES"]

# write_ranked: ids of the failures (every 6th rollout) and each rollout's mode switches.
RANKED_COUNT = 30
RANKED_FAILURES = tuple(range(5, RANKED_COUNT, 6))


def mode_switches_of(rollout_id: int) -> float:
    # distinct values, unrelated to id order, so the ranking cannot pass by accident
    return float((rollout_id * 7) % RANKED_COUNT)


def write_ranked(path: Path) -> Path:
    """30 rollouts; 5 failures; mode_switches a permutation of 0..29, the other ranked metrics
    absent or equal."""
    with RecordingWriter(path, env_args={"env_name": "synthetic_review"}, kind="eval",
                         durable=False) as writer:
        for rid in range(RANKED_COUNT):
            writer.write_rollout(synthetic_rollout(
                rid, steps=12, samples=4, fail=rid in RANKED_FAILURES,
                # equal disagreement everywhere: only failure and mode switches decide
                metrics={"mode_switches": mode_switches_of(rid), "sample_disagreement": 0.0}))
    return path


def expected_hardest(count: int = 20) -> list[int]:
    """Failures first (more mode switches first), then successes by mode switches."""
    ids = range(RANKED_COUNT)
    fails = sorted((i for i in ids if i in RANKED_FAILURES), key=lambda i: -mode_switches_of(i))
    oks = sorted((i for i in ids if i not in RANKED_FAILURES), key=lambda i: -mode_switches_of(i))
    return (fails + oks)[:count]


def write_robomimic(path: Path, demos: int = 3, steps: int = 20) -> Path:
    """A file in the plain robomimic layout, written by h5py code that knows nothing of planscope:
    data/demo_i/{actions, states, rewards, dones, obs/<key>}, data attrs env_args and total."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        data.attrs["env_args"] = json.dumps({"env_name": "Lift", "type": 1, "env_kwargs": {}})
        data.attrs["total"] = demos * steps
        for i in range(demos):
            g = data.create_group(f"demo_{i}")
            g.attrs["num_samples"] = steps
            g.create_dataset("actions", data=rng.uniform(-1, 1, (steps, 7)))
            g.create_dataset("states", data=rng.normal(size=(steps, 45)))
            g.create_dataset("rewards", data=np.zeros(steps))
            g.create_dataset("dones", data=np.arange(steps) == steps - 1)
            obs = g.create_group("obs")
            obs.create_dataset("robot0_eef_pos", data=rng.normal(size=(steps, 3)))
            obs.create_dataset("object", data=rng.normal(size=(steps, 10)))
            obs.create_dataset("agentview_image", data=np.zeros((steps, 8, 8, 3), np.uint8))
    return path
