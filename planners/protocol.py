"""The Planner protocol (next version): anything with a `spec` and this `plan` method is a planner.

    plan(obs, num_samples, *, seed, solver, steps, temperature, initial_noise=None,
         step_noise=None, on_step=None, cancel=None) -> PlanBatch

obs: a dict of named arrays, observation history first: state / environment features
  [To, d] float32, camera images [To, H, W, 3] uint8, under the names `spec.features` lists
  (`observation_from_frames` builds it from per-frame dicts). To = `spec.n_obs_steps`.
num_samples: N >= 1. seed: makes the call deterministic. solver: "ddpm" | "ddim" | "dpmpp" for
  diffusion planners (others may accept their own names or ignore it); steps: solver steps S.
temperature: scales the initial noise and the per-step noise (1.0 = trained distribution).
initial_noise [N, H, D] / step_noise [K, N, H, D]: unit-variance noise (normalised action space)
  that replays a sample exactly (planners/sampling.py); None = drawn from `seed`.
on_step(k, S, partial): called after each step k (1-based) with a PlanBatch of steps 1..k.
cancel(): polled before each step; True -> return early with `cancelled=True`.

The older form (planscope <= issue 13; still loaded, through planners.plugin.PluginPlanner): a
spec without `features`, whose plan takes the flat float32 vector [obs_dim] of `obs_keys`.

Where planscope receives a planner or a batch it checks them here: `check_spec` at load,
`run_planner` around every call (converts the observation for the older form, turns an exception
inside a planner into one PlannerError line, and checks the batch with `check_plan_batch`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from recordings.errors import UserFacingError
from recordings.plan_batch import PlanBatch

Solver = Literal["ddpm", "ddim", "dpmpp"]
SOLVERS: tuple[str, ...] = ("ddpm", "ddim", "dpmpp")
FeatureKind = Literal["state", "environment", "image"]
FEATURE_KINDS: tuple[str, ...] = ("state", "environment", "image")
PLANNER_KINDS: tuple[str, ...] = ("diffusion", "regression", "probe", "plugin")
OBS_FORMATS: tuple[str, ...] = ("dict", "flat")
StepCallback = Callable[[int, int, PlanBatch], None]
CancelCheck = Callable[[], bool]
Observation = Mapping[str, np.ndarray]


class PlannerError(UserFacingError):
    """A planner cannot be loaded or used: missing/corrupt checkpoint, wrong scene, bad solver,
    a spec or a PlanBatch that breaks the protocol, an exception inside a user's planner."""


@dataclass(frozen=True)
class Feature:
    """One observation input of a planner. shape is per frame: (d,) for "state" (the robot's own
    state) and "environment" (object poses etc.), (H, W, 3) for an "image" (uint8 RGB); the
    observation holds it with the history axis first: [To, *shape]."""
    name: str
    shape: tuple[int, ...]
    kind: str = "state"

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 0


@dataclass(frozen=True)
class PlannerSpec:
    """What a planner expects and produces (every type is checked at load by `check_spec`).

    name: str; kind: one of PLANNER_KINDS ("diffusion" = has a denoising chain); scene: the scene it
    was trained for ("" = any). action_dim D, horizon H (waypoints per plan).
    features: the observation features (Feature) it needs, in order; n_obs_steps: To, the history
    length of every feature; n_action_steps: Ta, the steps a rollout executes before replanning
    (0 = the runner's default); action_start: the plan index of the first executed action
    (diffusion_policy's and LeRobot's `To - 1`: a plan covers the observed steps too, and a rollout
    runs plans[action_start : action_start + Ta]). obs_dim: the flat size of the state + environment features of one
    frame (derived from features when 0). obs_keys: (name, size) pairs of the older form's flat
    vector (derived from features for planscope's own policies). obs_format: "dict" (this
    protocol) or "flat" (the older form); "" = "dict" when features are given, else "flat".
    default_solver/default_steps: the interactive default; control_solver/control_steps: what
    closed-loop rollouts use ("" / 0 = the defaults). num_parameters: int. library: where the
    weights come from ("planscope", "lerobot 0.4.4", ...). extra: free-form JSON-ready details.
    """
    name: str
    kind: str
    scene: str = ""
    obs_dim: int = 0
    action_dim: int = 0
    horizon: int = 0
    obs_keys: tuple[tuple[str, int], ...] = ()
    default_solver: str = "dpmpp"
    default_steps: int = 12
    control_solver: str = ""
    control_steps: int = 0
    num_parameters: int = 0
    extra: dict = field(default_factory=dict)
    features: tuple[Feature, ...] = ()
    n_obs_steps: int = 1
    n_action_steps: int = 0
    obs_format: str = ""
    library: str = ""
    action_start: int = 0

    def __post_init__(self) -> None:
        # Lists from JSON or a user's code become tuples; nothing here raises (check_spec does).
        if isinstance(self.obs_keys, list):
            object.__setattr__(self, "obs_keys", tuple(tuple(k) if isinstance(k, list) else k for k in self.obs_keys))
        if isinstance(self.features, list):
            object.__setattr__(self, "features", tuple(self.features))
        if not self.obs_format:
            object.__setattr__(self, "obs_format", "dict" if self.features else "flat")
        if self.features and not self.obs_dim and _is_feature_tuple(self.features):
            object.__setattr__(self, "obs_dim", sum(f.size for f in self.features if f.kind != "image"))
        if self.features and not self.obs_keys and _is_feature_tuple(self.features):
            object.__setattr__(self, "obs_keys", tuple((f.name, f.size) for f in self.features if f.kind != "image"))

    @property
    def older_form(self) -> bool:
        """True for the older protocol: plan() takes the flat vector [obs_dim]."""
        return self.obs_format == "flat"


