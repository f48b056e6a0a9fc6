"""The scene's scripted expert wrapped as a Planner: a reference policy for evaluations.

    planscope eval --policy app.core.evaluation.expert_planner:mug_grasp_expert ...     # upper bound
    planscope eval --policy app.core.evaluation.expert_planner:mug_grasp_averaging ...  # two modes averaged

It is cheap (no network), multimodal by construction and needs no checkpoint, so it is also what
the evaluation tests and the 1,000-rollout memory benchmark run. Sample i of a replan follows the
expert in a seeded mode; sample 0 keeps the mode drawn at the rollout's first replan, so the
executed chunks of one rollout commit to one mode like a good policy. The "averaging" variant
executes the mean of the left and right plans: the mode-averaging failure the seed text describes
(it descends onto the rim and collides).

The expert follows a reference path with a clock (control steps since reset). A planner sees only
observations, so this wrapper is stateless: it finds where the hand is along the expert's path
(the nearest waypoint in position and gripper opening) and returns the path from the next
waypoint on. Sample 0's mode is the side of the mug the hand is already on (the expert's seeded
choice while the hand is still above the mug's centre line), so a rollout keeps one mode. Being
stateless, it gives the same plans whatever ran before in the process (worker-count independent).
"""
from __future__ import annotations

import time

import numpy as np

from planners.protocol import PlannerSpec
from recordings.plan_batch import PlanBatch

_SIDE_M = 0.01          # the hand is "on a side" of the mug beyond 1 cm off its centre line
_GRIP_WEIGHT = 0.05     # gripper opening (0..1) vs metres when locating the hand on the path
_FULL_PATH = 400        # control steps: longer than any reference path


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

    def _obs_dict(self, obs: np.ndarray) -> dict[str, np.ndarray]:
        out, i = {}, 0
        for key, size in self._scene.obs_spec:
            out[key] = np.asarray(obs[i:i + size], dtype=np.float64)
            i += size
        return out

    def _reference(self, obs: dict, mode: str, seed: int) -> np.ndarray:
        """[T, 4] the expert's whole path in `mode` from reset (waypoints, gripper command)."""
        expert = self._make_expert(self._scene, seed=seed, noise=self.noise)
        expert.mode = mode
        return expert.act(obs, horizon=_FULL_PATH, executed=0)

    def _from_here(self, path: np.ndarray, obs: dict) -> np.ndarray:
        """[H, 4] the path from the waypoint after the one nearest the observed hand state."""
        from scenes.api import PLAN_HORIZON
        here = np.append(obs["ee_pos"], _GRIP_WEIGHT * obs["gripper"][0])
        pts = np.column_stack([path[:, :3], _GRIP_WEIGHT * path[:, 3]])
        nearest = int(np.argmin(np.linalg.norm(pts - here, axis=1)))
        idx = np.minimum(np.arange(nearest + 1, nearest + 1 + PLAN_HORIZON), len(path) - 1)
        return path[idx]

    def _current_mode(self, obs: dict, rng: np.random.Generator) -> str:
        modes = self._scene.modes
        offset = float(obs["ee_pos"][1] - obs["mug_pos"][1])
        if abs(offset) > _SIDE_M and len(modes) == 2:
            return "left" if offset > 0 else "right"
        return modes[int(rng.integers(len(modes)))]

    def plan(self, obs: np.ndarray, num_samples: int, *, seed: int, solver: str = "expert",
             steps: int = 0, temperature: float = 1.0, on_step=None, cancel=None) -> PlanBatch:
        """[N, H, 4] plans from the current observation; see the module docstring."""
        t0 = time.perf_counter()
        o = self._obs_dict(np.asarray(obs, dtype=np.float64).reshape(-1))
        rng = np.random.default_rng(seed)
        modes = self._scene.modes
        sample_modes = [self._current_mode(o, rng)] + \
            [modes[int(k)] for k in rng.integers(len(modes), size=num_samples - 1)]
        plans = np.stack([self._from_here(self._reference(o, m, seed + 7919 * i), o)
                          for i, m in enumerate(sample_modes)])
        if self.averaging:
            plans[0] = np.mean([self._from_here(self._reference(o, m, seed), o) for m in modes],
                               axis=0)
        return PlanBatch.without_chain(plans.astype(np.float32), solver=solver, seed=seed,
                                       planner=self.spec.name,
                                       wall_ms=(time.perf_counter() - t0) * 1e3)


def mug_grasp_expert() -> ExpertPlanner:
    return ExpertPlanner("mug_grasp")


def mug_grasp_averaging() -> ExpertPlanner:
    return ExpertPlanner("mug_grasp", averaging=True)
