"""Constructed bimodal demonstrations for planner tests (no scene, no simulator).

The robot moves from (0, 0, 0.1) to (1, 0, 0.1) around an obstacle near (0.5, 0): either
on the left (+y) or on the right (-y). At the first step the observation does not tell which
side, so the data are bimodal there; a regression policy averages them into y ~ 0, straight
through the obstacle.
obs (5): ee position x, y, z and obstacle x, y. actions: next waypoint x, y, z, gripper.
"""
from __future__ import annotations

import numpy as np

from planners.data import DemoData, chunk_actions

OBS_SPEC = (("ee_pos", 3), ("obstacle", 2))
T = 20
SIDE_Y = 0.3


def episode(side: int, obstacle: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """obs [T, 5], actions [T, 4] for one demo going around on `side` (+1 left, -1 right)."""
    s = np.linspace(0.0, 1.0, T + 1)
    y = side * (SIDE_Y + rng.normal(0, 0.02)) * np.sin(np.pi * s)
    path = np.stack([s, y, np.full_like(s, 0.1)], axis=1)
    obs = np.concatenate([path[:-1], np.repeat(obstacle[None], T, axis=0)], axis=1)
    grip = np.ones((T, 1))
    return obs.astype(np.float32), np.concatenate([path[1:], grip], axis=1).astype(np.float32)


def make_data(episodes: int = 60, left_share: float = 0.5, seed: int = 0, horizon: int = 16) -> DemoData:
    rng = np.random.default_rng(seed)
    n_left = int(round(episodes * left_share))
    sides = [1] * n_left + [-1] * (episodes - n_left)
    obs, acts, ep, modes = [], [], [], []
    for i, side in enumerate(sides):
        obstacle = np.array([0.5, 0.0]) + rng.normal(0, 0.01, 2)
        o, a = episode(side, obstacle, rng)
        obs.append(o)
        acts.append(chunk_actions(a, horizon))
        ep.append(np.full(T, i))
        modes.append("left" if side > 0 else "right")
    return DemoData(obs=np.concatenate(obs), actions=np.concatenate(acts), episode=np.concatenate(ep),
                    obs_spec=OBS_SPEC, scene="synthetic_bimodal", episode_modes=modes,
                    sha256="0" * 64, path="<synthetic>")


def start_obs() -> np.ndarray:
    """The first observation, where the data are bimodal: [5] float32."""
    return np.array([0.0, 0.0, 0.1, 0.5, 0.0], dtype=np.float32)


def label(plan: np.ndarray) -> str:
    """Ground-truth mode of a plan [H, 4]: which side its widest excursion is on."""
    y = plan[:, 1]
    peak = y[np.argmax(np.abs(y))]
    if abs(peak) < SIDE_Y / 3:
        return "middle"
    return "left" if peak > 0 else "right"


def mode_refs(horizon: int = 16) -> dict[str, np.ndarray]:
    """The two data modes' plans from the start observation: {label: [H, 4]}."""
    rng = np.random.default_rng(0)
    refs = {}
    for side, name in ((1, "left"), (-1, "right")):
        _, a = episode(side, np.array([0.5, 0.0]), rng)
        refs[name] = chunk_actions(a, horizon)[0]
    return refs
