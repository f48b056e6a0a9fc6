"""The verdicts the product exists to give, on policies trained in seconds on constructed data:
a diffusion policy keeps both modes, one trained on one mode is `collapsed` against 50/50 data,
and the regression baseline is `averaging`."""
from __future__ import annotations

import numpy as np

from planners import load_planner
from planners.modes import analyze_modes
from tests.planners import synthetic

DATA_SHARES = {"left": 0.5, "right": 0.5}


def _analyze(planner, solver="dpmpp", steps=10, n=128):
    batch = planner.plan(synthetic.start_obs(), n, seed=3, solver=solver, steps=steps)
    return batch, analyze_modes(batch.plans, x0_estimates=batch.x0_estimates, labels=synthetic.label,
                                data_shares=DATA_SHARES, mode_refs=synthetic.mode_refs(), seed=0)


def test_diffusion_on_bimodal_data_is_multimodal(bimodal_planner):
    batch, result = _analyze(bimodal_planner)
    assert result.verdict == "multimodal", result.reason
    assert result.coverage == 1.0
    assert 0.25 < result.label_shares["left"] < 0.75
    assert result.entropy > 0.8
    assert result.averaging_score < 0.2
    assert result.commit_step is not None and result.commit_step.shape == (128,)
    assert result.commit_step.min() >= 1 and result.commit_step.max() <= batch.num_steps


def test_diffusion_trained_on_one_mode_is_collapsed(one_mode_ckpt):
    _, result = _analyze(load_planner(one_mode_ckpt), solver="ddim")
    assert result.verdict == "collapsed", result.reason
    assert result.modes_missed == ["right"]
    assert "right" in result.reason


def test_regression_baseline_is_averaging(regression_ckpt):
    planner = load_planner(regression_ckpt)
    batch, result = _analyze(planner)
    assert not batch.has_chain
    assert np.allclose(batch.plans, batch.plans[0])     # the conditional mean, every time
    assert result.verdict == "averaging", result.reason
    assert result.averaging_score > 0.5
    # The average of left and right goes straight through the obstacle.
    assert abs(batch.plans[0, 8, 1]) < 0.1


# ---- what a verdict is judged against: explicit shares, another data file, the training record

def test_explicit_shares_are_parsed_and_validated_in_one_place():
    import pytest
    from planners.mode_reference import choose_reference, parse_shares
    from planners.protocol import PlannerError

    ref = parse_shares("left=0.7, right=30%")
    assert ref.shares == pytest.approx({"left": 0.7, "right": 0.3}) and ref.episodes is None
    for bad, words in [("left=0.7,right=0.2", "sum to 0.9"), ("left=0.7,left=0.3", "given twice"),
                       ("left", "MODE=SHARE"), ("left=x,right=1", "not a number"),
                       ("left=1.5,right=-0.5", "must be in [0, 1]"), ("left=0,right=0", "no mode")]:
        with pytest.raises(PlannerError, match=words.replace("[", r"\[").replace("]", r"\]")):
            parse_shares(bad)
    with pytest.raises(PlannerError, match="not both"):
        choose_reference(None, data_file="x.h5", data_shares="left=1")


