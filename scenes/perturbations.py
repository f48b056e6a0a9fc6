"""Perturbations: seeded, composable, serialisable changes to a scene.

A perturbation is a plain dict (what the rollout records), e.g. {"obs_noise": 0.01, "delay": 2}.
Keys (all optional, combine freely):

  obs_noise=σ       Gaussian noise (std σ, in each field's units) on every low-dim observation field
  delay=k           actions take effect k control steps late (the robot holds its start pose first)
  action_noise=σ    Gaussian noise (std σ metres) on each executed waypoint's x, y, z
  pose_shift=d      the task object is moved d metres in a seeded random horizontal direction at reset
  friction=s        lateral friction of the task object and the fingers multiplied by s
  mass=s            mass of the task object multiplied by s

Noise is a pure function of (episode seed, control step, stream), so a rollout replays exactly
from its recorded states and the same seed gives the same noise whatever ran before.
Use it as `make_scene(name, perturb={...})` or parse CLI strings with `parse_perturbation`.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict
from typing import Any, Sequence

import numpy as np

from scenes.api import SceneError

PERTURBATION_KEYS = ("obs_noise", "delay", "action_noise", "pose_shift", "friction", "mass")
_DEFAULTS = {"obs_noise": 0.0, "delay": 0, "action_noise": 0.0, "pose_shift": 0.0,
             "friction": 1.0, "mass": 1.0}
_OBS_STREAM, _ACTION_STREAM = 2, 3


@dataclass(frozen=True)
class Perturbation:
    obs_noise: float = 0.0
    delay: int = 0
    action_noise: float = 0.0
    pose_shift: float = 0.0
    friction: float = 1.0
    mass: float = 1.0

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "Perturbation":
        """Validate a dict; unknown keys or bad values raise SceneError listing what is valid."""
        values = dict(values or {})
        unknown = sorted(set(values) - set(PERTURBATION_KEYS))
        if unknown:
            raise SceneError(f"unknown perturbation {', '.join(map(repr, unknown))}; "
                             f"valid: {', '.join(PERTURBATION_KEYS)}")
        clean: dict[str, Any] = {}
        for key, value in values.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise SceneError(f"perturbation {key}={value!r} is not a number") from None
            if not np.isfinite(number):
                raise SceneError(f"perturbation {key}={value!r} is not finite")
            if key == "delay":
                if number < 0 or number != int(number):
                    raise SceneError(f"perturbation delay={value!r} must be a whole number of "
                                     "control steps >= 0")
                clean[key] = int(number)
            elif key in ("friction", "mass"):
                if number <= 0:
                    raise SceneError(f"perturbation {key}={value!r} must be a scale > 0")
                clean[key] = number
            else:
                if number < 0:
                    raise SceneError(f"perturbation {key}={value!r} must be >= 0")
                clean[key] = number
        return cls(**clean)

    def to_dict(self) -> dict[str, Any]:
        """Only the keys that differ from no perturbation (what gets recorded)."""
        return {k: v for k, v in asdict(self).items() if v != _DEFAULTS[k]}

    def compose(self, other: "Perturbation") -> "Perturbation":
        """Both at once: noises add in quadrature, delays and shifts add, scales multiply."""
        return Perturbation(
            obs_noise=float(np.hypot(self.obs_noise, other.obs_noise)),
            delay=self.delay + other.delay,
            action_noise=float(np.hypot(self.action_noise, other.action_noise)),
            pose_shift=self.pose_shift + other.pose_shift,
            friction=self.friction * other.friction, mass=self.mass * other.mass)

    @property
    def active(self) -> bool:
        return bool(self.to_dict())

    # --- applied by BulletScene ------------------------------------------------------------------
    def noisy_obs(self, obs: dict[str, np.ndarray], spec: Sequence[tuple[str, int]], seed: int,
                  step: int) -> dict[str, np.ndarray]:
        if not self.obs_noise:
            return obs
        rng = np.random.default_rng([seed, step, _OBS_STREAM])
        out = dict(obs)
        for key, _ in spec:
            out[key] = (obs[key] + rng.normal(0.0, self.obs_noise, obs[key].shape)).astype(np.float32)
        return out

    def noisy_action(self, action: np.ndarray, seed: int, step: int) -> np.ndarray:
        action = np.array(action, dtype=np.float64)
        if self.action_noise:
            rng = np.random.default_rng([seed, step, _ACTION_STREAM])
            action[:3] += rng.normal(0.0, self.action_noise, 3)
        return action

    def apply_at_reset(self, scene, rng: np.random.Generator) -> None:
        """Object pose shift and friction/mass scaling on the scene's `task_object` body."""
        uid = scene.bodies.get(getattr(scene, "task_object", ""), None)
        if uid is None:
            return
        p, c = scene.p, scene.client
        if self.pose_shift:
            angle = rng.uniform(0, 2 * np.pi)
            pos, orn = p.getBasePositionAndOrientation(uid, physicsClientId=c)
            pos = np.array(pos) + self.pose_shift * np.array([np.cos(angle), np.sin(angle), 0.0])
            p.resetBasePositionAndOrientation(uid, pos.tolist(), orn, physicsClientId=c)
        base_mass, base_friction = scene.object_nominal
        p.changeDynamics(uid, -1, mass=base_mass * self.mass,
                         lateralFriction=base_friction * self.friction, physicsClientId=c)
        if self.friction != 1.0:
            from scenes.panda import FINGER_LINKS
            for link in FINGER_LINKS:
                p.changeDynamics(scene.robot.body, link, lateralFriction=1.2 * self.friction,
                                 physicsClientId=c)


def parse_perturbation(items: Sequence[str]) -> dict[str, Any]:
    """CLI strings ["obs_noise=0.01", "delay=2"] -> validated dict (SceneError on bad input)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SceneError(f"perturbation {item!r} must look like KEY=VALUE; "
                             f"valid keys: {', '.join(PERTURBATION_KEYS)}")
        out[key.strip()] = value.strip()
    return Perturbation.from_dict(out).to_dict()