def state_features(obs_spec: Sequence[tuple[str, int]], kind: str = "state") -> tuple[Feature, ...]:
    """(key, size) pairs (a scene's obs_spec, a checkpoint's) -> one Feature per key, shape (size,)."""
    return tuple(Feature(str(k), (int(s),), kind) for k, s in obs_spec)


@runtime_checkable
class Planner(Protocol):
    spec: PlannerSpec

    def plan(self, obs: Observation, num_samples: int, *, seed: int, solver: str = "dpmpp",
             steps: int = 12, temperature: float = 1.0, initial_noise: np.ndarray | None = None,
             step_noise: np.ndarray | None = None, on_step: StepCallback | None = None,
             cancel: CancelCheck | None = None) -> PlanBatch: ...


# --- the spec, checked at load ------------------------------------------------------------------

def check_spec(spec: Any, source: str) -> PlannerSpec:
    """Raise PlannerError naming `source` and the field when `spec` breaks the documented types."""
    if not isinstance(spec, PlannerSpec):
        raise PlannerError(f"policy {source!r}: spec is a {type(spec).__name__}, not a "
                           f"planners.protocol.PlannerSpec")

    def bad(name: str, expected: str, value: Any) -> PlannerError:
        return PlannerError(f"policy {source!r}: PlannerSpec.{name} must be {expected}, got {value!r}")

    for name in ("name", "kind", "scene", "default_solver", "control_solver", "library"):
        if not isinstance(getattr(spec, name), str):
            raise bad(name, "a string", getattr(spec, name))
    if not spec.name:
        raise bad("name", "a non-empty string", spec.name)
    if spec.kind not in PLANNER_KINDS:
        raise bad("kind", f"one of {', '.join(PLANNER_KINDS)}", spec.kind)
    if spec.obs_format not in OBS_FORMATS:
        raise bad("obs_format", "'dict' or 'flat'", spec.obs_format)
    for name, low in (("action_dim", 1), ("horizon", 1), ("n_obs_steps", 1), ("obs_dim", 0),
                      ("default_steps", 0), ("control_steps", 0), ("num_parameters", 0), ("n_action_steps", 0),
                      ("action_start", 0)):
        if not _is_int(getattr(spec, name), low):
            raise bad(name, f"an integer >= {low}", getattr(spec, name))
    if spec.n_action_steps > spec.horizon:
        raise bad("n_action_steps", f"at most horizon={spec.horizon}", spec.n_action_steps)
    if spec.action_start + max(spec.n_action_steps, 1) > spec.horizon:
        raise bad("action_start", f"such that action_start + n_action_steps <= horizon={spec.horizon} "
                  f"(n_action_steps={spec.n_action_steps})", spec.action_start)
    if not isinstance(spec.extra, dict):
        raise bad("extra", "a dict", spec.extra)
    if not isinstance(spec.features, tuple):
        raise bad("features", "a tuple of Feature", spec.features)
    names = set()
    for feature in spec.features:
        _check_feature(feature, bad)
        if feature.name in names:
            raise bad("features", "uniquely named", feature.name)
        names.add(feature.name)
    flat_size = sum(f.size for f in spec.features if f.kind != "image")
    if spec.features and spec.obs_dim != flat_size:
        raise bad("obs_dim", f"the flat size of the state and environment features ({flat_size})", spec.obs_dim)
    keys = spec.obs_keys
    if not isinstance(keys, tuple) or not all(isinstance(k, tuple) and len(k) == 2 and isinstance(k[0], str)
                                              and _is_int(k[1], 1) for k in keys):
        example = next((k for k in keys if not (isinstance(k, tuple) and len(k) == 2)), keys) \
            if isinstance(keys, tuple) else keys
        raise bad("obs_keys", "(name, size) pairs such as ('ee_pos', 3)", example)
    if keys and sum(k[1] for k in keys) != spec.obs_dim:
        raise bad("obs_keys", f"sizes summing to obs_dim={spec.obs_dim}", keys)
    return spec


