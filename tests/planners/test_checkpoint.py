"""Checkpoints: round trip, provenance, determinism of training, reading demos from a recording,
and one clear error for every broken checkpoint."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from planners import PlannerError, load_planner
from planners.data import load_demo_pairs
from tests.planners import synthetic


def test_round_trip_gives_identical_plans_and_keeps_provenance(bimodal_ckpt, bimodal_planner, tmp_path):
    files = sorted(p.name for p in bimodal_ckpt.iterdir())
    assert files == ["config.json", "model.safetensors", "normalizer.json", "training.json"]
    assert not any(open(p, "rb").read(2) == b"\x80\x04" for p in bimodal_ckpt.iterdir())   # no pickle
    copy = tmp_path / "copy"
    shutil.copytree(bimodal_ckpt, copy)
    again = load_planner(copy)
    a = bimodal_planner.plan(synthetic.start_obs(), 8, seed=1, solver="ddim", steps=5)
    b = again.plan(synthetic.start_obs(), 8, seed=1, solver="ddim", steps=5)
    assert np.array_equal(a.chain, b.chain)
    training = json.loads((bimodal_ckpt / "training.json").read_text())
    assert training["weights"] == "ema" and training["command"] == "pytest"
    assert training["data"]["mode_shares"] == {"left": 0.5, "right": 0.5}
    assert training["data"]["scene"] == "synthetic_bimodal" and training["data"]["episodes"] == 40
    assert len(training["data"]["sha256"]) == 64 and training["git_commit"]
    assert again.spec.extra["data_mode_shares"] == {"left": 0.5, "right": 0.5}
    assert again.spec.obs_dim == 5 and again.spec.obs_keys == synthetic.OBS_SPEC


def test_training_is_deterministic_for_a_seed(tmp_path):
    from planners.train import train_policy
    from planners.training import TrainingConfig
    data = synthetic.make_data(episodes=8, seed=2)
    outs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        cfg = TrainingConfig(kind="diffusion", epochs=2, seed=seed, batch_size=64, num_threads=1)
        outs.append(train_policy(data, tmp_path / name, cfg, model_overrides={"down_dims": (8, 16)}, quiet=True))
    from safetensors.numpy import load_file
    weights = [load_file(str(o / "model.safetensors")) for o in outs]
    same = lambda a, b: a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert same(weights[0], weights[1]) and not same(weights[0], weights[2])


def test_progress_bar_reports_loss_and_eta(tmp_path):
    import io
    from planners.train import train_policy
    from planners.training import TrainingConfig
    stream = io.StringIO()
    train_policy(synthetic.make_data(episodes=4), tmp_path / "r", TrainingConfig(kind="regression", epochs=3,
                 num_threads=1), progress_stream=stream)
    text = stream.getvalue()
    assert "epoch 3/3" in text and "loss" in text and "ETA" in text


def _write_demo_recording(path, episodes=6, failed=0):
    from recordings.rollout import Rollout
    from recordings.writer import RecordingWriter
    data = synthetic.make_data(episodes=episodes, left_share=0.5, seed=1)
    env_args = {"env_name": "synthetic_bimodal", "type": "planscope", "env_kwargs": {},
                "obs_spec": [list(k) for k in synthetic.OBS_SPEC]}
    rng = np.random.default_rng(0)
    with RecordingWriter(str(path), env_args=env_args, config={}, seed_panel=list(range(episodes + failed)),
                         kind="demos") as writer:
        for i in range(episodes + failed):
            side = 1 if i < episodes // 2 else -1
            obs, actions = synthetic.episode(side, np.array([0.5, 0.0]), rng)
            writer.write_rollout(Rollout(obs={"ee_pos": obs[:, :3], "obstacle": obs[:, 3:]}, actions=actions,
                                         states=np.zeros((len(actions), 1)), rewards=np.zeros(len(actions)),
                                         dones=np.zeros(len(actions), bool), seed=i, policy="expert", success=i < episodes,
                                         mode="left" if side > 0 else "right"))
    return data


def test_demo_pairs_from_a_recording_are_padded_chunks(tmp_path):
    path = tmp_path / "demos.h5"
    _write_demo_recording(path, failed=1)
    data = load_demo_pairs(path, horizon=16)
    assert data.skipped_failed == 1 and data.num_episodes == 6
    assert data.obs.shape == (6 * synthetic.T, 5) and data.actions.shape == (6 * synthetic.T, 16, 4)
    assert data.scene == "synthetic_bimodal" and data.mode_shares() == {"left": 0.5, "right": 0.5}
    last = data.actions[synthetic.T - 1]           # last step of episode 0: padded with its last action
    assert np.array_equal(last, np.repeat(last[:1], 16, axis=0))
    assert np.array_equal(data.actions[1, 0], data.actions[0, 1])   # chunk t+1 starts where chunk t's 2nd step is


def test_train_cli_writes_a_checkpoint(tmp_path, capsys):
    from app.cli import main
    path = tmp_path / "demos.h5"
    _write_demo_recording(path, episodes=4)
    rc = main(["train", "--data", str(path), "--kind", "regression", "--out", str(tmp_path / "ck"),
               "--epochs", "2", "--threads", "1"])
    assert rc == 0 and (tmp_path / "ck" / "model.safetensors").is_file()
    assert "epoch 2/2" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "missing.h5"), "--kind", "diffusion",
                 "--out", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("breakage,message", [
    ("missing_dir", "does not exist"),
    ("no_config", "config.json' is missing"),
    ("bad_json", "not valid JSON"),
    ("wrong_kind", "kind 'gan' is not one of diffusion, regression"),
    ("corrupt_weights", "corrupt weights file"),
    ("no_weights", "has no model.safetensors"),
    ("mismatched_weights", "weights do not match config.json"),
    ("file_not_dir", "is not a directory"),
])
def test_broken_checkpoints_give_one_clear_error(bimodal_ckpt, tmp_path, breakage, message):
    ck = tmp_path / "ck"
    shutil.copytree(bimodal_ckpt, ck)
    config = json.loads((ck / "config.json").read_text())
    if breakage == "missing_dir":
        ck = tmp_path / "nowhere"
    elif breakage == "no_config":
        (ck / "config.json").unlink()
    elif breakage == "bad_json":
        (ck / "config.json").write_text("{not json")
    elif breakage == "wrong_kind":
        config["kind"] = "gan"
        (ck / "config.json").write_text(json.dumps(config))
    elif breakage == "corrupt_weights":
        (ck / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    elif breakage == "no_weights":
        (ck / "model.safetensors").unlink()
    elif breakage == "mismatched_weights":
        config["model"]["down_dims"] = [32, 64]
        (ck / "config.json").write_text(json.dumps(config))
    elif breakage == "file_not_dir":
        ck = tmp_path / "file"
        ck.write_text("x")
    with pytest.raises(PlannerError, match=message) as info:
        load_planner(ck)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("key", ["diffusion_ddpm_100_1.0", "diffusion_ddim_10_1.0", "diffusion_dpmpp_16_1.0",
                                 "diffusion_ddpm_20_0.5", "regression"])
def test_shipped_checkpoints_give_the_plans_they_gave_before(key):
    """Plans of resources/checkpoints sampled when the goldens were made
    (tests/planners/goldens/make_checkpoint_goldens.py: first by the planner code before the
    protocol's next version; re-sampled when the checkpoints were retrained on paired demos).
    Equal to float rounding: the U-Net's kernels may change the last bits (1 thread here)."""
    from pathlib import Path

    import torch
    goldens = np.load(Path(__file__).parent / "goldens" / "checkpoint_plans.npz")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if key == "regression":
            batch = load_planner("resources/checkpoints/mug_grasp_regression").plan(goldens["obs"], 2, seed=0)
        else:
            _, solver, steps, temperature = key.split("_")
            planner = load_planner("resources/checkpoints/mug_grasp_diffusion")
            batch = planner.plan(goldens["obs"], 8, seed=3, solver=solver, steps=int(steps),
                                 temperature=float(temperature))
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(batch.plans, goldens[key], atol=2e-5, rtol=0)


def test_policy_configs_share_one_json_round_trip():
    from planners.diffusion.config import DiffusionConfig
    from planners.regression.config import RegressionConfig

    for config in (DiffusionConfig(obs_dim=5, obs_spec=(("a", 3), ("b", 2))),
                   RegressionConfig(obs_dim=5, hidden=(8, 8), obs_spec=(("a", 3), ("b", 2)))):
        payload = json.loads(json.dumps(config.to_json()))
        assert payload["obs_spec"] == [["a", 3], ["b", 2]]
        assert type(config).from_json(payload) == config
        with pytest.raises(ValueError, match=f"unknown {type(config).__name__} fields \\['depth'\\]"):
            type(config).from_json({**payload, "depth": 3})
        with pytest.raises(ValueError, match=f"{type(config).__name__}.obs_spec sums to 4, obs_dim is 5"):
            type(config)(obs_dim=5, obs_spec=(("a", 4),))
    with pytest.raises(ValueError, match="RegressionConfig.activation='gelu' is not one of relu, silu, tanh"):
        RegressionConfig(obs_dim=5, activation="gelu")
