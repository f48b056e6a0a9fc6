"""A sample seen in a recording replays exactly: every replan keeps the planner call's seed,
solver, steps and temperature and its initial noise (float32), and with keep_step_noise DDPM's
per-step noise too; the reader gives them back as `replay_args()`."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from planners import load_planner
from recordings.header import write_recording
from recordings.reader import RecordingReader
from recordings.rollout import ReplanRecord, Rollout

CKPT = Path(__file__).resolve().parents[2] / "resources" / "checkpoints" / "mug_grasp_diffusion"


@pytest.fixture(scope="module")
def planner():
    return load_planner(CKPT)


def _obs(planner) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {f.name: rng.uniform(-0.2, 0.6, (planner.spec.n_obs_steps, *f.shape)).astype(np.float32)
            for f in planner.spec.features}


def _record(tmp_path, planner, obs, batch, keep_step_noise: bool) -> Path:
    n = batch.num_samples
    replan = ReplanRecord.from_plan_batch(0, batch, executed_index=0, mode_labels=[""] * n,
                                          feasible=np.ones(n, bool), executed_chunk=batch.plans[0, :8],
                                          keep_chain=False, keep_step_noise=keep_step_noise)
    rollout = Rollout(obs={k: v[-1:] for k, v in obs.items()}, actions=batch.plans[0, :1],
                      states=np.zeros((1, 1)), rewards=np.zeros(1), dones=np.ones(1, bool),
                      replans=[replan], policy="p")
    path = tmp_path / f"noise_{keep_step_noise}.h5"
    write_recording(path, [rollout], kind="eval")
    return path


def test_recorded_ddpm_sample_replays_exactly(tmp_path, planner):
    obs = _obs(planner)
    batch = planner.plan(obs, 5, seed=11, solver="ddpm", steps=10, temperature=0.9)
    path = _record(tmp_path, planner, obs, batch, keep_step_noise=True)
    reader = RecordingReader(path)
    view = reader.rollout(0).replans[0]
    args = view.replay_args()
    assert args["initial_noise"].dtype == np.float32 and args["step_noise"].dtype == np.float32
    np.testing.assert_array_equal(args["initial_noise"], batch.initial_noise)
    np.testing.assert_array_equal(args["step_noise"], batch.step_noise)
    assert (args["seed"], args["solver"], args["steps"], args["temperature"]) == (11, "ddpm", 10, 0.9)
    recorded_obs = {k: reader.rollout(0).obs(k) for k in obs}
    again = planner.plan(recorded_obs, **args)
    np.testing.assert_array_equal(again.plans, view.samples)
    # the stored noise is what replays it, not the seed: another seed with it gives the same plans
    moved = planner.plan(recorded_obs, **{**args, "seed": 12})
    np.testing.assert_array_equal(moved.plans, view.samples)
    # ... and without it another seed gives other plans (the comparison is not vacuous)
    other = planner.plan(recorded_obs, **{**args, "seed": 12, "initial_noise": None, "step_noise": None})
    assert np.abs(other.plans - view.samples).max() > 1e-3
    reader.close()


def test_without_step_noise_the_seed_replays_and_old_files_read_none(tmp_path, planner):
    obs = _obs(planner)
    batch = planner.plan(obs, 3, seed=4, solver="ddpm", steps=8)
    path = _record(tmp_path, planner, obs, batch, keep_step_noise=False)
    with RecordingReader(path) as reader:
        view = reader.rollout(0).replans[0]
        args, samples = view.replay_args(), view.samples
    assert args["step_noise"] is None and args["initial_noise"].shape == batch.plans.shape
    np.testing.assert_array_equal(planner.plan(obs, **args).plans, samples)
    # a file written before the noise datasets existed: the replan reads back without them
    with h5py.File(path, "r+") as f:
        group = f["data/demo_0/replans"]
        for name in ("initial_noise", "initial_noise_row", "step_noise", "step_noise_row", "replay"):
            del group[name]
    with RecordingReader(path) as reader:
        old = reader.rollout(0).replans[0]
        assert old.initial_noise is None and old.step_noise is None and old.replay_args() is None
        np.testing.assert_array_equal(old.samples, batch.plans)


def test_replan_record_refuses_noise_of_another_shape(planner):
    batch = planner.plan(_obs(planner), 2, seed=0, solver="ddim", steps=4)
    good = dict(step=0, samples=batch.plans, executed_index=0, mode_labels=["", ""],
                feasible=np.ones(2, bool), latency_ms=1.0, executed_chunk=batch.plans[0])
    with pytest.raises(ValueError, match="initial_noise must be"):
        ReplanRecord(**good, initial_noise=batch.initial_noise[:1])
    with pytest.raises(ValueError, match="step_noise must be"):
        ReplanRecord(**good, step_noise=np.zeros((3, 2, 5, 4), np.float32))
    with pytest.raises(ValueError, match="missing"):
        ReplanRecord(**good, replay={"seed": 1})


def test_eval_runner_records_noise_that_replays_a_replan(planner):
    """planscope eval --record-noise: a replan the runner recorded replays exactly from what it kept
    (given the observation the planner saw at that replan)."""
    from app.core.evaluation import runner
    from app.core.evaluation.config import RolloutJob, RolloutSettings
    from tests.app.core.evaluation.test_executed_chunk import GoldenHistoryScene

    rng = np.random.default_rng(5)
    frames = [{f.name: rng.uniform(-0.2, 0.6, f.shape).astype(np.float32) for f in planner.spec.features}
              for _ in range(2)]
    settings = RolloutSettings(scene="golden", record_samples=3, solver="ddpm", steps=6, record_noise=True)
    key = ("golden", runner.json.dumps({"options": {}, "perturbation": {}}, sort_keys=True))
    runner._SCENES[key] = GoldenHistoryScene(frames, name=planner.spec.scene)
    runner._PLANNERS["noise-ref"] = planner
    runner._WARMED.add("noise-ref")
    try:
        rollout = runner.run_rollout(RolloutJob(index=0, policy_index=0, policy="p", policy_ref="noise-ref",
                                                seed=9, perturbation={}, perturbation_name="nominal"), settings)
    finally:
        runner.clear_caches()
    replan = rollout.replans[1]
    args = replan.replay_args()
    assert args["step_noise"].shape == (6, 3, *replan.samples.shape[1:])   # trailing spacing: K = S
    obs = {k: v[None] for k, v in frames[-1].items()}     # what the stand-in scene showed it (To = 1)
    np.testing.assert_array_equal(planner.plan(obs, **{**args, "seed": 0}).plans, replan.samples)
