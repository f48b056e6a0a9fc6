"""mug_grasp: a Franka Panda pinches the rim of a mug from above and lifts it. Two modes.

World frame: robot base at the origin, table top at z = 0, x away from the robot, y to its left.
Reset (seeded): mug base at x ~ U[0.45, 0.60] m, y ~ U[-0.10, 0.10] m, yaw ~ -90° ± 30° (handle
pointing away from the robot, so both side walls are free); the hand starts 0.30 m up at (0.45, 0).

Modes (which side of the rim wall is pinched; fingers open along world y and straddle the wall):
  "left":  the wall at the mug's +y side (grasp point mug + (0, +3.7 cm));
  "right": the wall at the mug's -y side (grasp point mug + (0, -3.7 cm)).
The mean of a left and a right path descends into the mug's centre with the fingers open 8 cm
apart, i.e. onto the rim wall: check_plan flags it as a collision with the mug.

Grasp phase: starts at the first control step whose gripper command is < 0.5 (closing).
Success: the mug's base is >= 5 cm above its reset height while touching the robot, with no
violation so far. Violations (end the episode, failure): any robot-table contact; any robot-mug
contact before the grasp phase. Timeout: 60 control steps (6 s).

Observation (flat order = obs_spec): ee_pos[3] (grasp-target position, m), gripper[1] (opening,
1 = open), mug_pos[3] (mug base, m), mug_yaw[2] (cos, sin of the mug's yaw). Flat size 9.
"""
from __future__ import annotations

import math

import numpy as np

from scenes.api import Observation, PlanCheck
from scenes.assets import MUG_HEIGHT, MUG_WALL_R, load_mug, load_table, quat_yaw
from scenes.bullet_scene import BulletScene, yaw_features
from scenes.panda import Panda

MUG_X = (0.45, 0.60)
MUG_Y = (-0.10, 0.10)
MUG_YAW = (-math.pi / 2 - math.radians(30), -math.pi / 2 + math.radians(30))
START_EE = (0.45, 0.0, 0.30)
MUG_MASS = 0.25
MUG_FRICTION = 1.0
LIFT_SUCCESS = 0.05
MODE_SIDE = {"left": 1.0, "right": -1.0}


