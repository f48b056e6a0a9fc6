"""Franka Panda from pybullet_data: loading, IK with a fixed top-down hand, joint position control.

Link indices (franka_panda/panda.urdf): 0-6 arm links, 8 panda_hand, 9/10 fingers, 11 the grasp
target (between the fingertips, 10.5 cm below the hand flange). The end-effector position used by
actions and observations is link 11's position. Fingers open along the hand's y axis; with the
fixed top-down orientation used here that is the world y axis.
"""
from __future__ import annotations

import math

import numpy as np

from scenes.assets import asset_path, load_urdf

ARM_JOINTS = tuple(range(7))
FINGER_JOINTS = (9, 10)
HAND_LINK = 8
FINGER_LINKS = (9, 10)
EE_LINK = 11
FINGER_MAX = 0.04            # metres per finger; 8 cm between the fingers when open
FINGER_FORCE = 40.0          # N per finger
# Home posture (elbow up, hand down); also the IK null-space rest pose.
HOME = (0.0, -0.35, 0.0, -2.3, 0.0, 1.95, math.pi / 4)
LOWER = (-2.9671, -1.8326, -2.9671, -3.1416, -2.9671, -0.0873, -2.9671)
UPPER = (2.9671, 1.8326, 2.9671, 0.0, 2.9671, 3.8223, 2.9671)
ARM_FORCES = (87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0)
JOINT_LIMIT_MARGIN = 0.01    # rad: a joint this close to a limit counts as "at the limit"
# Top-down: hand z axis along world -z, hand x along world x, fingers open along world y.
DOWN = (1.0, 0.0, 0.0, 0.0)  # quaternion xyzw of euler (pi, 0, 0)


class Panda:
    """The robot in one PyBullet client. Stateless apart from the simulator's joint state."""

    def __init__(self, p, client: int, root: str, base=(0.0, 0.0, 0.0)):
        self.p, self.client = p, client
        self.body = load_urdf(p, client, asset_path(root, "franka_panda/panda.urdf"), base,
                              fixed=True)
        # The IK needs limits for every movable joint (7 arm + 2 fingers).
        self._ll = list(LOWER) + [0.0, 0.0]
        self._ul = list(UPPER) + [FINGER_MAX, FINGER_MAX]
        self._jr = [u - l for l, u in zip(self._ll, self._ul)]
        self._rest = list(HOME) + [FINGER_MAX, FINGER_MAX]
        for link in FINGER_LINKS:
            p.changeDynamics(self.body, link, lateralFriction=1.2, physicsClientId=client)

    # --- state ------------------------------------------------------------------------------
    def set_joints(self, q_arm, opening: float = 1.0) -> None:
        """Teleport: arm joints [7] rad, gripper opening in [0, 1]; zero velocities."""
        p = self.p
        for j, q in zip(ARM_JOINTS, q_arm):
            p.resetJointState(self.body, j, float(q), 0.0, physicsClientId=self.client)
        for j in FINGER_JOINTS:
            p.resetJointState(self.body, j, FINGER_MAX * float(opening), 0.0,
                              physicsClientId=self.client)

    def arm_q(self) -> np.ndarray:
        """[7] arm joint positions, rad."""
        states = self.p.getJointStates(self.body, ARM_JOINTS, physicsClientId=self.client)
        return np.array([s[0] for s in states])

    def ee_pos(self) -> np.ndarray:
        """[3] grasp-target position, world metres."""
        return np.array(self.p.getLinkState(self.body, EE_LINK, computeForwardKinematics=True,
                                            physicsClientId=self.client)[4])

    def opening(self) -> float:
        """Gripper opening in [0, 1] (1 = fully open)."""
        states = self.p.getJointStates(self.body, FINGER_JOINTS, physicsClientId=self.client)
        return float((states[0][0] + states[1][0]) / (2 * FINGER_MAX))

    def at_joint_limit(self) -> list[int]:
        """Indices of arm joints within JOINT_LIMIT_MARGIN of a limit."""
        q = self.arm_q()
        return [j for j in ARM_JOINTS
                if q[j] - LOWER[j] < JOINT_LIMIT_MARGIN or UPPER[j] - q[j] < JOINT_LIMIT_MARGIN]

    # --- IK and control ----------------------------------------------------------------------
    def ik(self, target, iterations: int = 30) -> np.ndarray:
        """Arm joints [7] placing the grasp target at `target` [3] with the hand pointing down.
        Seeded from the current joint state (PyBullet's IK reads it)."""
        q = self.p.calculateInverseKinematics(
            self.body, EE_LINK, list(map(float, target)), list(DOWN),
            lowerLimits=self._ll, upperLimits=self._ul, jointRanges=self._jr,
            restPoses=self._rest, maxNumIterations=iterations, residualThreshold=1e-4,
            physicsClientId=self.client)
        return np.clip(np.array(q[:7]), LOWER, UPPER)

    def command(self, q_arm, opening: float) -> None:
        """Joint position targets for the arm [7] and the gripper opening in [0, 1]."""
        p = self.p
        p.setJointMotorControlArray(self.body, ARM_JOINTS, p.POSITION_CONTROL,
                                    targetPositions=list(map(float, q_arm)),
                                    forces=list(ARM_FORCES), physicsClientId=self.client)
        width = FINGER_MAX * float(np.clip(opening, 0.0, 1.0))
        p.setJointMotorControlArray(self.body, FINGER_JOINTS, p.POSITION_CONTROL,
                                    targetPositions=[width, width],
                                    forces=[FINGER_FORCE, FINGER_FORCE],
                                    physicsClientId=self.client)

    def place_ee(self, target, opening: float = 1.0, rounds: int = 4) -> None:
        """Teleport the arm so the grasp target sits at `target` (used at reset)."""
        self.set_joints(HOME, opening)
        for _ in range(rounds):
            self.set_joints(self.ik(target, iterations=100), opening)
        self.command(self.arm_q(), opening)
