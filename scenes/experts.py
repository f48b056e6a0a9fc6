"""Scripted experts: a seeded mode choice, a seeded noisy reference path per episode, and
`act(obs) -> [H, 4]` chunks replanned from the current observation like a chunking policy.

    expert = make_expert(scene, mode_mix=(0.5, 0.5), noise=0.003, seed=episode_seed)
    obs = scene.reset(episode_seed)
    while not done: chunk = expert.act(obs); result = scene.step(chunk[:ACTION_STEPS]) ...

The expert keeps its own clock (control steps executed since reset = ACTION_STEPS per act() call
by default; call `advance(k)` instead when fewer steps ran). Before the grasp/commit point the
reference path is re-anchored to the object position in each observation, so it reacts to a
moved object; after it the path is frozen.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from scenes.api import ACTION_STEPS, PLAN_HORIZON, SceneError

DEFAULT_NOISE = 0.002   # metres: std of the per-episode waypoint offsets
APPROACH_OPENING = 0.6  # mug_grasp gripper command while approaching the rim


def _min_jerk(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """n points from a (exclusive) to b (inclusive) with a minimum-jerk time profile."""
    s = np.arange(1, n + 1) / n
    s = 10 * s**3 - 15 * s**4 + 6 * s**5
    return a + (b - a) * s[:, None]


class Expert:
    """Base class: mode choice and the chunk clock. Subclasses build `_reference(obs)` [T, 4]."""

    def __init__(self, scene, mode_mix: Sequence[float] | None, noise: float | None, seed: int):
        modes = scene.modes
        mix = np.full(len(modes), 1.0 / len(modes)) if mode_mix is None else np.asarray(mode_mix, float)
        if mix.shape != (len(modes),) or np.any(mix < 0) or not np.isfinite(mix).all() or mix.sum() <= 0:
            raise SceneError(f"mode mix {list(np.atleast_1d(mix))} must be {len(modes)} "
                             f"non-negative weights for modes {', '.join(modes)}")
        self.mode_mix = mix / mix.sum()
        self.scene = scene
        self.seed = int(seed)
        self.noise = DEFAULT_NOISE if noise is None else float(noise)
        # The mode is drawn from its own stream so it depends only on (seed, mix), not on noise.
        self.mode = modes[int(np.random.default_rng([self.seed, 7]).choice(len(modes), p=self.mode_mix))]
        self._rng_noise = np.random.default_rng([self.seed, 8])
        self.t = 0
        self._frozen: np.ndarray | None = None
        self._offsets = self._draw_offsets()

    def _draw_offsets(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _reference(self, obs) -> tuple[np.ndarray, int]:
        """(path [T, 4], commit step): the full episode's waypoints from control step 0."""
        raise NotImplementedError

    def act(self, obs, horizon: int = PLAN_HORIZON, executed: int = ACTION_STEPS) -> np.ndarray:
        """Waypoints [horizon, 4] from the expert's clock on; the clock then advances by
        `executed` steps (what the caller will run before asking again)."""
        if self._frozen is not None:
            path = self._frozen
        else:
            path, commit = self._reference(obs)
            if self.t >= commit:
                self._frozen = path
        idx = np.minimum(np.arange(self.t, self.t + horizon), len(path) - 1)
        self.t += executed
        return path[idx].astype(np.float32)

    def plan_for(self, obs, mode: str, horizon: int = PLAN_HORIZON) -> np.ndarray:
        """The noise-free plan [horizon, 4] this expert would follow in another `mode` from the
        same clock (used to build the averaged two-mode path)."""
        saved = (self.mode, self._offsets)
        self.mode = mode
        self._offsets = {k: np.zeros_like(v) for k, v in self._offsets.items()}
        try:
            path, _ = self._reference(obs)
        finally:
            self.mode, self._offsets = saved
        idx = np.minimum(np.arange(self.t, self.t + horizon), len(path) - 1)
        return path[idx].astype(np.float32)

    def advance(self, steps: int) -> None:
        self.t += int(steps)