class MugGrasp(BulletScene):
    name = "mug_grasp"
    modes = ("left", "right")
    obs_spec = (("ee_pos", 3), ("gripper", 1), ("mug_pos", 3), ("mug_yaw", 2))
    max_steps = 60
    task_object = "mug"
    object_nominal = (MUG_MASS, MUG_FRICTION)
    # flags: grasp phase started, mug base z at reset
    n_flags = 2

    def _build(self) -> None:
        p, c = self.p, self.client
        self.bodies["table"] = load_table(p, c, self.asset_root)
        self.robot = Panda(p, c, self.asset_root)
        self.bodies["panda"] = self.robot.body
        self.bodies["mug"] = load_mug(p, c, self.asset_root, (0.5, 0.0, 0.0), -math.pi / 2,
                                      mass=MUG_MASS)
        self._checker = None

    def _reset_task(self, rng: np.random.Generator) -> None:
        p, c = self.p, self.client
        x, y = rng.uniform(*MUG_X), rng.uniform(*MUG_Y)
        yaw = rng.uniform(*MUG_YAW)
        mug = self.bodies["mug"]
        p.resetBasePositionAndOrientation(mug, [x, y, 0.0005], p.getQuaternionFromEuler([0, 0, yaw]),
                                          physicsClientId=c)
        p.resetBaseVelocity(mug, [0, 0, 0], [0, 0, 0], physicsClientId=c)
        p.changeDynamics(mug, -1, mass=MUG_MASS, lateralFriction=MUG_FRICTION, physicsClientId=c)
        self.robot.place_ee(START_EE, 1.0)

    def reset(self, seed: int) -> Observation:
        obs = super().reset(seed)
        # Let the mug settle on the table (it starts 0.5 mm up) with the arm holding still.
        for _ in range(12):
            self.p.stepSimulation(physicsClientId=self.client)
        self._flags[1] = self.mug_pose()[0][2]
        self._contacts = self._contact_pairs()
        self._image = None
        return self.observe()

    def mug_pose(self) -> tuple[np.ndarray, float]:
        """Mug base position [3] (m) and yaw (rad)."""
        pos, orn = self.p.getBasePositionAndOrientation(self.bodies["mug"], physicsClientId=self.client)
        return np.array(pos), quat_yaw(orn)

    def _task_obs(self) -> Observation:
        pos, yaw = self.mug_pose()
        return {"ee_pos": self.robot.ee_pos(), "gripper": np.array([self.robot.opening()]),
                "mug_pos": pos, "mug_yaw": yaw_features(yaw)}

    def _evaluate(self, action, contacts) -> tuple[bool, str]:
        if action[3] < 0.5:
            self._flags[0] = 1.0
        if ("panda", "table") in contacts:
            return False, "hit_table:panda:table"
        if not self._flags[0] and ("mug", "panda") in contacts:
            return False, "hit_mug:mug:panda"
        lifted = self.mug_pose()[0][2] - self._flags[1]
        return bool(lifted >= LIFT_SUCCESS and ("mug", "panda") in contacts), ""

    def episode_metrics(self) -> dict[str, float]:
        return {"mug_lift_m": float(self.mug_pose()[0][2] - self._flags[1])}

    # --- modes and feasibility -----------------------------------------------------------------
    def grasp_point(self, mode: str, mug_pos=None) -> np.ndarray:
        """[3] grasp-target position for a mode: over the rim wall on that side, 2.5 cm below
        the rim (fingertips ~3.2 cm into the mug, the hand ~1 cm above the rim)."""
        if mug_pos is None:
            mug_pos = self.mug_pose()[0]
        side = MODE_SIDE[mode]
        return np.array([mug_pos[0], mug_pos[1] + side * MUG_WALL_R, mug_pos[2] + MUG_HEIGHT - 0.025])

    def label_mode(self, path: np.ndarray) -> str:
        """Mode of an end-effector path [T, >=3] (x, y, z world m) relative to the mug now:
        the side (±y) of the mug's centre where the path is when it is lowest within 8 cm of the
        mug's axis and below 6 cm above the rim; "" when it never goes down near the mug."""
        path = np.asarray(path, dtype=np.float64)
        mug = self.mug_pose()[0]
        d = path[:, :2] - mug[:2]
        near = (np.hypot(d[:, 0], d[:, 1]) < 0.08) & (path[:, 2] < mug[2] + MUG_HEIGHT + 0.06)
        if not near.any():
            return ""
        idx = np.flatnonzero(near)
        lowest = idx[np.argmin(path[idx, 2])]
        offset = d[lowest, 1]
        if abs(offset) < 0.012:
            return ""   # straight down the middle: neither mode (and it hits the rim)
        return "left" if offset > 0 else "right"

    def check_plan(self, plan: np.ndarray) -> PlanCheck:
        """Feasibility of a plan [H, 4] in the current scene; see scenes/feasibility.py."""
        if self._checker is None:
            from scenes.feasibility import PlanChecker
            self._checker = PlanChecker(self.asset_root, with_mug=True)
        mug_pos, mug_orn = self.p.getBasePositionAndOrientation(self.bodies["mug"],
                                                                physicsClientId=self.client)
        return self._checker.check(plan, {"mug": (mug_pos, mug_orn)}, grasp_object="mug")

    def check_plans(self, plans: np.ndarray) -> list[PlanCheck]:
        """check_plan for a batch [N, H, 4] (one sync of the object poses)."""
        if self._checker is None:
            from scenes.feasibility import PlanChecker
            self._checker = PlanChecker(self.asset_root, with_mug=True)
        mug_pos, mug_orn = self.p.getBasePositionAndOrientation(self.bodies["mug"],
                                                                physicsClientId=self.client)
        return self._checker.check_many(plans, {"mug": (mug_pos, mug_orn)}, grasp_object="mug")

    def clearance(self, path: np.ndarray) -> float:
        """Minimum distance (m) between the hand proxy along a path [T, >=3] and any obstacle
        body (table; the mug while the gripper is open). Negative = penetration."""
        if self._checker is None:
            from scenes.feasibility import PlanChecker
            self._checker = PlanChecker(self.asset_root, with_mug=True)
        mug_pos, mug_orn = self.p.getBasePositionAndOrientation(self.bodies["mug"],
                                                                physicsClientId=self.client)
        return self._checker.clearance(path, {"mug": (mug_pos, mug_orn)}, grasp_object="mug")

    def close(self) -> None:
        if getattr(self, "_checker", None) is not None:
            self._checker.close()
            self._checker = None
        super().close()
