"""diffusion_policy checkpoints written by diffusion_policy itself, against its own action chunks.

The fixtures (fixtures/make_fixtures.py, run in a scratch venv with diffusion_policy's source and
its diffusers 0.11.1) are real workspace checkpoints, and each .npz holds the raw observation
history, the initial and per-step noise diffusion_policy's `predict_action` consumed, and what it
returned. planscope must give the same plans to 1e-4 of the action range.
"""
from __future__ import annotations

import lzma
from pathlib import Path

import numpy as np
import pytest
import torch

from planners.diffusion_policy.loading import load_dp_checkpoint
from planners.loading import load_planner
from planners.nets.unet1d import ConditionalUnet1D
from planners.safe_pickle import load_torch_archive

FIXTURES = Path(__file__).parent / "fixtures"
LOWDIM = ["lowdim_global_ddpm", "lowdim_local_ddim", "lowdim_local_ddpm_sample", "lowdim_steps_only_ddim_noema",
          "transformer_lowdim_ddpm"]
IMAGE = ["image_separate_gn_ddpm", "image_shared_bn_ddim"]


@pytest.fixture(autouse=True)
def float32_only(monkeypatch):
    """The comparisons are float32 against float32: reduced precision (planners.acceleration picks
    bfloat16 by measurement when its fidelity check passes) would be a different, looser contract."""
    monkeypatch.setenv("PLANSCOPE_PRECISION", "float32")


@pytest.fixture(scope="module")
def image_ckpts(tmp_path_factory) -> dict[str, Path]:
    """The image references are committed xz-packed (their ResNet weights compress ~25x); the
    unpacked bytes are exactly the .ckpt diffusion_policy wrote."""
    folder = tmp_path_factory.mktemp("dp_image")
    out = {}
    for name in IMAGE:
        path = folder / f"{name}.ckpt"
        path.write_bytes(lzma.decompress((FIXTURES / f"{name}.ckpt.xz").read_bytes()))
        out[name] = path
    return out


def _observation(golden) -> dict[str, np.ndarray]:
    if "obs" in golden:
        return {"obs": golden["obs"]}
    return {"image": golden["image"], "wrist": golden["wrist"], "agent_pos": golden["agent_pos"]}


def _check_against_reference(planner, golden) -> None:
    spec = planner.spec
    n = golden["initial_noise"].shape[0]
    step_noise = golden["step_noise"] if spec.default_solver == "ddpm" else None
    batch = planner.plan(_observation(golden), n, seed=0, initial_noise=golden["initial_noise"],
                         step_noise=step_noise)
    reference = golden["action_pred"]
    tolerance = 1e-4 * float(reference.max() - reference.min())
    assert batch.plans.shape == reference.shape
    np.testing.assert_allclose(batch.plans, reference, rtol=0, atol=tolerance)
    start = spec.action_start
    executed = batch.plans[:, start:start + spec.n_action_steps]
    np.testing.assert_allclose(executed, golden["action"], rtol=0, atol=tolerance)
    # the chain is kept: x_T first, the plans last, one x0-estimate per step
    assert batch.chain.shape[0] == spec.default_steps + 1 == batch.x0_estimates.shape[0] + 1
    np.testing.assert_array_equal(batch.chain[-1], batch.plans)
    np.testing.assert_array_equal(batch.initial_noise, golden["initial_noise"])
    if spec.default_solver != "ddpm":   # (kept to the few-step references: the suite's time)
        # without the recorded noise the plans differ (so the comparison above is not vacuous)
        other = planner.plan(_observation(golden), n, seed=123)
        assert np.abs(other.plans - reference).max() > 100 * tolerance


@pytest.mark.parametrize("name", LOWDIM)
def test_lowdim_reference_matches_diffusion_policy(name):
    planner = load_planner(FIXTURES / f"{name}.ckpt")        # dispatched by the one loader
    golden = np.load(FIXTURES / f"{name}.npz")
    assert planner.spec.library == "diffusion_policy"
    assert planner.spec.features[0].name == "obs"
    _check_against_reference(planner, golden)


@pytest.mark.parametrize("name", IMAGE)
def test_image_reference_matches_diffusion_policy(name, image_ckpts):
    planner = load_dp_checkpoint(image_ckpts[name])
    golden = np.load(FIXTURES / f"{name}.npz")
    kinds = {f.name: (f.kind, f.shape) for f in planner.spec.features}
    assert kinds == {"image": ("image", (32, 32, 3)), "wrist": ("image", (32, 32, 3)),
                     "agent_pos": ("state", (2,))}
    _check_against_reference(planner, golden)


