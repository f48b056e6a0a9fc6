"""Plan feasibility and clearance, checked in a private PyBullet client.

Why a second client: checking must never disturb the live simulation (no teleported robot, no
contact caches touched), and a copy of the static world plus a light hand proxy answers a
waypoint in microseconds. Running the robot's IK per waypoint (~0.4 ms each, and seed-dependent)
would cost ~1.6 s for 256 plans of 16 waypoints; the proxy + reach model below takes ~0.1 s.

What is checked per waypoint (x, y, z, gripper) of a plan [H, 4]:
- collision: a proxy of the Panda hand (palm box 6.3 x 20.8 x 9.2 cm) and its two fingers (boxes
  2.1 x 2.6 x 5.4 cm, placed at the commanded opening) at the waypoint, top-down as the
  controller holds it, against every scene body (table, mug, obstacles). While the gripper
  command is < 0.5 (grasping) the fingers may touch the task object: only the palm counts there.
  The arm links above the hand are not modelled.
- unreachable: the waypoint is outside the scene's workspace box, or the wrist centre (22 cm above
  the grasp point) is out of the arm's reach band 0.27-0.765 m from the shoulder (calibrated
  against PyBullet IK on 1,500 random targets: inside the band IK error < 1 cm for >= 95 %).
- joint_limit: the wrist centre is within 3 cm of the inner edge of that band, where the IK
  solution sits at a joint limit (joints 4 and 6 fold fully).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from scenes.api import PlanCheck
from scenes.assets import load_mug, load_table

PALM_HALF = np.array([0.0316, 0.104, 0.046])
PALM_OFFSET_Z = 0.085                     # palm centre above the grasp point
FINGER_HALF = np.array([0.0105, 0.0132, 0.0269])
FINGER_OFFSET_Z = 0.0197                  # finger centre above the grasp point
FINGER_MAX = 0.04
SHOULDER = np.array([0.0, 0.0, 0.333])
WRIST_ABOVE_EE = 0.212
REACH_MIN, REACH_MAX, LIMIT_BAND = 0.27, 0.765, 0.03


def reach_flags(points: np.ndarray, workspace) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised reach model for points [..., 3]: (unreachable, joint_limit) bool arrays [...]."""
    lo, hi = np.asarray(workspace[0]), np.asarray(workspace[1])
    outside = np.any((points < lo - 1e-6) | (points > hi + 1e-6), axis=-1)
    wrist = points + np.array([0.0, 0.0, WRIST_ABOVE_EE]) - SHOULDER
    d = np.linalg.norm(wrist, axis=-1)
    unreachable = outside | (d > REACH_MAX) | (d < REACH_MIN)
    joint_limit = ~unreachable & (d < REACH_MIN + LIMIT_BAND)
    return unreachable, joint_limit