def test_shares_of_another_data_file_name_the_file(tmp_path):
    import pytest
    from planners.mode_reference import shares_from_recording
    from planners.protocol import PlannerError
    from recordings.rollout import Rollout
    from recordings.writer import RecordingWriter

    path = tmp_path / "demos7030.h5"
    env = {"env_name": "synthetic_bimodal", "type": "planscope", "env_kwargs": {},
           "obs_spec": [["ee_pos", 3], ["obstacle", 2]]}
    with RecordingWriter(path, env_args=env, kind="demos") as writer:
        for i, (mode, ok) in enumerate([("left", True)] * 7 + [("right", True)] * 3 + [("right", False)]):
            writer.write_rollout(Rollout(obs={"ee_pos": np.zeros((2, 3)), "obstacle": np.zeros((2, 2))},
                                         actions=np.zeros((2, 4)), states=np.zeros((2, 1)),
                                         rewards=np.zeros(2), dones=np.array([False, True]),
                                         seed=i, success=ok, mode=mode))
    ref = shares_from_recording(path)       # the failed demonstration is left out, as in training
    assert ref.shares == pytest.approx({"left": 0.7, "right": 0.3}) and ref.episodes == 10
    result = analyze_modes(np.repeat(synthetic.mode_refs()["left"][None], 40, axis=0), labels=synthetic.label,
                           data_shares=ref)
    assert result.verdict == "collapsed" and "demos7030.h5 (10 episodes)" in result.reason
    with pytest.raises(PlannerError, match="does not exist"):
        shares_from_recording(tmp_path / "missing.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(PlannerError, match="junk.h5"):
        shares_from_recording(tmp_path / "junk.h5")


def test_checkpoint_records_scene_options_and_training_range(tmp_path):
    import json

    import pytest
    from planners.checkpoint import check_scene_options, recorded_scene_options
    from planners.mode_reference import training_range
    from planners.protocol import PlannerError
    from planners.train import train_policy
    from planners.training import TrainingConfig

    data = synthetic.make_data(episodes=8, left_share=0.5, seed=0)
    data.env_args = {"env_kwargs": {"rows": 2, "perturb": {"pose_shift": 0.01}}}
    ckpt = train_policy(data, tmp_path / "rows2", TrainingConfig(kind="regression", epochs=1, num_threads=1),
                        model_overrides={"hidden": (8,)}, quiet=True, command="pytest")
    record = json.loads((ckpt / "training.json").read_text())["data"]
    assert record["scene_options"] == {"rows": 2} and record["perturb"] == {"pose_shift": 0.01}
    spec = load_planner(ckpt).spec
    assert recorded_scene_options(spec) == {"rows": 2}
    span = training_range(spec)
    assert span.names[:3] == ("ee_pos[0]", "ee_pos[1]", "ee_pos[2]") and len(span.low) == 5
    assert np.allclose(span.low, data.obs.min(axis=0)) and np.allclose(span.high, data.obs.max(axis=0))
    defaults = {"rows": 1}
    check_scene_options(spec, "obstacle_reach", {"rows": 2}, defaults)          # same geometry: fine
    with pytest.raises(PlannerError, match=r"trained on obstacle_reach with rows=2, not rows=1"):
        check_scene_options(spec, "obstacle_reach", {}, defaults)
    # a checkpoint written before options were recorded loads with the defaults (rows=1)
    training = json.loads((ckpt / "training.json").read_text())
    for key in ("scene_options", "perturb", "obs_range"):
        del training["data"][key]
    (ckpt / "training.json").write_text(json.dumps(training))
    old = load_planner(ckpt).spec
    assert recorded_scene_options(old) == {}
    check_scene_options(old, "obstacle_reach", {"rows": 1}, defaults)
    with pytest.raises(PlannerError, match="with rows=1, not rows=2"):
        check_scene_options(old, "obstacle_reach", {"rows": 2}, defaults)
    # a planner without a training record (a plugin) claims no geometry
    from planners.protocol import PlannerSpec
    check_scene_options(PlannerSpec("plugin", "plugin", "obstacle_reach", 7, 4, 16), "obstacle_reach",
                        {"rows": 2}, defaults)
    # ... and its training range comes from the normaliser stored with the weights
    assert np.allclose(training_range(old).high, data.obs.max(axis=0), atol=1e-6)


def test_an_alarm_is_false_only_when_a_larger_sample_does_not_bear_it_out():
    from planners.mode_verdicts import alarm_supported
    data = {"left": 0.52, "right": 0.48}
    assert alarm_supported("skewed", {"left": 0.14, "right": 0.83}, data)        # the policy's own skew
    assert not alarm_supported("skewed", {"left": 0.40, "right": 0.58}, data)    # noise: within 25 points
    assert alarm_supported("collapsed", {"left": 0.99, "right": 0.01}, data)
    assert not alarm_supported("collapsed", {"left": 0.95, "right": 0.05}, data)  # present at 5 %
    assert alarm_supported("skewed", {"left": 0.99, "right": 0.01}, data)         # worse than skewed
    assert alarm_supported("multimodal", {"left": 0.0, "right": 1.0}, data)


# ---- the command line: scene options and what the reading compares against

def test_sample_cli_refuses_another_geometry_and_names_the_data_it_judged_against(tmp_path, capsys):
    import json

    import pytest
    pytest.importorskip("pybullet")
    from app.cli import main
    from planners.data import DemoData
    from planners.train import train_policy
    from planners.training import TrainingConfig

    rng = np.random.default_rng(0)
    obs = rng.uniform(0.2, 0.8, (40, 7)).astype(np.float32)
    data = DemoData(obs=obs, actions=rng.uniform(0.2, 0.8, (40, 16, 4)).astype(np.float32),
                    episode=np.arange(40) // 10, obs_spec=(("ee_pos", 3), ("gripper", 1), ("target_pos", 3)),
                    scene="obstacle_reach", episode_modes=["LL", "LR", "RL", "RR"], sha256="0" * 64,
                    path="<rows2>", env_args={"env_kwargs": {"rows": 2}})
    ckpt = train_policy(data, tmp_path / "rows2", TrainingConfig(kind="regression", epochs=1, num_threads=1),
                        model_overrides={"hidden": (8,)}, quiet=True, command="pytest")
    assert main(["sample", "--policy", str(ckpt), "--scene", "obstacle_reach", "--num", "4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "rows=2, not rows=1" in err
    assert main(["sample", "--policy", str(ckpt), "--scene", "obstacle_reach", "--option", "rows=2",
                 "--num", "8", "--data-shares", "LL=0.4,LR=0.1,RL=0.1,RR=0.4", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scene_options"] == {"rows": 2}
    assert summary["reference"] == "the shares LL=0.4, LR=0.1, RL=0.1, RR=0.4"
    assert [m["mode"] for m in summary["modes"]] in (["LL", "LR", "RL", "RR"], ["L", "R"])
    assert summary["verdict"] != "collapsed"
    assert main(["sample", "--policy", str(ckpt), "--scene", "obstacle_reach", "--option", "rows=2",
                 "--num", "4", "--data-shares", "LL=2"]) == 2
    assert "--data-shares 'LL=2'" in capsys.readouterr().err


def test_eval_config_keeps_the_data_it_compares_with():
    from app.core.evaluation.config import EvalConfig, RolloutSettings
    from app.core.evaluation.summary import _data_shares

    ref = {"shares": {"left": 0.7, "right": 0.3}, "source": "the shares left=0.7, right=0.3"}
    config = EvalConfig(policies=["p"], seeds=[0], perturbations=[],
                        settings=RolloutSettings(scene="obstacle_reach", scene_options={"rows": 2}),
                        data_reference=ref)
    again = EvalConfig.from_json(config.to_json())
    assert again.data_reference == ref and again.settings.scene_options == {"rows": 2}
    trained = {"policies": [{"extra": {"data_mode_shares": {"left": 0.5, "right": 0.5}}}]}
    assert _data_shares(trained) == {"left": 0.5, "right": 0.5}
    assert _data_shares({**trained, "data_reference": ref}) == {"left": 0.7, "right": 0.3}