def test_spec_reads_horizons_scheduler_and_ema():
    planner = load_dp_checkpoint(FIXTURES / "lowdim_global_ddpm.ckpt")
    spec = planner.spec
    assert (spec.horizon, spec.n_obs_steps, spec.n_action_steps, spec.action_dim) == (16, 2, 8, 2)
    assert (spec.default_solver, spec.default_steps) == ("ddpm", 100)
    assert spec.extra["weights"] == "ema_model" and spec.action_start == 1
    assert spec.extra["scheduler"]["beta_schedule"] == "squaredcos_cap_v2"
    no_ema = load_dp_checkpoint(FIXTURES / "lowdim_steps_only_ddim_noema.ckpt").spec
    assert no_ema.extra["weights"] == "model" and no_ema.horizon == 8 and no_ema.action_start == 0
    assert (no_ema.default_solver, no_ema.default_steps) == ("ddim", 8)


def test_ema_weights_are_the_ones_used():
    """The EMA copy differs from the model in the reference; the model's weights miss the golden."""
    payload = load_torch_archive(FIXTURES / "lowdim_local_ddim.ckpt")
    planner = load_dp_checkpoint(FIXTURES / "lowdim_local_ddim.ckpt")
    assert planner.spec.extra["weights"] == "ema_model"
    model_weights = {k[len("model."):]: v for k, v in payload["state_dicts"]["model"].items()
                     if k.startswith("model.")}
    planner.module.model.load_state_dict(model_weights, strict=True)
    golden = np.load(FIXTURES / "lowdim_local_ddim.npz")
    batch = planner.plan(_observation(golden), 4, seed=0, initial_noise=golden["initial_noise"])
    assert np.abs(batch.plans - golden["action_pred"]).max() > 1.0


def test_unet_is_key_compatible_and_lerobot_names():
    payload = load_torch_archive(FIXTURES / "lowdim_local_ddim.ckpt")
    state = {k[len("model."):]: v for k, v in payload["state_dicts"]["ema_model"].items() if k.startswith("model.")}
    assert any(".blocks.1.block.0." in k for k in state) and any(k.startswith("local_cond_encoder.") for k in state)
    lerobot = ConditionalUnet1D(2, global_cond_dim=6, diffusion_step_embed_dim=16, down_dims=(16, 32),
                                block_names=("conv1", "conv2"))
    keys = set(lerobot.state_dict())
    assert "down_modules.0.0.conv1.block.0.weight" in keys and not any(".blocks." in k for k in keys)
    x = torch.randn(3, 8, 2)
    assert lerobot(x, torch.tensor(5), global_cond=torch.randn(3, 6)).shape == (3, 8, 2)


def test_chain_callbacks_solvers_and_replay_through_the_boundary():
    """planscope's guarded call: every solver on a diffusion_policy checkpoint, partial chains per
    step, and a batch replayed from the noise it recorded."""
    from planners.protocol import run_planner

    planner = load_planner(FIXTURES / "lowdim_local_ddim.ckpt")
    obs = _observation(np.load(FIXTURES / "lowdim_local_ddim.npz"))
    seen = []
    batch = run_planner(planner, obs, 3, seed=4, on_step=lambda k, s, partial: seen.append((k, s, partial.chain.shape[0])))
    assert seen == [(k, 10, k + 1) for k in range(1, 11)] and batch.solver == "ddim"
    for solver, steps in (("ddpm", 12), ("dpmpp", 6)):
        batch = run_planner(planner, obs, 3, seed=4, solver=solver, steps=steps)
        assert batch.plans.shape == (3, 16, 2) and np.isfinite(batch.plans).all()
        assert batch.x0_estimates.shape == (steps, 3, 16, 2)
        args = batch.replay_args()
        again = run_planner(planner, obs, args.pop("num_samples"), **{**args, "seed": 99})
        np.testing.assert_array_equal(again.plans, batch.plans)
    assert batch.meta["library"] == "diffusion_policy"


def test_image_config_errors_name_the_field(image_ckpts):
    from planners.diffusion_policy.config import ConfigError, parse_config

    cfg = load_torch_archive(image_ckpts["image_shared_bn_ddim"])["cfg"]
    config = parse_config(cfg)
    assert config.encoder.rgb_keys == ("image", "wrist") and config.encoder.share_rgb_model
    assert config.unet.global_cond_dim == (512 * 2 + 2) * 2
    cfg["policy"]["obs_encoder"]["rgb_model"]["name"] = "resnet34"
    with pytest.raises(ConfigError, match="rgb_model must be get_resnet"):
        parse_config(cfg)
    cfg["policy"]["obs_encoder"]["rgb_model"]["name"] = "resnet18"
    cfg["policy"]["shape_meta"]["obs"]["image"]["type"] = "depth"
    with pytest.raises(ConfigError, match="policy.shape_meta.obs.image.type 'depth'"):
        parse_config(cfg)
