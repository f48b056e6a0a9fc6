"""planscope's LeRobot adapter against LeRobot's own outputs (fixtures made by the real library).

Every reference is opened through the one loader (planners.loading.load_planner), weights loaded
with strict=True; given the raw observation history, initial noise and step noise LeRobot used,
the plans must equal LeRobot's conditional_sample (after its postprocessor) and the executed chunk
its predict_action_chunk, to 1e-4 of each action dimension's range.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from planners.loading import load_planner
from planners.protocol import PlannerError
from tests.planners.lerobot.conftest import FIXTURES, POLICIES, observation, read_golden

TOLERANCE = 1e-4   # of the action range, per dimension


def _replay(planner, arrays):
    step_noise = arrays["step_noise"] if len(arrays["step_noise"]) else None
    return planner.plan(observation(arrays), len(arrays["initial_noise"]), seed=0,
                        initial_noise=arrays["initial_noise"], step_noise=step_noise)


@pytest.mark.parametrize("name", POLICIES)
def test_plans_equal_lerobot_action_chunks(name, lerobot_policy_dir):
    arrays, meta = read_golden(name)
    planner = load_planner(lerobot_policy_dir(name))
    assert planner.spec.default_solver == meta["scheduler"].lower()
    assert planner.spec.default_steps == meta["num_steps"]
    batch = _replay(planner, arrays)

    full, chunk = arrays["full"], arrays["chunk"]
    scale = full.max(axis=(0, 1)) - full.min(axis=(0, 1))
    assert np.all(scale > 0)
    assert list(batch.timesteps) == meta["timesteps"]
    assert np.max(np.abs(batch.plans - full) / scale) <= TOLERANCE
    start, ta = planner.spec.action_start, planner.spec.n_action_steps
    assert (start, ta) == (meta["n_obs_steps"] - 1, meta["n_action_steps"])
    assert np.max(np.abs(batch.plans[:, start:start + ta] - chunk) / scale) <= TOLERANCE
    # the chain is kept: x_T first, the plans last, one x0-estimate per step
    assert batch.chain.shape == (meta["num_steps"] + 1, *full.shape)
    assert batch.x0_estimates.shape == (meta["num_steps"], *full.shape)
    np.testing.assert_array_equal(batch.chain[-1], batch.plans)
    np.testing.assert_array_equal(batch.initial_noise, arrays["initial_noise"])
    np.testing.assert_array_equal(batch.step_noise, arrays["step_noise"])


@pytest.mark.parametrize("name", POLICIES)
def test_global_condition_equals_lerobot(name, lerobot_policy_dir):
    """Normalisation (processor files or in-file buffers) and the camera encoder, before sampling."""
    arrays, _ = read_golden(name)
    planner = load_planner(lerobot_policy_dir(name))
    cond = planner.global_condition(observation(arrays))[0].numpy()
    np.testing.assert_allclose(cond, arrays["global_cond"][0], atol=1e-5)


def test_other_noise_gives_other_plans(lerobot_policy_dir):
    """The goldens are not met by accident: different step noise moves the plans."""
    arrays, _ = read_golden("lowdim_044_ddpm")
    planner = load_planner(lerobot_policy_dir("lowdim_044_ddpm"))
    moved = planner.plan(observation(arrays), 4, seed=0, initial_noise=arrays["initial_noise"],
                         step_noise=arrays["step_noise"][::-1].copy())
    assert np.max(np.abs(moved.plans - arrays["full"])) > 1e-2


def test_seeded_sample_replays_exactly_and_other_solvers_run(lerobot_policy_dir):
    arrays, _ = read_golden("lowdim_033")
    planner = load_planner(lerobot_policy_dir("lowdim_033"))
    obs = observation(arrays)
    first = planner.plan(obs, 3, seed=7)
    again = planner.plan(obs, 3, seed=0, initial_noise=first.initial_noise, step_noise=first.step_noise)
    np.testing.assert_array_equal(first.plans, again.plans)
    for solver, steps in (("ddim", 10), ("dpmpp", 8)):
        batch = planner.plan(obs, 3, seed=1, solver=solver, steps=steps)
        assert batch.chain.shape[0] == steps + 1 and np.isfinite(batch.plans).all()


def test_spec_describes_the_policy_for_the_policy_panel(lerobot_policy_dir):
    arrays, meta = read_golden("camera_044")
    spec = load_planner(lerobot_policy_dir("camera_044")).spec
    assert spec.kind == "diffusion" and spec.library == "lerobot >= 0.4 (processor files)"
    assert [(f.name, f.kind, f.shape) for f in spec.features] == [
        ("observation.state", "state", (2,)), ("observation.images.front", "image", (40, 48, 3)),
        ("observation.images.wrist", "image", (40, 48, 3)), ("observation.environment_state", "environment", (3,))]
    assert (spec.n_obs_steps, spec.horizon, spec.n_action_steps, spec.action_dim) == (2, 8, 4, 2)
    assert spec.num_parameters == meta["num_parameters"]
    extra = spec.extra
    assert extra["source_library"] == "lerobot" and "processor" in extra["version"]
    assert extra["scheduler"]["type"] == "DDPM" and extra["scheduler"]["num_inference_steps"] == 10
    assert extra["scheduler"]["solver"] == "ddpm" and extra["scheduler"]["timestep_spacing"] == "leading"
    norm = extra["normalization"]
    assert norm["layout"] == "processor"
    assert norm["features"]["observation.images.front"]["mode"] == "MEAN_STD"
    assert norm["features"]["action"]["mode"] == "MIN_MAX" and len(norm["features"]["action"]["min"]) == 2
    assert extra["vision"]["use_group_norm"] is True and extra["vision"]["crop_shape"] == [32, 40]
    old = load_planner(lerobot_policy_dir("lowdim_033")).spec
    assert old.extra["normalization"]["layout"] == "buffers" and old.library.startswith("lerobot <= 0.3")


def test_observation_missing_a_feature_is_one_line(lerobot_policy_dir):
    arrays, _ = read_golden("camera_044")
    planner = load_planner(lerobot_policy_dir("camera_044"))
    obs = observation(arrays)
    del obs["observation.images.wrist"]
    with pytest.raises(PlannerError, match="observation.images.wrist"):
        planner.plan(obs, 2, seed=0)


def test_resnet18_matches_torchvision():
    """planners/nets/resnet.py on fixed weights vs torchvision 0.22.1's resnet18 (golden made there)."""
    import sys
    from safetensors.numpy import load_file

    from planners.nets.resnet import ResNet18
    sys.path.insert(0, str(FIXTURES))
    try:
        from recipe import resnet18_input, resnet18_weights
    finally:
        sys.path.remove(str(FIXTURES))
    golden = load_file(str(FIXTURES / "resnet18" / "golden.safetensors"))
    model = ResNet18(num_classes=10).eval()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict({k: torch.from_numpy(v) for k, v in resnet18_weights(shapes).items()}, strict=True)
    x = torch.from_numpy(resnet18_input())
    with torch.no_grad():
        logits, layer4 = model(x).numpy(), model.trunk()(x).numpy()
    np.testing.assert_allclose(layer4, golden["layer4"], atol=1e-4 * np.abs(golden["layer4"]).max())
    np.testing.assert_allclose(logits, golden["logits"], atol=1e-4 * np.abs(golden["logits"]).max())
    assert np.abs(golden["logits"]).max() > 0.1   # not a degenerate golden


def test_group_norm_resnet_has_lerobot_groups_and_no_running_stats():
    from planners.nets.resnet import resnet18_trunk
    trunk = resnet18_trunk("group")
    norms = [m for m in trunk.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert len(norms) == 20 and all(m.num_groups == m.num_channels // 16 for m in norms)
    assert not any("running" in key for key in trunk.state_dict())