def executed_window(spec: PlannerSpec, default_steps: int) -> tuple[int, int]:
    """(start, Ta): a rollout executes plans[:, start : start + Ta] before it replans. start is
    spec.action_start; Ta is spec.n_action_steps, or `default_steps` (the runner's) when the spec
    says 0, cut to what the horizon holds after start."""
    start = int(getattr(spec, "action_start", 0) or 0)
    ta = int(getattr(spec, "n_action_steps", 0) or default_steps)
    return start, max(0, min(ta, int(spec.horizon) - start))


def _check_feature(feature: Any, bad) -> None:
    if not isinstance(feature, Feature):
        raise bad("features", "Feature(name, shape, kind) entries", feature)
    if not isinstance(feature.name, str) or not feature.name:
        raise bad("features", "named by non-empty strings", feature.name)
    if feature.kind not in FEATURE_KINDS:
        raise bad(f"features[{feature.name!r}].kind", f"one of {', '.join(FEATURE_KINDS)}", feature.kind)
    shape = feature.shape
    if not isinstance(shape, tuple) or not all(_is_int(s, 1) for s in shape):
        raise bad(f"features[{feature.name!r}].shape", "a tuple of positive integers", shape)
    if feature.kind == "image" and (len(shape) != 3 or shape[2] != 3):
        raise bad(f"features[{feature.name!r}].shape", "(H, W, 3) for an image", shape)
    if feature.kind != "image" and len(shape) != 1:
        raise bad(f"features[{feature.name!r}].shape", f"(d,) for a {feature.kind} feature", shape)


def check_compatible(spec: PlannerSpec, scene_name: str, obs_spec: Sequence[tuple[str, int]],
                     cameras: Sequence[str] = ()) -> None:
    """Raise PlannerError naming both sides when a scene cannot feed this planner.

    obs_spec: the scene's (key, size) pairs; cameras: the image names it can render."""
    obs_dim = sum(size for _, size in obs_spec)
    if spec.scene and spec.scene != scene_name:
        raise PlannerError(f"policy {spec.name!r} was trained for scene {spec.scene!r} (observations of "
                           f"size {spec.obs_dim}), not {scene_name!r} (size {obs_dim})")
    if spec.older_form or not spec.features:
        if spec.obs_dim and spec.obs_dim != obs_dim:
            raise PlannerError(f"policy {spec.name!r} expects observations of size {spec.obs_dim}, "
                               f"scene {scene_name!r} gives {obs_dim}")
        return
    sizes = dict(obs_spec)
    for feature in spec.features:
        found = feature.name in cameras if feature.kind == "image" else sizes.get(feature.name) == feature.size
        if not found:
            provided = ", ".join([f"{k}[{s}]" for k, s in obs_spec] + [f"{c} (image)" for c in cameras])
            raise PlannerError(f"policy {spec.name!r} needs {feature.kind} feature {feature.name!r} "
                               f"{list(feature.shape)}; scene {scene_name!r} provides {provided or 'nothing'}")


def _is_int(value: Any, low: int) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low


def _is_feature_tuple(features: Any) -> bool:
    return isinstance(features, tuple) and all(isinstance(f, Feature) and isinstance(f.shape, tuple)
                                               and all(_is_int(s, 0) for s in f.shape) for f in features)


# The observation helpers, the batch check and the guarded call live in planners/boundary.py;
# `from planners.protocol import check_plan_batch` (the documented import path) resolves them here
# lazily, because boundary.py itself imports this module.
_BOUNDARY = ("check_observation", "check_plan_batch", "flat_observation", "observation_from_frames",
             "run_planner")


def __getattr__(name: str):
    if name in _BOUNDARY:
        from planners import boundary
        return getattr(boundary, name)
    raise AttributeError(f"module 'planners.protocol' has no attribute {name!r}")


__all__ = ["SOLVERS", "FEATURE_KINDS", "PLANNER_KINDS", "Feature", "PlannerSpec", "Planner", "PlannerError",
           "StepCallback", "CancelCheck", "check_spec", "check_compatible", "state_features", "executed_window", *_BOUNDARY]
