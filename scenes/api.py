"""The scene contract: what every scene offers to the runner, the planners' data and the app.

Conventions (mug_grasp and obstacle_reach share them):
- Control at 10 Hz, physics at 240 Hz (24 physics steps per control step).
- Action: one waypoint per control step, D = 4: end-effector target position (x, y, z) in world
  metres, and the gripper command in [0, 1] (1 = fully open, 0 = closed). A chunk is [k, 4].
- Horizons: observation horizon To = 1 (the planner sees the current observation), plan horizon
  H = 16 waypoints (1.6 s), executed steps Ta = 8 before the runner replans.
- Observation: a dict of named float arrays (see `Scene.obs_spec`, the ordered (key, size) list
  that defines the flat vector `flat_obs(obs, spec)`); an optional "image" key holds an RGB
  camera frame [h, w, 3] uint8 that is never part of the flat vector.
- State: `get_state()` returns a flat float64 vector holding every body's base pose and velocity
  and every joint's position and velocity; `set_state(v)` restores it exactly, so a recorded
  rollout replays from states without re-running actions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from recordings.errors import UserFacingError
from recordings.events import EVENT_TYPES, Event  # noqa: F401  (re-exported)

CONTROL_HZ = 10
PHYSICS_HZ = 240
OBS_HORIZON = 1      # To
PLAN_HORIZON = 16    # H
ACTION_STEPS = 8     # Ta
ACTION_DIM = 4       # x, y, z, gripper

Observation = dict[str, np.ndarray]

@dataclass
class StepResult:
    """Result of executing an action chunk: the observation after it, summed reward, done flag,
    and the events of every control step executed. `obs_trace`, `action_trace` and `state_trace`
    hold one row per executed control step (the observation *before* the step, the action
    actually applied after perturbations, and the simulator state before the step)."""
    obs: Observation
    reward: float
    done: bool
    events: list[Event]
    success: bool = False
    obs_trace: list[Observation] = field(default_factory=list)
    action_trace: list[np.ndarray] = field(default_factory=list)
    state_trace: list[np.ndarray] = field(default_factory=list)
    reward_trace: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class VisualShape:
    """One visual shape of a link, in the link's frame.

    kind: "mesh" | "box" | "sphere" | "cylinder" | "capsule" | "plane"
    size: box half-extents [3] / sphere [radius] / cylinder, capsule [radius, length] / mesh scale [3]
    mesh_file: absolute path for "mesh"; local_pose: (position [3], quaternion xyzw [4]).
    """
    kind: str
    size: tuple[float, ...]
    rgba: tuple[float, float, float, float]
    local_position: tuple[float, float, float]
    local_orientation: tuple[float, float, float, float]
    mesh_file: str = ""


@dataclass(frozen=True)
class LinkVisual:
    body: str          # body name, e.g. "panda", "mug", "table"
    link_index: int    # -1 for the base
    shapes: tuple[VisualShape, ...]


@dataclass
class SceneDescription:
    """Everything a 3-D view needs to mirror the scene: static shapes (once) and link poses
    (every frame, via `Scene.link_poses()`)."""
    name: str
    links: list[LinkVisual]
    workspace: tuple[tuple[float, float, float], tuple[float, float, float]]  # (min xyz, max xyz)
    modes: tuple[str, ...]


@dataclass
class PlanCheck:
    """Feasibility of one plan, per waypoint ([H] arrays).

    collides_with: body name hit at that waypoint, "" when free; unreachable: IK error above
    tolerance; joint_limit: IK solution at a limit."""
    feasible: bool
    collides_with: list[str]
    unreachable: np.ndarray
    joint_limit: np.ndarray

    @property
    def first_bad_waypoint(self) -> int:
        """Index of the first infeasible waypoint, -1 when the plan is feasible."""
        bad = np.array([bool(c) for c in self.collides_with]) | self.unreachable | self.joint_limit
        idx = np.flatnonzero(bad)
        return int(idx[0]) if idx.size else -1


@runtime_checkable
class Scene(Protocol):
    name: str
    modes: tuple[str, ...]
    obs_spec: tuple[tuple[str, int], ...]

    def reset(self, seed: int) -> Observation: ...
    def observe(self) -> Observation: ...
    def step(self, action_chunk: np.ndarray) -> StepResult: ...
    def get_state(self) -> np.ndarray: ...
    def set_state(self, state: np.ndarray) -> None: ...
    def describe(self) -> SceneDescription: ...
    def link_poses(self) -> np.ndarray: ...   # [L, 7] xyz + quaternion xyzw, describe().links order
    def label_mode(self, path: np.ndarray) -> str: ...
    def check_plan(self, plan: np.ndarray) -> PlanCheck: ...
    def camera_image(self, camera: str = "front", width: int = 320, height: int = 240) -> np.ndarray: ...
    def set_object_pose(self, x: float, y: float, yaw: float) -> None: ...   # move the task object (what-if)
    def close(self) -> None: ...


def flat_obs(obs: Observation, spec: Sequence[tuple[str, int]]) -> np.ndarray:
    """Concatenate the observation's fields in `spec` order into one float32 vector."""
    parts = []
    for key, size in spec:
        value = np.asarray(obs[key], dtype=np.float32).reshape(-1)
        if value.size != size:
            raise ValueError(f"observation field {key!r} has {value.size} values, spec says {size}")
        parts.append(value)
    return np.concatenate(parts)


# The end-effector convention, owned here: the observation keys that hold the end-effector
# position (world metres, x y z first) and the gripper opening (1 = open), in the order they are
# tried. planscope's scenes write "ee_pos" and "gripper"; the others are the names robomimic and
# other libraries' data use, so the runner, the review views and the inspector read them alike.
END_EFFECTOR_KEYS = ("ee_pos", "eef_pos", "robot0_eef_pos", "ee_position", "gripper_pos")
GRIPPER_KEYS = ("gripper", "gripper_open", "gripper_opening", "robot0_gripper_qpos")


def end_effector_key(keys: Any) -> str | None:
    """The first of END_EFFECTOR_KEYS among `keys` (an observation dict or its key names)."""
    return next((key for key in END_EFFECTOR_KEYS if key in keys), None)


def end_effector_position(obs: dict[str, Any]) -> np.ndarray | None:
    """End-effector position [3] float64 (metres) of one observation, or None when it has none."""
    key = end_effector_key(obs)
    return None if key is None else np.asarray(obs[key], dtype=np.float64).reshape(-1)[:3]


def gripper_opening(obs: dict[str, Any], default: float = 1.0) -> float:
    """Gripper opening of one observation, clipped to [0, 1] (1 = open); `default` without one."""
    key = next((k for k in GRIPPER_KEYS if k in obs), None)
    if key is None:
        return default
    return float(np.clip(np.asarray(obs[key], dtype=np.float64).reshape(-1)[0], 0.0, 1.0))


class SceneError(UserFacingError):
    """A scene could not be built or used (bad asset path, unknown option): one clear message."""
