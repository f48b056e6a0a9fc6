"""obstacle_reach: the hand must reach a target behind k rows of posts without touching them.

Option rows=k (1 or 2). Each row is a wall across the table (x thickness 4 cm, 20 cm tall: the
whole hand is below its top at working height, the wrist above it) with two gaps, one each side of a central
block: block |y| < 9 cm, gaps 9-37 cm (wide enough for the 21 cm-wide hand), outer walls beyond.
Modes: which gap the path takes in each row, nearest row first: k=1 "left" / "right" (+y / -y),
k=2 "LL", "LR", "RL", "RR": 2^k modes.

Reset (seeded): hand at (0.30, 0, 0.08) m, gripper open; target at x = last row + 0.13 m
(± 1 cm), y ~ U[-0.08, 0.08], z = 0.08. Success: grasp-target point within 2 cm of the target
with no contact so far. Violation (ends the episode): any robot contact with a row or the table.
Timeout: 80 control steps (8 s).

Observation (flat order = obs_spec): ee_pos[3], gripper[1], target_pos[3]. Flat size 7.
"""
from __future__ import annotations

import itertools

import numpy as np

from scenes.api import Observation, PlanCheck, SceneError
from scenes.assets import load_table
from scenes.bullet_scene import BulletScene
from scenes.panda import Panda

START_EE = (0.30, 0.0, 0.08)
WORK_Z = 0.08
FIRST_ROW_X = 0.42
ROW_SPACING = 0.16
ROW_HALF_X = 0.02
ROW_HEIGHT = 0.20
BLOCK_HALF_Y = 0.09
GAP_OUTER_Y = 0.37
WALL_OUTER_Y = 0.50
GAP_CENTRE_Y = 0.5 * (BLOCK_HALF_Y + GAP_OUTER_Y)   # 0.23 m
TARGET_BEHIND = 0.13
REACH_TOLERANCE = 0.02
MAX_ROWS = 2   # a third row would put the target beyond the arm's reach


def row_boxes(rows: int) -> list[tuple[str, tuple, tuple]]:
    """(body name, half extents, centre) of each row's three boxes (centre block, two walls)."""
    out = []
    wall_half_y = 0.5 * (WALL_OUTER_Y - GAP_OUTER_Y)
    for i in range(rows):
        x = FIRST_ROW_X + i * ROW_SPACING
        z = ROW_HEIGHT / 2
        out.append((f"row{i + 1}", (ROW_HALF_X, BLOCK_HALF_Y, z), (x, 0.0, z)))
        for side in (1, -1):
            out.append((f"row{i + 1}", (ROW_HALF_X, wall_half_y, z),
                        (x, side * (GAP_OUTER_Y + wall_half_y), z)))
    return out


