"""The scene's scripted expert wrapped as a Planner: a reference policy for evaluations.

    planscope eval --policy app.evaluation.expert_planner:mug_grasp_expert ...     # upper bound
    planscope eval --policy app.evaluation.expert_planner:mug_grasp_averaging ...  # two modes averaged

It is cheap (no network), multimodal by construction and needs no checkpoint, so it is also what
the evaluation tests and the 1,000-rollout memory benchmark run. Sample i of a replan follows the
expert in a seeded mode; sample 0 keeps the mode drawn at the rollout's first replan, so the
executed chunks of one rollout commit to one mode like a good policy. The "averaging" variant
executes the mean of the left and right plans: the mode-averaging failure the seed text describes
(it descends onto the rim and collides).

The expert keeps a clock (control steps since reset). A planner only sees observations, so the
clock restarts when the observation is a reset one (hand near its start pose, gripper open)
and advances by Ta per call: valid for the evaluation runner, which executes Ta steps per replan.
"""
from __future__ import annotations

import time

import numpy as np

from planners.protocol import PlannerSpec
from recordings.plan_batch import PlanBatch

# A reset observation: the hand within 4 cm of its start pose with the gripper reading open. Loose
# enough for observation noise (sigma ~1 cm), tight enough that a hand already on its way (>= 10 cm
# down after the first chunk) is never taken for a new rollout.
_START_TOLERANCE_M = 0.04
_OPEN_READING = 0.8


class ExpertPlanner:
    """Planner protocol over scenes.experts (see module docstring)."""

    def __init__(self, scene_name: str = "mug_grasp", *, averaging: bool = False,
                 noise: float = 0.002):
        from scenes import make_expert, make_scene
        from scenes.api import ACTION_DIM, PLAN_HORIZON
        self._scene = make_scene(scene_name)       # geometry helpers only (grasp points)
        self._make_expert = make_expert
        self.averaging, self.noise = averaging, noise
        obs_dim = sum(size for _, size in self._scene.obs_spec)
        self.spec = PlannerSpec(
            name=f"{scene_name}_expert{'_averaging' if averaging else ''}", kind="plugin",
            scene=scene_name, obs_dim=obs_dim, action_dim=ACTION_DIM, horizon=PLAN_HORIZON,
            obs_keys=tuple(self._scene.obs_spec), default_solver="expert", default_steps=0,
            extra={"data_mode_shares": {m: 1.0 / len(self._scene.modes)
                                        for m in self._scene.modes}})
        self._clock = 0
        self._mode = self._scene.modes[0]
        self._rollout_seed = 0

    def _obs_dict(self, obs: np.ndarray) -> dict[str, np.ndarray]:
        out, i = {}, 0
        for key, size in self._scene.obs_spec:
            out[key] = np.asarray(obs[i:i + size], dtype=np.float64)
            i += size
        return out

    def _is_reset(self, obs: dict[str, np.ndarray]) -> bool:
        from scenes.mug_grasp import START_EE
        return bool(np.linalg.norm(obs["ee_pos"] - np.asarray(START_EE)) < _START_TOLERANCE_M
                    and obs["gripper"][0] > _OPEN_READING)

    def _plan_in_mode(self, obs: dict, mode: str, seed: int) -> np.ndarray:
        expert = self._make_expert(self._scene, seed=seed, noise=self.noise)
        expert.mode = mode
        expert.advance(self._clock)
        return expert.act(obs)

    def plan(self, obs: np.ndarray, num_samples: int, *, seed: int, solver: str = "expert",
             steps: int = 0, temperature: float = 1.0, on_step=None, cancel=None) -> PlanBatch:
        """[N, H, 4] plans from the current observation; see the module docstring."""
        from scenes.api import ACTION_STEPS
        t0 = time.perf_counter()
        o = self._obs_dict(np.asarray(obs, dtype=np.float64).reshape(-1))
        rng = np.random.default_rng(seed)
        modes = self._scene.modes
        if self._is_reset(o):
            self._clock = 0
            self._mode = modes[int(rng.integers(len(modes)))]
            self._rollout_seed = int(seed)
        sample_modes = [self._mode] + [modes[int(k)] for k in rng.integers(len(modes),
                                                                              size=num_samples - 1)]
        plans = np.stack([self._plan_in_mode(o, m, self._rollout_seed + 7919 * i)
                          for i, m in enumerate(sample_modes)])
        if self.averaging:
            plans[0] = np.mean([self._plan_in_mode(o, m, self._rollout_seed) for m in modes], axis=0)
        self._clock += ACTION_STEPS
        return PlanBatch.without_chain(plans.astype(np.float32), solver=solver, seed=seed,
                                       planner=self.spec.name,
                                       wall_ms=(time.perf_counter() - t0) * 1e3)


def mug_grasp_expert() -> ExpertPlanner:
    return ExpertPlanner("mug_grasp")


def mug_grasp_averaging() -> ExpertPlanner:
    return ExpertPlanner("mug_grasp", averaging=True)
