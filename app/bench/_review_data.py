"""Recordings for the review tests, benchmark and screenshots, written with RecordingWriter.

`synthetic_rollout` is pure numpy (fast; states are random vectors, so the 3-D view cannot replay
them: use a scene name no registry knows). `scene_rollouts` drives the real mug_grasp scene with
its scripted expert, so the recorded states replay exactly; at every replan it records 32 plans
around both modes' expert paths, and a second "regression" policy executes the mean of the two
modes, the averaging failure the seed describes (it runs into the mug).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from recordings.events import Event
from recordings.rollout import ReplanRecord, Rollout
from recordings.writer import RecordingWriter

H, TA, D = 16, 8, 4
SYNTHETIC_SCENE = "synthetic_review"


def synthetic_rollout(seed: int, *, steps: int = 40, samples: int = 16, state_size: int = 32,
                      policy: str = "diffusion", fail: bool = False,
                      metrics: dict[str, float] | None = None) -> Rollout:
    """A plausible two-mode rollout: the end effector moves from (0.45, 0, 0.3) to a left or
    right grasp; replans every TA steps with `samples` plans split between the modes."""
    rng = np.random.default_rng(seed)
    side = 1.0 if seed % 2 == 0 else -1.0
    t = np.linspace(0, 1, steps)[:, None]
    start, goal = np.array([0.45, 0.0, 0.30]), np.array([0.52, 0.037 * side, 0.08])
    path = start + (goal - start) * (10 * t**3 - 15 * t**4 + 6 * t**5)
    grip = np.where(np.arange(steps) > steps * 0.7, 0.0, 1.0)[:, None]
    actions = np.hstack([path, grip]).astype(np.float32)
    obs = {"ee_pos": path + rng.normal(0, 0.001, path.shape), "gripper": grip,
           "mug_pos": np.tile([0.52, 0.0, 0.0], (steps, 1))}
    replans = []
    for step in range(0, steps, TA):
        idx = np.minimum(np.arange(step, step + H), steps - 1)
        own = actions[idx]
        other = own.copy()
        other[:, 1] *= -1
        labels = ["left" if (i % 2 == 0) == (side > 0) else "right" for i in range(samples)]
        plans = np.stack([own if (i % 2 == 0) else other for i in range(samples)])
        plans = plans + rng.normal(0, 0.004, plans.shape).astype(np.float32)
        feasible = np.ones(samples, bool)
        feasible[-1] = not fail
        replans.append(ReplanRecord(step=step, samples=plans, executed_index=0,
                                    mode_labels=labels, feasible=feasible, latency_ms=40.0,
                                    executed_chunk=plans[0, :TA]))
    events = [Event("contact", steps - 3, ("panda", "mug"))] if fail else \
        [Event("success", steps - 1)]
    return Rollout(obs=obs, actions=actions, states=rng.normal(size=(steps, state_size)),
                   rewards=np.zeros(steps, np.float32), dones=np.arange(steps) == steps - 1,
                   events=events, replans=replans, metrics=metrics or {}, seed=seed,
                   policy=policy, success=not fail,
                   failure_label="collision" if fail else "unlabelled",
                   mode="left" if side > 0 else "right")


def write_synthetic(path: str | Path, count: int, *, fail_every: int = 4,
                    policies: tuple[str, ...] = ("diffusion",), **kw) -> Path:
    """`count` synthetic rollouts per policy (seeds 0..count-1); every `fail_every`-th fails."""
    path = Path(path)
    with RecordingWriter(path, env_args={"env_name": SYNTHETIC_SCENE, "type": "planscope",
                                         "env_kwargs": {}, "obs_spec": [["ee_pos", 3],
                                                                        ["gripper", 1],
                                                                        ["mug_pos", 3]]},
                         kind="eval", durable=False) as writer:
        for policy in policies:
            for seed in range(count):
                fail = fail_every > 0 and seed % fail_every == fail_every - 1
                writer.write_rollout(synthetic_rollout(seed, policy=policy, fail=fail, **kw))
    return path


def expert_rollout(scene, seed: int, policy: str, samples: int) -> Rollout:
    """One mug_grasp episode. policy "diffusion": follow the expert's own mode; "regression":
    execute the mean of the two modes' plans (drives the fingers onto the rim)."""
    from scenes import make_expert
    rng = np.random.default_rng([seed, 11])
    expert = make_expert(scene, seed=seed)
    obs = scene.reset(seed)
    trace = {"obs": [], "actions": [], "states": [], "rewards": []}
    events, replans = [], []
    success, step = False, 0
    while step < scene.max_steps:
        plans_by_mode = {m: expert.plan_for(obs, m) for m in scene.modes}
        chosen = expert.act(obs)
        labels, plans = [], []
        for i in range(samples):
            mode = scene.modes[i % len(scene.modes)]
            labels.append(mode)
            plans.append(plans_by_mode[mode] + rng.normal(0, 0.003, (H, D)) * [1, 1, 1, 0])
        if policy == "regression":
            chosen = np.mean([plans_by_mode[m] for m in scene.modes], axis=0).astype(np.float32)
            plans = [chosen + rng.normal(0, 0.001, (H, D)) * [1, 1, 1, 0] for _ in range(samples)]
            labels = ["averaging"] * samples
        plans = np.asarray(plans, np.float32)
        plans[0] = chosen
        feasible = np.asarray([scene.check_plan(p).feasible for p in plans[:4]] +
                              [True] * (samples - 4)) if samples > 4 else np.ones(samples, bool)
        if policy == "regression":
            feasible[:] = feasible[0]
        result = scene.step(chosen[:TA])
        replans.append(ReplanRecord(step=step, samples=plans, executed_index=0,
                                    mode_labels=labels if policy == "regression" else
                                    [expert.mode] + labels[1:], feasible=feasible,
                                    latency_ms=float(rng.uniform(30, 60)),
                                    executed_chunk=chosen[:TA]))
        for o, a, s, r in zip(result.obs_trace, result.action_trace, result.state_trace,
                              result.reward_trace):
            trace["obs"].append(o)
            trace["actions"].append(a)
            trace["states"].append(s)
            trace["rewards"].append(r)
        events += result.events
        step += len(result.action_trace)
        obs = result.obs
        if result.done:
            success = result.success
            break
    keys = [k for k, _ in scene.obs_spec]
    t = len(trace["actions"])
    contacts = [e for e in events if e.kind == "contact" and "table" not in e.bodies]
    return Rollout(obs={k: np.asarray([o[k] for o in trace["obs"]]) for k in keys},
                   actions=np.asarray(trace["actions"]), states=np.asarray(trace["states"]),
                   rewards=np.asarray(trace["rewards"]), dones=np.arange(t) == t - 1,
                   events=events, replans=replans, seed=seed, policy=policy, success=success,
                   failure_label="unlabelled" if success else
                   ("collision" if contacts else "timeout"),
                   mode="averaging" if policy == "regression" else expert.mode)


def write_scene_recording(path: str | Path, seeds: range | list[int], *,
                          policies: tuple[str, ...] = ("diffusion", "regression"),
                          samples: int = 32) -> Path:
    """A mug_grasp eval-like recording whose states replay in the 3-D view."""
    from scenes import make_scene
    path = Path(path)
    scene = make_scene("mug_grasp")
    try:
        with RecordingWriter(path, env_args={"env_name": "mug_grasp", "type": "planscope",
                                             "env_kwargs": {},
                                             "obs_spec": [list(x) for x in scene.obs_spec]},
                             kind="eval", seed_panel=list(seeds), durable=False) as writer:
            for policy in policies:
                for seed in seeds:
                    writer.write_rollout(expert_rollout(scene, seed, policy, samples))
    finally:
        scene.close()
    return path
