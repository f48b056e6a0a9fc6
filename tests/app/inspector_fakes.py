"""Fakes for the inspector tests: a tiny numpy planner with a two-mode chain, constructed batches.

FakeTwoModePlanner implements planners.protocol.Planner: each sample approaches a "mug" at
(0.6, 0, 0.1) from the left (+y) or the right (-y); its chain goes from noise to the plan and its
x0-estimates start at the average of both modes and commit to the sample's mode halfway through.
"""
from __future__ import annotations

import time

import numpy as np

from planners.protocol import PlannerSpec
from recordings.plan_batch import PlanBatch
from scenes.api import PlanCheck
from tests.app.shell_fakes import FakeScene as ShellFakeScene

MUG = np.array([0.6, 0.0, 0.1])
START = np.array([0.35, 0.0, 0.35])
H, D = 16, 4


def mode_path(side: float, h: int = H) -> np.ndarray:
    """[H, 4] a path from START around the mug on side +1 (left, +y) or -1 (right); side 0 is
    the average of both, which goes straight through the mug."""
    s = np.linspace(0.0, 1.0, h)
    x = START[0] + (MUG[0] - START[0]) * s
    y = side * 0.15 * np.sin(np.pi * s) + side * 0.06 * s
    z = START[2] + (MUG[2] + 0.02 - START[2]) * s
    grip = np.where(s > 0.85, 0.0, 1.0)
    return np.stack([x, y, z, grip], axis=1).astype(np.float32)