class ObstacleReach(BulletScene):
    name = "obstacle_reach"
    obs_spec = (("ee_pos", 3), ("gripper", 1), ("target_pos", 3))
    max_steps = 80
    task_object = ""          # nothing to shift or reweigh: pose_shift moves the target instead

    def __init__(self, *, rows: int = 1, **kwargs):
        try:
            rows_ok = int(rows) == rows and 1 <= int(rows) <= MAX_ROWS
        except (TypeError, ValueError):
            rows_ok = False
        if not rows_ok:
            raise SceneError(f"obstacle_reach: rows={rows!r} must be 1 or 2")
        self.rows = int(rows)
        # flags: side (+1 left / -1 right, 0 not yet) where the hand crossed each row, then the
        # hand's x at the previous control step. Part of the state, so labels replay too.
        self.n_flags = self.rows + 1
        self.row_x = tuple(FIRST_ROW_X + i * ROW_SPACING for i in range(self.rows))
        if self.rows == 1:
            self.modes = ("left", "right")
        else:
            self.modes = tuple("".join(m) for m in itertools.product("LR", repeat=self.rows))
        super().__init__(**kwargs)

    def _build(self) -> None:
        p, c = self.p, self.client
        self.bodies["table"] = load_table(p, c, self.asset_root)
        self.robot = Panda(p, c, self.asset_root)
        self.bodies["panda"] = self.robot.body
        by_row: dict[str, list] = {}
        for name, half, centre in row_boxes(self.rows):
            by_row.setdefault(name, []).append((half, centre))
        for name, boxes in by_row.items():
            x = boxes[0][1][0]
            halves = [list(h) for h, _ in boxes]
            offsets = [[0.0, ctr[1], ctr[2]] for _, ctr in boxes]
            col = p.createCollisionShapeArray([p.GEOM_BOX] * len(boxes), halfExtents=halves,
                                              collisionFramePositions=offsets, physicsClientId=c)
            vis = p.createVisualShapeArray([p.GEOM_BOX] * len(boxes), halfExtents=halves,
                                           visualFramePositions=offsets,
                                           rgbaColors=[[0.35, 0.45, 0.6, 1.0]] * len(boxes),
                                           physicsClientId=c)
            self.bodies[name] = p.createMultiBody(0, col, vis, basePosition=[x, 0, 0],
                                                  physicsClientId=c)
        target_vis = p.createVisualShape(p.GEOM_SPHERE, radius=REACH_TOLERANCE,
                                         rgbaColor=[0.2, 0.8, 0.3, 0.8], physicsClientId=c)
        self.bodies["target"] = p.createMultiBody(0, -1, target_vis, basePosition=[0.7, 0, WORK_Z],
                                                  physicsClientId=c)
        self._checker = None

    def _reset_task(self, rng: np.random.Generator) -> None:
        x = self.row_x[-1] + TARGET_BEHIND + rng.uniform(-0.01, 0.01)
        y = rng.uniform(-0.08, 0.08)
        shift = self.perturbation.pose_shift
        if shift:   # the target is this scene's task object: shift it, seeded like the others
            angle = np.random.default_rng([self.seed, 1]).uniform(0, 2 * np.pi)
            x, y = x + shift * np.cos(angle), y + shift * np.sin(angle)
        self.p.resetBasePositionAndOrientation(self.bodies["target"], [x, y, WORK_Z], [0, 0, 0, 1],
                                               physicsClientId=self.client)
        self.robot.place_ee(START_EE, 1.0)
        self._flags[self.rows] = START_EE[0]

    def target_pos(self) -> np.ndarray:
        return np.array(self.p.getBasePositionAndOrientation(self.bodies["target"],
                                                             physicsClientId=self.client)[0])

    def _task_obs(self) -> Observation:
        return {"ee_pos": self.robot.ee_pos(), "gripper": np.array([self.robot.opening()]),
                "target_pos": self.target_pos()}

    def _evaluate(self, action, contacts) -> tuple[bool, str]:
        ee = self.robot.ee_pos()
        for i, x_row in enumerate(self.row_x):
            if self._flags[i] == 0 and self._flags[self.rows] < x_row <= ee[0]:
                self._flags[i] = 1.0 if ee[1] >= 0 else -1.0
        self._flags[self.rows] = ee[0]
        for a, b in sorted(contacts):
            if "panda" in (a, b):
                return False, f"hit_{b if a == 'panda' else a}:{a}:{b}"
        return bool(np.linalg.norm(self.robot.ee_pos() - self.target_pos()) <= REACH_TOLERANCE), ""

    def episode_metrics(self) -> dict[str, float]:
        return {"target_distance_m": float(np.linalg.norm(self.robot.ee_pos() - self.target_pos()))}

    # --- modes and feasibility -----------------------------------------------------------------
    def gap_y(self, side: str) -> float:
        return GAP_CENTRE_Y if side == "L" else -GAP_CENTRE_Y

    def mode_sides(self, mode: str) -> str:
        """"left" -> "L", "LR" -> "LR": the side taken at each row, nearest first."""
        if mode not in self.modes:
            raise SceneError(f"obstacle_reach rows={self.rows}: unknown mode {mode!r}; "
                             f"valid: {', '.join(self.modes)}")
        return {"left": "L", "right": "R"}.get(mode, mode)

    def label_mode(self, path: np.ndarray, *, partial: bool = False) -> str:
        """Mode of an end-effector path [T, >=3]: at each row, the sign of y where the path first
        crosses the row's plane x = row_x (linear interpolation). A row the path does not cross
        but the hand already crossed in this episode takes the side the hand took (so a plan made
        after the first row still gets a full label); one the path starts beyond takes the side
        of its first waypoint. "" when a row is crossed by neither, or
        the path crosses one through the central block.

        partial=True (rows=2): a path that ends before a later row (a 16-waypoint plan from the
        start reaches only the first row) gets the sides it did decide, "L" or "R": a prefix of
        the modes it can still become (planners.modes compares such plans on that decision
        alone and says so), instead of "" (no mode)."""
        path = np.asarray(path, dtype=np.float64)
        sides = []
        for i, x_row in enumerate(self.row_x):
            dx = path[:, 0] - x_row
            crossing = np.flatnonzero((dx[:-1] < 0) & (dx[1:] >= 0))
            if crossing.size == 0:
                if self._flags[i] != 0:
                    sides.append("L" if self._flags[i] > 0 else "R")
                elif dx[0] >= 0 and abs(path[0, 1]) >= BLOCK_HALF_Y:
                    # starts past the row (the hand lags its targets): the side it starts on
                    sides.append("L" if path[0, 1] > 0 else "R")
                elif partial and sides and dx.max() < 0:
                    return "".join(sides)      # ends before this row: the decided prefix
                else:
                    return ""
                continue
            i = crossing[0]
            w = -dx[i] / (dx[i + 1] - dx[i])
            y = path[i, 1] + w * (path[i + 1, 1] - path[i, 1])
            if abs(y) < BLOCK_HALF_Y:
                return ""
            sides.append("L" if y > 0 else "R")
        joined = "".join(sides)
        return {"L": "left", "R": "right"}.get(joined, joined) if self.rows == 1 else joined

    def _plan_checker(self):
        if self._checker is None:
            from scenes.feasibility import PlanChecker
            self._checker = PlanChecker(self.asset_root, boxes=row_boxes(self.rows),
                                        workspace=self.workspace)
        return self._checker

    def check_plan(self, plan: np.ndarray) -> PlanCheck:
        """Feasibility of a plan [H, 4]; see scenes/feasibility.py."""
        return self._plan_checker().check(plan, {})

    def check_plans(self, plans: np.ndarray) -> list[PlanCheck]:
        return self._plan_checker().check_many(plans, {})

    def clearance(self, path: np.ndarray) -> float:
        """Minimum distance (m) from the hand proxy along a path [T, >=3] to rows and table."""
        return self._plan_checker().clearance(path, {})

    def close(self) -> None:
        if getattr(self, "_checker", None) is not None:
            self._checker.close()
            self._checker = None
        super().close()
