"""What the live scene shows while the inspector's observation is a recorded frame (issue 15).

A plan sampled at a recorded frame must never be drawn against a live scene that only looks like
the recorded one. Two cases:

- the data set records the live scene's own state features (a planscope export of this scene:
  `<task object>_pos` [3] m and `<task object>_yaw` [2] (cos, sin), e.g. mug_pos / mug_yaw, and
  the hand's ee_pos [3] m / gripper [1]): `SceneStager.stage` puts the live scene into that frame's
  state (the task object moved with `scene.set_object_pose`, the hand placed where it was) and
  `restore` gives the exact live state back (`get_state` / `set_state`) on "Back to live scene";
- otherwise (no scene, foreign data, features that do not determine the scene's state):
  `recorded_state` returns None and the views hide the live scene instead.

Qt-free; reads the data set through recordings.dataset (any format `open_dataset` reads).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from recordings.errors import UserFacingError

HEIGHT_TOLERANCE_M = 0.01   # set_object_pose keeps the object's height: a lifted one is said so


@dataclass(frozen=True)
class RecordedSceneState:
    """The live scene's state features at one recorded frame.

    object_pos: [3] m, the task object's base; object_yaw: rad (from the recorded cos, sin);
    ee_pos: [3] m grasp-target position or None; gripper: opening (1 = open) or None."""
    object_name: str
    object_pos: np.ndarray
    object_yaw: float
    ee_pos: np.ndarray | None = None
    gripper: float | None = None


def recorded_state(ds: Any, episode: int, frame: int, scene: Any) -> RecordedSceneState | None:
    """The scene state that `ds` records at (episode, frame), or None when the data set does not
    determine it: the scene has no task object, or the data lacks `<object>_pos` [3] and
    `<object>_yaw` [2] under any name the data-set reader resolves (planscope's export writes
    them inside observation.environment_state as mug_pos.0..2, mug_yaw.0..1)."""
    obj = getattr(scene, "task_object", "") or ""
    spec = dict(getattr(scene, "obs_spec", ()) or ())
    pos_key, yaw_key = f"{obj}_pos", f"{obj}_yaw"
    if not obj or spec.get(pos_key) != 3 or spec.get(yaw_key) != 2:
        return None
    values = _read(ds, episode, frame, [(pos_key, 3), (yaw_key, 2)])
    if values is None:
        return None
    hand = _read(ds, episode, frame, [("ee_pos", 3), ("gripper", 1)]) \
        if spec.get("ee_pos") == 3 and spec.get("gripper") == 1 else None
    cos_yaw, sin_yaw = float(values[3]), float(values[4])
    return RecordedSceneState(obj, values[:3].astype(np.float64), math.atan2(sin_yaw, cos_yaw),
                              hand[:3].astype(np.float64) if hand is not None else None,
                              float(hand[3]) if hand is not None else None)


def _read(ds: Any, episode: int, frame: int, spec: list[tuple[str, int]]) -> np.ndarray | None:
    """[sum of sizes] float values of `spec` at one frame, or None when the data lacks them."""
    try:
        flat, _pad = ds.flat_history(episode, frame, spec, 1)
    except (UserFacingError, KeyError, IndexError, ValueError):
        return None
    row = np.asarray(flat[-1], dtype=np.float64)
    return row if np.all(np.isfinite(row)) else None


class SceneStager:
    """Puts a SceneSession's live scene into recorded states and gives its own state back.

    The first `stage` keeps the live state (`session.get_state()`, exact); later stages (◀ ▶)
    keep that first one; `restore` sets it back. Both end in `session.set_state`, so every view
    that mirrors the session (3-D poses, camera dock) redraws through SessionEvents.state."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._saved: np.ndarray | None = None
        self.note = ""            # what stage() did, in words (the banner shows it)

    @property
    def staged(self) -> bool:
        return self._saved is not None

    def stage(self, state: RecordedSceneState) -> str:
        """Move the live scene to `state`; returns what was set, in words (e.g. "mug and hand")."""
        session = self.session
        scene = session.scene
        if self._saved is None:
            self._saved = np.asarray(session.get_state(), dtype=np.float64).copy()
        else:            # each frame from the live state, not from the previous frame's
            session.set_state(self._saved)
        x, y, _z = state.object_pos
        scene.set_object_pose(float(x), float(y), state.object_yaw)
        parts = [state.object_name]
        robot = getattr(scene, "robot", None)
        if state.ee_pos is not None and hasattr(robot, "place_ee"):
            # scenes place the hand this way at reset (IK, teleported); the arm's joints are
            # not in the data, only where the hand was
            robot.place_ee(tuple(float(v) for v in state.ee_pos),
                           1.0 if state.gripper is None else float(np.clip(state.gripper, 0, 1)))
            parts.append("hand")
        session.set_state(session.get_state())   # one SessionEvents.state: the views redraw
        self.note = " and ".join(parts)
        height = self.object_pos()[2] if self.object_pos() is not None else None
        if height is not None and abs(height - float(state.object_pos[2])) > HEIGHT_TOLERANCE_M:
            self.note += (f"; {state.object_name} drawn on the table, recorded at z = "
                          f"{state.object_pos[2]:.3f} m")
        return self.note

    def object_pos(self) -> np.ndarray | None:
        """[3] m the live scene's task object position (read back from the scene), or None."""
        scene = self.session.scene
        pose = getattr(scene, f"{getattr(scene, 'task_object', '')}_pose", None)
        if callable(pose):
            return np.asarray(pose()[0], dtype=np.float64)
        obs = self.session.observation
        key = f"{getattr(scene, 'task_object', '')}_pos"
        return np.asarray(obs[key], dtype=np.float64) if key in obs else None

    def restore(self) -> bool:
        """The live state back (exact); True when there was one to restore."""
        if self._saved is None:
            return False
        saved, self._saved = self._saved, None
        self.note = ""
        if getattr(self.session, "loaded", False):
            self.session.set_state(saved)
        return True

    def forget(self) -> None:
        """Drop the kept state (the scene was rebuilt: it no longer applies)."""
        self._saved = None
        self.note = ""