def two_mode_batch(n: int = 32, steps: int = 10, seed: int = 0, left_share: float = 0.5,
                   planner: str = "fake") -> PlanBatch:
    rng = np.random.default_rng(seed)
    sides = np.where(rng.random(n) < left_share, 1.0, -1.0)
    plans = np.stack([mode_path(s) for s in sides]) + rng.normal(0, 0.004, (n, H, D)).astype(np.float32)
    plans[..., 3] = np.clip(plans[..., 3], 0, 1)
    noise = rng.normal(0, 0.25, (n, H, D)).astype(np.float32) + plans.mean(axis=0)
    alpha = np.linspace(0.0, 1.0, steps + 1)[:, None, None, None]
    chain = (np.sqrt(alpha) * plans[None] + np.sqrt(1 - alpha) * noise[None]).astype(np.float32)
    chain[-1] = plans
    mean_path = mode_path(0.0)
    commit = np.clip(steps // 2 + rng.integers(-1, 2, n), 1, steps)
    x0 = np.empty((steps, n, H, D), dtype=np.float32)
    for k in range(steps):
        committed = (k >= commit)[:, None, None]
        x0[k] = np.where(committed, plans, mean_path[None])
    return PlanBatch(plans=plans, chain=chain, x0_estimates=x0,
                     timesteps=np.linspace(999, 0, steps, endpoint=False).astype(np.int64),
                     step_ms=np.full(steps, 2.0), solver="ddim", seed=seed, planner=planner,
                     meta={"sides": sides, "commit": commit})


def labels_of(batch: PlanBatch) -> np.ndarray:
    """[N] 0 = left, 1 = right, -1 = between (|y| at mid-plan < 5 cm)."""
    mid_y = batch.plans[:, batch.plans.shape[1] // 2, 1]
    return np.where(mid_y > 0.05, 0, np.where(mid_y < -0.05, 1, -1))


class FakeScene(ShellFakeScene):
    """The shell's in-memory scene dressed as mug_grasp: a mug that can be moved (what-if),
    label_mode by the side of the mug a path passes, check_plan hitting the mug's centre."""
    name = "mug_grasp"
    modes = ("left", "right")
    obs_spec = (("ee_pos", 3), ("gripper", 1), ("mug_pos", 3), ("mug_yaw", 2))

    def __init__(self) -> None:
        super().__init__()
        self.mug = MUG.copy()

    def reset(self, seed: int) -> dict:
        super().reset(seed)
        self.mug = MUG.copy()
        return self.observe()

    def observe(self) -> dict:
        return {"ee_pos": START.astype(np.float32), "gripper": np.ones(1, np.float32),
                "mug_pos": self.mug.astype(np.float32), "mug_yaw": np.array([1, 0], np.float32)}

    def get_state(self) -> np.ndarray:
        return np.concatenate([super().get_state(), self.mug])

    def set_state(self, state: np.ndarray) -> None:
        super().set_state(state[:2])
        self.mug = np.asarray(state[2:5], dtype=np.float64).copy()

    def link_poses(self) -> np.ndarray:
        poses = super().link_poses()
        poses[2, :3] = self.mug
        return poses

    def set_object_pose(self, x: float, y: float, yaw: float) -> None:
        self.mug = np.array([x, y, self.mug[2]])

    def label_mode(self, path: np.ndarray) -> str:
        mid = path[len(path) // 2, 1] - self.mug[1]
        return "left" if mid > 0.05 else "right" if mid < -0.05 else ""

    def check_plan(self, plan: np.ndarray) -> PlanCheck:
        d = np.linalg.norm(plan[:, :2] - self.mug[:2], axis=1)
        hit = (d < 0.05) & (plan[:, 2] < 0.2)
        hit[-1:] = False  # the grasp itself touches the mug on purpose
        return PlanCheck(feasible=not hit.any(), collides_with=["mug" if h else "" for h in hit],
                         unreachable=np.zeros(len(plan), bool), joint_limit=np.zeros(len(plan), bool))


def hold_until(condition, polls: int = 30_000) -> bool:
    """On a worker thread: wait (1 ms polls, no clock read) until condition() holds; False when it
    never did within `polls` (~30 s), so a broken test fails on its assertion instead of hanging."""
    for _ in range(polls):
        if condition():
            return True
        time.sleep(0.001)
    return condition()


class FakeTwoModePlanner:
    """A Planner: `plan` streams steps through on_step and stops when cancel() says so."""

    def __init__(self, name: str = "fake-diffusion", step_delay_s: float = 0.0,
                 scene: str = "mug_grasp", obs_dim: int = 9, regression: bool = False) -> None:
        self.spec = PlannerSpec(name=name, kind="regression" if regression else "diffusion",
                                scene=scene, obs_dim=obs_dim, action_dim=D, horizon=H,
                                default_solver="ddim", default_steps=10, num_parameters=1234,
                                extra={"data_mode_shares": {"left": 0.5, "right": 0.5}})
        self.step_delay_s = step_delay_s
        self.regression = regression
        self.progress = 0   # chain steps done in the current plan() call (read by tests, no clock)
        # step_gate(k, cancel): called on the worker after step k is done and streamed (on_step);
        # a test holds the planner there until a state it waits for (see hold_until), instead of
        # slowing every step with step_delay_s and hoping the GUI thread acts in time
        self.step_gate = None

    def plan(self, obs, num_samples, *, seed, solver="ddim", steps=10, temperature=1.0,
             on_step=None, cancel=None) -> PlanBatch:
        t0 = time.perf_counter()
        self.progress = 0
        if self.regression:
            plans = np.repeat(mode_path(0.0)[None], num_samples, axis=0)
            return PlanBatch.without_chain(plans, solver=solver, seed=seed, planner=self.spec.name)
        full = two_mode_batch(num_samples, steps, seed, planner=self.spec.name)
        for k in range(1, steps + 1):
            if cancel is not None and cancel():
                return _truncate(full, k - 1, cancelled=True)
            if self.step_delay_s:
                time.sleep(self.step_delay_s)
            self.progress = k
            if on_step is not None:
                on_step(k, steps, _truncate(full, k))
            if self.step_gate is not None:
                self.step_gate(k, cancel)
        full.wall_ms = (time.perf_counter() - t0) * 1000
        return full


def _truncate(batch: PlanBatch, k: int, cancelled: bool = False) -> PlanBatch:
    return PlanBatch(plans=batch.chain[k], chain=batch.chain[:k + 1], x0_estimates=batch.x0_estimates[:k],
                     timesteps=batch.timesteps[:k], step_ms=batch.step_ms[:k], solver=batch.solver,
                     seed=batch.seed, planner=batch.planner, cancelled=cancelled)


def make_planner() -> FakeTwoModePlanner:
    """Plugin entry point (`--policy tests.app.inspector_fakes:make_planner`)."""
    return FakeTwoModePlanner()


def make_other_scene_planner() -> FakeTwoModePlanner:
    return FakeTwoModePlanner(name="reach-policy", scene="obstacle_reach", obs_dim=12)


def make_regression() -> FakeTwoModePlanner:
    return FakeTwoModePlanner(name="fake-regression", regression=True)