class PlanChecker:
    """Static copy of a scene (table, optional mug, optional boxes) plus a hand proxy."""

    def __init__(self, asset_root: str, *, with_mug: bool = False,
                 boxes: Iterable[tuple[str, tuple, tuple]] = (),
                 workspace=((0.2, -0.45, 0.0), (0.85, 0.45, 0.6))):
        from scenes.bullet_scene import _import_pybullet
        p = self.p = _import_pybullet()
        self.c = p.connect(p.DIRECT)
        self.workspace = workspace
        self.bodies: dict[str, int] = {"table": load_table(p, self.c, asset_root)}
        if with_mug:
            self.bodies["mug"] = load_mug(p, self.c, asset_root, (0.5, 0, 0), 0.0, mass=0.0)
        grouped: dict[str, list] = {}
        for name, half, pos in boxes:   # boxes sharing a name form one static compound body
            grouped.setdefault(name, []).append((list(half), list(pos)))
        for name, parts in grouped.items():
            col = p.createCollisionShapeArray([p.GEOM_BOX] * len(parts),
                                              halfExtents=[h for h, _ in parts],
                                              collisionFramePositions=[c for _, c in parts],
                                              physicsClientId=self.c)
            self.bodies[name] = p.createMultiBody(0, col, basePosition=[0, 0, 0], physicsClientId=self.c)
        palm = p.createCollisionShape(p.GEOM_BOX, halfExtents=PALM_HALF.tolist(), physicsClientId=self.c)
        finger = p.createCollisionShape(p.GEOM_BOX, halfExtents=FINGER_HALF.tolist(), physicsClientId=self.c)
        self.palm = p.createMultiBody(0, palm, basePosition=[0, 0, 5], physicsClientId=self.c)
        self.fingers = [p.createMultiBody(0, finger, basePosition=[0, 0, 5], physicsClientId=self.c)
                        for _ in range(2)]

    def close(self) -> None:
        if self.c is not None:
            try:
                self.p.disconnect(physicsClientId=self.c)
            except Exception:  # client already gone
                pass
            self.c = None

    def sync(self, poses: dict[str, tuple]) -> None:
        """Move the movable bodies (e.g. the mug) to the live scene's poses."""
        for name, (pos, orn) in poses.items():
            self.p.resetBasePositionAndOrientation(self.bodies[name], list(pos), list(orn),
                                                   physicsClientId=self.c)

    def _parts(self, wp: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(body, centre [3], half extents [3]) of palm and fingers for one waypoint."""
        x, y, z = wp[:3]
        g = float(np.clip(wp[3], 0.0, 1.0)) if wp.shape[0] > 3 else 1.0
        dy = FINGER_MAX * g + FINGER_HALF[1]
        return [(self.palm, np.array([x, y, z + PALM_OFFSET_Z]), PALM_HALF),
                (self.fingers[0], np.array([x, y + dy, z + FINGER_OFFSET_Z]), FINGER_HALF),
                (self.fingers[1], np.array([x, y - dy, z + FINGER_OFFSET_Z]), FINGER_HALF)]

    def _aabbs(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {n: tuple(np.array(v) for v in self.p.getAABB(b, physicsClientId=self.c))
                for n, b in self.bodies.items()}

    def _hit(self, wp, aabbs, grasp_object: str, margin: float = 0.0) -> str:
        """Name of the first body the proxy at waypoint `wp` penetrates ("" when free)."""
        p, c = self.p, self.c
        grasping = wp.shape[0] > 3 and wp[3] < 0.5
        for i, (part, centre, half) in enumerate(self._parts(wp)):
            lo, hi = centre - half - margin, centre + half + margin
            placed = False
            for name, (blo, bhi) in aabbs.items():
                if np.any(hi < blo) or np.any(lo > bhi):
                    continue   # bounding boxes apart: no need to ask PyBullet
                if grasping and i > 0 and name == grasp_object:
                    continue   # fingers closing on the object is the grasp, not a collision
                if not placed:
                    p.resetBasePositionAndOrientation(part, centre.tolist(), [0, 0, 0, 1],
                                                      physicsClientId=c)
                    placed = True
                pts = p.getClosestPoints(part, self.bodies[name], margin, physicsClientId=c)
                if any(pt[8] < -margin for pt in pts):
                    return name
        return ""

    def check(self, plan: np.ndarray, poses: dict[str, tuple], grasp_object: str = "") -> PlanCheck:
        """PlanCheck for one plan [H, >=3]."""
        return self.check_many(np.asarray(plan)[None], poses, grasp_object)[0]

    def check_many(self, plans: np.ndarray, poses: dict[str, tuple],
                   grasp_object: str = "") -> list[PlanCheck]:
        """PlanCheck for each plan of [N, H, >=3]."""
        plans = np.asarray(plans, dtype=np.float64)
        self.sync(poses)
        aabbs = self._aabbs()
        unreachable, joint_limit = reach_flags(plans[..., :3], self.workspace)
        out = []
        for n, plan in enumerate(plans):
            hits = [self._hit(wp, aabbs, grasp_object) for wp in plan]
            feasible = not (any(hits) or unreachable[n].any() or joint_limit[n].any())
            out.append(PlanCheck(feasible=feasible, collides_with=hits,
                                 unreachable=unreachable[n].copy(), joint_limit=joint_limit[n].copy()))
        return out

    def clearance(self, path: np.ndarray, poses: dict[str, tuple], grasp_object: str = "",
                  horizon: float = 0.3) -> float:
        """Minimum signed distance (m) from the hand proxy along `path` [T, >=3] to any body
        (capped at `horizon`; negative = penetration). While grasping (gripper < 0.5) the
        fingers' distance to the grasp object is ignored."""
        path = np.asarray(path, dtype=np.float64)
        self.sync(poses)
        p, c, best = self.p, self.c, float(horizon)
        for wp in path:
            grasping = wp.shape[0] > 3 and wp[3] < 0.5
            for i, (part, centre, _) in enumerate(self._parts(wp)):
                p.resetBasePositionAndOrientation(part, centre.tolist(), [0, 0, 0, 1], physicsClientId=c)
                for name, uid in self.bodies.items():
                    if grasping and i > 0 and name == grasp_object:
                        continue
                    for pt in p.getClosestPoints(part, uid, best, physicsClientId=c):
                        best = min(best, pt[8])
        return float(best)
