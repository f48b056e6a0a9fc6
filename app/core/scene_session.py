"""The live scene the window mirrors: which scene, its seed, sim time, and play/pause stepping.

Qt-free (napari-style model): views connect to the declared `session.events` (SessionEvents,
through app/core/events.py). The Qt side drives `tick()` from a QTimer.

pybullet is imported lazily (through `scenes`) the first time the scene is needed, so creating a
session costs nothing at start-up.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from app.core.events import Event, event

if TYPE_CHECKING:  # import for types only: scenes pulls in pybullet
    from scenes.api import Observation, Scene, SceneDescription, StepResult

SceneFactory = Callable[[str], "Scene"]
ActionSource = Callable[["Observation"], np.ndarray]

CONTROL_DT_S = 0.1  # scenes step at 10 Hz (scenes.api.CONTROL_HZ); kept here to avoid importing it


@dataclass(frozen=True)
class SessionEvents:
    """What the window and its views react to. loaded: a scene was (re)built and reset; reset:
    reset to a seed; stepped: one control step ran; state: a state was restored (set_state);
    playing: play/pause changed (the new value); closed: the scene was closed."""
    loaded: Event[[]] = event()
    reset: Event[[]] = event()
    stepped: Event[[]] = event()
    state: Event[[]] = event()
    playing: Event[[bool]] = event()
    closed: Event[[]] = event()


def default_scene_factory(name: str) -> "Scene":
    """Build a scene by name through `scenes.make_scene` (imports pybullet)."""
    from scenes import make_scene  # lazy: pybullet
    return make_scene(name)


def hold_action(obs: "Observation") -> np.ndarray:
    """A one-step chunk [1, 4] that keeps the end effector where it is and the gripper as it is.

    Reads the end-effector position (metres) and gripper opening (1 = open) from the observation;
    the scene's key names are tried in order so any scene following scenes/api.py conventions works.
    """
    from scenes.api import end_effector_position, gripper_opening

    pos = end_effector_position(obs)
    if pos is None:
        raise KeyError(f"observation has no end-effector position (keys: {sorted(obs)})")
    grip = gripper_opening(obs)
    return np.array([[pos[0], pos[1], pos[2], grip]], dtype=np.float32)


class SceneSession:
    """Owns the live Scene.

    scene_name: name for `scenes.make_scene`; seed: reset seed; sim_time_s: simulated seconds since
    the last reset (control steps x 0.1 s). `action_source(obs) -> [k, 4]` decides what Play
    executes (default: `hold_action`, the robot holds still while the world keeps simulating);
    a policy runner can replace it.
    """

    def __init__(self, scene_name: str = "mug_grasp", seed: int = 0,
                 factory: SceneFactory | None = None, scene_options: dict | None = None) -> None:
        self.scene_name = scene_name
        self.scene_options = dict(scene_options or {})   # e.g. rows=2; the factory builds with them
        self.seed = int(seed)
        self.factory: SceneFactory = factory or default_scene_factory   # builds a scene by name
        self._scene: Scene | None = None
        self._description: SceneDescription | None = None
        self._obs: Observation | None = None
        self.step_count = 0
        self.playing = False
        self.action_source: ActionSource = hold_action
        self.last_result: StepResult | None = None
        self.events = SessionEvents()

    # ---- scene lifecycle -------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._scene is not None

    @property
    def scene(self) -> "Scene":
        """The live scene, built on first access (raises SceneError/UserFacingError if it can't)."""
        if self._scene is None:
            self.load()
        assert self._scene is not None
        return self._scene

    def load(self, scene_name: str | None = None) -> "Scene":
        """(Re)build the scene and reset it to `self.seed`. Raises the scene's UserFacingError."""
        if scene_name is not None:
            self.scene_name = scene_name
        self.close_scene()
        scene = self.factory(self.scene_name)
        self._scene = scene
        self._description = scene.describe()
        self._obs = scene.reset(self.seed)
        self.step_count = 0
        self.events.loaded.emit()
        return scene

    def close_scene(self) -> None:
        if self._scene is not None:
            try:
                self._scene.close()
            finally:
                self._scene = None
                self._description = None
                self._obs = None
                self.playing = False
                self.events.closed.emit()

    close = close_scene

    def describe(self) -> "SceneDescription":
        """Cached description (static shapes) of the live scene."""
        if self._description is None:
            self._description = self.scene.describe()
        return self._description

    def link_poses(self) -> np.ndarray:
        """[L, 7] xyz (m) + quaternion xyzw per link, describe().links order."""
        return self.scene.link_poses()

    @property
    def observation(self) -> "Observation":
        if self._obs is None:
            self._obs = self.scene.observe()
        return self._obs

    @property
    def sim_time_s(self) -> float:
        return self.step_count * CONTROL_DT_S

    # ---- stepping --------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> "Observation":
        if seed is not None:
            self.seed = int(seed)
        self._obs = self.scene.reset(self.seed)
        self.step_count = 0
        self.last_result = None
        self.events.reset.emit()
        return self._obs

    def set_playing(self, playing: bool) -> None:
        if playing != self.playing:
            self.playing = bool(playing)
            self.events.playing.emit(self.playing)

    def step(self, chunk: np.ndarray | None = None) -> "StepResult":
        """Execute `chunk` [k, 4] (default: one step from `action_source`), advancing sim time."""
        if chunk is None:
            chunk = self.action_source(self.observation)
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1, 4)
        result = self.scene.step(chunk)
        self._obs = result.obs
        self.step_count += max(1, len(result.action_trace) or len(chunk))
        self.last_result = result
        self.events.stepped.emit()
        return result

    def tick(self) -> bool:
        """Called by the UI timer: step one control step while playing. Returns True if stepped."""
        if not self.playing or self._scene is None:
            return False
        self.step(self.action_source(self.observation)[:1])
        return True

    # ---- replay ----------------------------------------------------------------------------
    def get_state(self) -> np.ndarray:
        """Flat float64 simulator state (see scenes/api.py)."""
        return self.scene.get_state()

    def set_state(self, state: np.ndarray, step: int | None = None) -> None:
        """Restore an exact simulator state (e.g. a recorded rollout's states[t]); `step` sets the
        sim clock to that control step."""
        self.scene.set_state(np.asarray(state, dtype=np.float64))
        self._obs = None
        if step is not None:
            self.step_count = int(step)
        self.events.state.emit()
