"""The evaluation runner executes what the policy's own library executes: plans[To-1 : To-1+Ta]
(PlannerSpec.action_start, n_action_steps), checked against goldens that diffusion_policy's
predict_action and LeRobot's predict_action_chunk wrote (tests/planners/*/fixtures)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app.core.evaluation import runner
from app.core.evaluation.config import RolloutJob, RolloutSettings
from planners.loading import load_planner
from scenes.api import PlanCheck, StepResult
from tests.planners.diffusion_policy.test_dp_checkpoints import FIXTURES as DP_FIXTURES
from tests.planners.lerobot.conftest import lerobot_policy_dir, read_golden  # noqa: F401 - fixture

TOLERANCE = 1e-4   # of the action range


class GoldenHistoryScene:
    """A stand-in scene whose second replan sees exactly the golden observation history
    `frames` (oldest first): the first chunk's trace ends with frames[:-1], then frames[-1]."""
    modes = ()
    name = "golden"
    cameras = ()

    def __init__(self, frames: list[dict], name: str = "golden") -> None:
        self.frames, self.name = frames, name
        self.steps = 0
        self.obs_spec = [(k, int(np.size(v))) for k, v in frames[0].items()]   # the policy's own names

    def reset(self, seed: int) -> dict:
        self.steps = 0
        return self.frames[0]

    def step(self, chunk: np.ndarray) -> StepResult:
        self.steps += 1
        n = len(chunk)
        earlier = self.frames[:-1]
        trace = [self.frames[0]] * (n - len(earlier)) + earlier[-n:]
        return StepResult(obs=self.frames[-1], reward=0.0, done=self.steps >= 2, events=[],
                          obs_trace=trace, action_trace=list(chunk),
                          state_trace=[np.zeros(1)] * n, reward_trace=[0.0] * n)

    def label_mode(self, plan) -> str:
        return ""

    def check_plan(self, plan) -> PlanCheck:
        h = len(plan)
        return PlanCheck(True, [""] * h, np.zeros(h), np.zeros(h, bool))

    def set_state(self, state) -> None:
        pass

    def close(self) -> None:
        pass


class GoldenNoise:
    """The real planner, given the noise the reference library used at every call."""

    def __init__(self, planner, initial_noise: np.ndarray, step_noise: np.ndarray | None) -> None:
        self.inner, self.spec = planner, planner.spec
        self.noise = (initial_noise, step_noise)

    def plan(self, obs, num_samples, *, seed, solver="ddim", steps=10, temperature=1.0, **kw):
        return self.inner.plan(obs, num_samples, seed=seed, solver=solver, steps=steps,
                               temperature=temperature, initial_noise=self.noise[0],
                               step_noise=self.noise[1])


def _run(planner, frames: list[dict], num_samples: int):
    settings = RolloutSettings(scene="golden", record_samples=num_samples, action_steps=8,
                               max_steps=200)
    key = ("golden", json.dumps({"options": {}, "perturbation": {}}, sort_keys=True))
    runner._SCENES[key] = GoldenHistoryScene(frames)
    runner._PLANNERS["golden-ref"] = planner
    runner._WARMED.add("golden-ref")
    try:
        job = RolloutJob(index=0, policy_index=0, policy="p", policy_ref="golden-ref", seed=0,
                         perturbation={}, perturbation_name="nominal")
        return runner.run_rollout(job, settings)
    finally:
        runner.clear_caches()


def _frames(history: dict[str, np.ndarray]) -> list[dict]:
    to = len(next(iter(history.values())))
    return [{k: v[i] for k, v in history.items()} for i in range(to)]


def _check(rollout, reference_chunk: np.ndarray, full: np.ndarray, spec) -> None:
    second = rollout.replans[1]
    scale = float(full.max() - full.min())
    assert second.executed_chunk.shape == reference_chunk[0].shape
    assert np.max(np.abs(second.executed_chunk - reference_chunk[0])) <= TOLERANCE * scale
    # not plans[:Ta]: that slice is another part of the trajectory
    ta = spec.n_action_steps
    assert np.max(np.abs(second.samples[0, :ta] - reference_chunk[0])) > 100 * TOLERANCE * scale
    # and the chunk that ran is the one recorded
    np.testing.assert_array_equal(rollout.actions[-len(second.executed_chunk):], second.executed_chunk)


def test_runner_executes_diffusion_policy_action_slice():
    golden = np.load(DP_FIXTURES / "lowdim_local_ddim.npz")
    planner = load_planner(DP_FIXTURES / "lowdim_local_ddim.ckpt")
    assert planner.spec.action_start == planner.spec.n_obs_steps - 1 == 1
    wrapped = GoldenNoise(planner, golden["initial_noise"], None)
    rollout = _run(wrapped, _frames({"obs": golden["obs"]}), len(golden["initial_noise"]))
    _check(rollout, golden["action"], golden["action_pred"], planner.spec)


def test_runner_executes_lerobot_predict_action_chunk(lerobot_policy_dir):
    arrays, meta = read_golden("lowdim_044_ddim")
    planner = load_planner(lerobot_policy_dir("lowdim_044_ddim"))
    assert (planner.spec.action_start, planner.spec.n_action_steps) == (meta["n_obs_steps"] - 1,
                                                                         meta["n_action_steps"])
    history = {k[len("obs."):]: v for k, v in arrays.items() if k.startswith("obs.")}
    wrapped = GoldenNoise(planner, arrays["initial_noise"], None)
    rollout = _run(wrapped, _frames(history), meta["num_samples"])
    _check(rollout, arrays["chunk"], arrays["full"], planner.spec)


@pytest.mark.parametrize("start, ta, horizon, expected", [(0, 0, 16, (0, 8)), (1, 8, 16, (1, 8)),
                                                           (2, 6, 16, (2, 6)), (12, 0, 16, (12, 4))])
def test_executed_window(start, ta, horizon, expected):
    from planners.protocol import PlannerSpec, executed_window
    spec = PlannerSpec(name="p", kind="plugin", action_dim=2, horizon=horizon, action_start=start,
                       n_action_steps=ta)
    assert executed_window(spec, 8) == expected
