"""Small deterministic rollouts for the recordings tests (importable by subprocess scripts too)."""
from __future__ import annotations

import numpy as np

from recordings.events import Event
from recordings.rollout import ReplanRecord, Rollout

ENV_ARGS = {"env_name": "mug_grasp", "type": "planscope", "env_kwargs": {"rows": 1},
            "obs_spec": [["ee_pos", 3], ["gripper", 1]]}


def make_rollout(i: int, *, steps: int = 12, samples: int = 4, chain_every: int = 2,
                 policy: str = "dp", success: bool | None = None) -> Rollout:
    """Rollout i: values derived from i so a reader can check every field came back."""
    rng = np.random.default_rng(i)
    replans = []
    for j, step in enumerate(range(0, steps, 4)):
        keep = chain_every and j % chain_every == 0
        replans.append(ReplanRecord(
            step=step, samples=rng.normal(size=(samples, 16, 4)),
            executed_index=j % samples,
            mode_labels=[("left", "right")[k % 2] for k in range(samples)],
            feasible=np.arange(samples) % 3 != 0, latency_ms=10.0 + j,
            executed_chunk=rng.normal(size=(8, 4)),
            chain=rng.normal(size=(5, samples, 16, 4)) if keep else None,
            x0_estimates=rng.normal(size=(4, samples, 16, 4)) if keep else None))
    return Rollout(
        obs={"ee_pos": rng.normal(size=(steps, 3)), "gripper": rng.uniform(size=(steps, 1)),
             "image": rng.integers(0, 255, size=(steps, 4, 5, 3), dtype=np.uint8)},
        actions=rng.normal(size=(steps, 4)), states=rng.normal(size=(steps, 7)),
        rewards=(np.arange(steps) == steps - 1).astype(np.float32),
        dones=np.arange(steps) == steps - 1,
        events=[Event("contact", 2, ("panda", "mug"), {"force": 1.5 + i}),
                Event("replan", 4), Event("success", steps - 1)],
        replans=replans, metrics={"min_clearance": 0.01 * i, "plan_exec_gap": 0.002 * i},
        seed=100 + i, policy=policy, perturbation={"obs_noise": 0.01} if i % 2 else {},
        success=(i % 3 != 0) if success is None else success,
        failure_label="planning" if i % 3 == 0 else "unlabelled", mode=("left", "right")[i % 2],
        attrs={"note": f"rollout {i}", "nested": [1, 2]})
