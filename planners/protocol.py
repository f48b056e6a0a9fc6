"""The Planner protocol: anything with this `plan` method is a planner.

    plan(obs, num_samples, *, seed, solver, steps, temperature, on_step=None, cancel=None) -> PlanBatch

obs: flat float32 observation vector [obs_dim] (the scene's `flat_obs` order, To = 1).
num_samples: N >= 1. seed: makes the call deterministic. solver: "ddpm" | "ddim" | "dpmpp" for
diffusion planners (others may accept their own names or ignore it). steps: solver steps S.
temperature: scales the initial noise and the per-step noise (1.0 = trained distribution).
on_step(k, S, partial): called after each step k (1-based) with a PlanBatch holding steps 1..k
(the GUI draws partial chains). cancel(): polled before each step; when it returns True the call
returns early with `cancelled=True` and the steps done so far.

Planners also expose a `spec: PlannerSpec` describing what they were trained for, so a policy
made for another scene can be refused with a clear message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal, Protocol, runtime_checkable

import numpy as np

from recordings.errors import UserFacingError
from recordings.plan_batch import PlanBatch

Solver = Literal["ddpm", "ddim", "dpmpp"]
SOLVERS: tuple[str, ...] = ("ddpm", "ddim", "dpmpp")
StepCallback = Callable[[int, int, PlanBatch], None]
CancelCheck = Callable[[], bool]


class PlannerError(UserFacingError):
    """A planner cannot be loaded or used: missing/corrupt checkpoint, wrong scene, bad solver."""


@dataclass(frozen=True)
class PlannerSpec:
    """What a planner expects and produces. obs_keys: the (key, size) flat-observation spec it
    was trained on; scene: scene name; kind: "diffusion" | "regression" | "probe" | "plugin".
    default_solver/default_steps: the interactive default (inspector, `planscope sample`);
    control_solver/control_steps: what closed-loop rollouts use when the run does not say
    ("" / 0 = the defaults)."""
    name: str
    kind: str
    scene: str
    obs_dim: int
    action_dim: int
    horizon: int
    obs_keys: tuple[tuple[str, int], ...] = ()
    default_solver: str = "dpmpp"
    default_steps: int = 12
    control_solver: str = ""
    control_steps: int = 0
    num_parameters: int = 0
    extra: dict = field(default_factory=dict)


@runtime_checkable
class Planner(Protocol):
    spec: PlannerSpec

    def plan(self, obs: np.ndarray, num_samples: int, *, seed: int, solver: str = "dpmpp",
             steps: int = 12, temperature: float = 1.0, on_step: StepCallback | None = None,
             cancel: CancelCheck | None = None) -> PlanBatch: ...


def check_compatible(spec: PlannerSpec, scene_name: str, obs_spec: tuple[tuple[str, int], ...]) -> None:
    """Raise PlannerError naming expected vs found when a planner was made for another scene."""
    obs_dim = sum(size for _, size in obs_spec)
    if spec.scene and spec.scene != scene_name:
        raise PlannerError(f"policy {spec.name!r} was trained for scene {spec.scene!r} (observations of "
                           f"size {spec.obs_dim}), not {scene_name!r} (size {obs_dim})")
    if spec.obs_dim != obs_dim:
        raise PlannerError(f"policy {spec.name!r} expects observations of size {spec.obs_dim}, "
                           f"scene {scene_name!r} gives {obs_dim}")
