"""A tiny in-memory Scene (no pybullet) for the app-shell tests.

Three bodies, all primitives so nothing is read from disk: a grey table (box, top at z = 0),
an orange "robot" (a capsule standing on the table at (0.1, 0, 0.25)) whose link slides along +y
when stepped, and a red "mug" (cylinder at (0.6, 0, 0.05)). Follows scenes/api.py's Scene protocol.
"""
from __future__ import annotations

import numpy as np

from scenes.api import LinkVisual, PlanCheck, SceneDescription, StepResult, VisualShape

ROBOT_RGBA = (1.0, 0.55, 0.0, 1.0)
ROBOT_POS = (0.1, 0.0, 0.25)
MUG_POS = (0.6, 0.0, 0.05)
IDENTITY = (0.0, 0.0, 0.0, 1.0)


class FakeScene:
    name = "fake"
    modes = ("left", "right")
    obs_spec = (("ee_pos", 3), ("gripper", 1))
    cameras = ("front", "top")

    def __init__(self) -> None:
        self.robot_y = 0.0
        self.steps_taken = 0
        self.closed = False

    def reset(self, seed: int) -> dict:
        self.robot_y = 0.0
        self.steps_taken = 0
        return self.observe()

    def observe(self) -> dict:
        return {"ee_pos": np.array([ROBOT_POS[0], self.robot_y, 0.5], np.float32),
                "gripper": np.array([1.0], np.float32)}

    def step(self, action_chunk: np.ndarray) -> StepResult:
        chunk = np.asarray(action_chunk).reshape(-1, 4)
        self.robot_y += 0.01 * len(chunk)
        self.steps_taken += len(chunk)
        return StepResult(obs=self.observe(), reward=0.0, done=False, events=[],
                          action_trace=list(chunk))

    def get_state(self) -> np.ndarray:
        return np.array([self.robot_y, self.steps_taken], np.float64)

    def set_state(self, state: np.ndarray) -> None:
        self.robot_y, steps = float(state[0]), int(state[1])
        self.steps_taken = steps

    def describe(self) -> SceneDescription:
        def shape(kind, size, rgba):
            return VisualShape(kind, size, rgba, (0.0, 0.0, 0.0), IDENTITY)
        return SceneDescription(
            name=self.name,
            links=[LinkVisual("table", -1, (shape("box", (0.75, 0.5, 0.025), (0.5, 0.5, 0.5, 1)),)),
                   LinkVisual("robot", -1, (shape("capsule", (0.06, 0.4), ROBOT_RGBA),)),
                   LinkVisual("mug", -1, (shape("cylinder", (0.04, 0.1), (0.9, 0.1, 0.1, 1)),))],
            workspace=((0.2, -0.45, 0.0), (0.85, 0.45, 0.6)), modes=self.modes)

    def link_poses(self) -> np.ndarray:
        return np.array([[0.3, 0.0, -0.025, *IDENTITY],
                         [ROBOT_POS[0], self.robot_y, ROBOT_POS[2], *IDENTITY],
                         [*MUG_POS, *IDENTITY]], np.float64)

    def label_mode(self, path: np.ndarray) -> str:
        return "left" if float(np.mean(path[:, 1])) > 0 else "right"

    def check_plan(self, plan: np.ndarray) -> PlanCheck:
        h = len(plan)
        return PlanCheck(True, [""] * h, np.zeros(h, bool), np.zeros(h, bool))

    def camera_image(self, camera: str = "front", width: int = 320, height: int = 240) -> np.ndarray:
        image = np.zeros((height, width, 3), np.uint8)
        image[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
        return image

    def close(self) -> None:
        self.closed = True