class MugGraspExpert(Expert):
    """Above the rim wall on the mode's side -> straight down, fingers open -> close -> lift."""

    def _draw_offsets(self):
        rng = self._rng_noise
        return {"grasp": rng.normal(0, self.noise, 3),      # where on the wall it pinches
                "via": rng.normal(0, 2 * self.noise, 3)}   # the approach point above it

    def _reference(self, obs):
        from scenes.mug_grasp import START_EE
        mug = np.asarray(obs["mug_pos"], float)
        grasp = self.scene.grasp_point(self.mode, mug) + np.clip(self._offsets["grasp"], -0.004, 0.004)
        above = grasp + np.array([0, 0, 0.10]) + np.clip(self._offsets["via"], -0.01, 0.01) * [1, 1, 0]
        lift = grasp + np.array([0, 0, 0.12])
        start = np.asarray(START_EE, float)
        segs = [start[None],
                _min_jerk(start, above, 10),
                _min_jerk(above, grasp, 8),
                np.repeat(grasp[None], 2, 0)]
        approach = np.concatenate(segs)
        close_at = len(approach)
        hold = np.repeat(grasp[None], 5, 0)
        rise = _min_jerk(grasp, lift, 8)
        xyz = np.concatenate([approach, hold, rise, np.repeat(lift[None], 40, 0)])
        # Open to 60 % (4.8 cm between the pads) while approaching: fully open, the inner finger's
        # 2.6 cm thick body reaches the far side of the 6.6 cm opening.
        grip = np.full(len(xyz), APPROACH_OPENING)
        grip[0] = 1.0
        grip[close_at:] = 0.0
        # Commit once the descent is under way: from then on the mug pose is taken as fixed.
        return np.column_stack([xyz, grip]), 12


class ObstacleReachExpert(Expert):
    """Through the chosen gap of each row (nearest first), then on to the target."""

    SPEED = 0.025   # metres per control step (0.25 m/s)

    def _draw_offsets(self):
        rng = self._rng_noise
        return {"gaps": rng.normal(0, 3 * self.noise, (self.scene.rows, 2)),
                "approach": rng.normal(0, self.noise, 3)}

    def _reference(self, obs):
        from scenes.obstacle_reach import START_EE, WORK_Z
        scene = self.scene
        target = np.asarray(obs["target_pos"], float)
        vias = [np.asarray(START_EE, float)]
        half_gap = 0.5 * (scene.row_x[1] - scene.row_x[0]) if scene.rows > 1 else 0.08
        for i, (x_row, side) in enumerate(zip(scene.row_x, scene.mode_sides(self.mode))):
            dy, dz = np.clip(self._offsets["gaps"][i], -0.015, 0.015)
            y = scene.gap_y(side) + dy
            vias += [np.array([x_row - half_gap, y, WORK_Z + dz]),
                     np.array([x_row + half_gap, y, WORK_Z + dz])]
        vias.append(target + np.clip(self._offsets["approach"], -0.005, 0.005) * [1, 1, 0])
        segs = [vias[0][None]]
        for a, b in zip(vias[:-1], vias[1:]):
            n = max(2, int(np.ceil(np.linalg.norm(b - a) / self.SPEED)))
            segs.append(_min_jerk(a, b, n))
        xyz = np.concatenate(segs + [np.repeat(vias[-1][None], 40, 0)])
        return np.column_stack([xyz, np.ones(len(xyz))]), 0


EXPERTS = {"mug_grasp": MugGraspExpert, "obstacle_reach": ObstacleReachExpert}


def make_expert(scene, mode_mix: Sequence[float] | None = None, noise: float | None = None,
                seed: int = 0) -> Expert:
    """Scripted expert for a scene instance; `mode` is drawn from mode_mix with `seed`."""
    cls = EXPERTS.get(scene.name)
    if cls is None:
        raise SceneError(f"no scripted expert for scene {scene.name!r}; experts exist for: "
                         f"{', '.join(EXPERTS)}")
    return cls(scene, mode_mix, noise, seed)
