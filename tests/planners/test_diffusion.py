"""Sampling from a small trained diffusion policy: the chain, reproducibility, streaming,
cancellation, temperature, float16 chains, bad input and non-finite values."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from planners import PlannerError, load_planner
from planners.diffusion.config import DiffusionConfig
from planners.modes import analyze_modes
from tests.planners import synthetic

OBS = synthetic.start_obs()


@pytest.mark.parametrize("solver,steps", [("dpmpp", 8), ("ddim", 6), ("ddpm", 10)])
def test_chain_shapes_and_last_step_is_the_plan(bimodal_planner, solver, steps):
    batch = bimodal_planner.plan(OBS, 16, seed=0, solver=solver, steps=steps)
    assert batch.chain.shape == (steps + 1, 16, 16, 4)
    assert batch.x0_estimates.shape == (steps, 16, 16, 4)
    assert batch.timesteps.shape == (steps,) and np.all(np.diff(batch.timesteps) < 0)
    assert batch.step_ms.shape == (steps,) and np.all(batch.step_ms > 0)
    assert np.array_equal(batch.chain[-1], batch.plans)
    assert batch.solver == solver and not batch.cancelled and not batch.has_nonfinite
    # The chain starts as noise (samples disagree on x everywhere) and ends on the data (all
    # samples agree on x, the progress along the path; only y differs between the modes).
    spread_x = lambda x: float(x[:, :, 0].std(axis=0).mean())
    assert spread_x(batch.chain[0]) > 4 * spread_x(batch.plans)
    assert np.abs(batch.plans[:, 0, :3] - [0.05, 0.0, 0.1]).max() < 0.15


def test_ddim_with_a_fixed_seed_is_reproducible(bimodal_planner):
    a = bimodal_planner.plan(OBS, 32, seed=11, solver="ddim", steps=8)
    b = bimodal_planner.plan(OBS, 32, seed=11, solver="ddim", steps=8)
    c = bimodal_planner.plan(OBS, 32, seed=12, solver="ddim", steps=8)
    assert np.array_equal(a.chain, b.chain) and np.array_equal(a.x0_estimates, b.x0_estimates)
    assert not np.allclose(a.plans, c.plans)
    d1 = bimodal_planner.plan(OBS, 8, seed=4, solver="ddpm", steps=10)
    d2 = bimodal_planner.plan(OBS, 8, seed=4, solver="ddpm", steps=10)
    assert np.array_equal(d1.plans, d2.plans)


def test_on_step_streams_every_step_and_cancel_stops_within_one(bimodal_planner):
    seen = []
    bimodal_planner.plan(OBS, 4, seed=0, solver="dpmpp", steps=6,
                         on_step=lambda k, s, partial: seen.append((k, s, partial.chain.shape[0],
                                                                    np.array_equal(partial.plans, partial.chain[-1]))))
    assert seen == [(k, 6, k + 1, True) for k in range(1, 7)]
    polls = []
    cancelled = bimodal_planner.plan(OBS, 4, seed=0, solver="ddpm", steps=20,
                                     cancel=lambda: polls.append(1) or len(polls) > 3)
    assert cancelled.cancelled and cancelled.num_steps == 3 and cancelled.chain.shape[0] == 4
    assert np.array_equal(cancelled.plans, cancelled.chain[-1])


def test_temperature_scales_the_noise(bimodal_planner):
    cold = bimodal_planner.plan(OBS, 64, seed=2, solver="ddpm", steps=10, temperature=0.0)
    assert np.allclose(cold.chain[0], cold.chain[0][0])                        # no initial noise
    assert np.allclose(cold.plans, cold.plans[0], atol=1e-5)                    # no step noise either
    warm = bimodal_planner.plan(OBS, 64, seed=2, solver="ddpm", steps=10, temperature=1.0)
    half = bimodal_planner.plan(OBS, 64, seed=2, solver="ddpm", steps=10, temperature=0.5)
    spread = lambda b: float(bimodal_planner.action_normalizer.normalize(b.chain[0]).std())
    assert spread(half) == pytest.approx(0.5 * spread(warm), rel=1e-4)


def test_float16_chain_halves_memory(bimodal_planner):
    f32 = bimodal_planner.plan(OBS, 8, seed=0, solver="ddim", steps=5)
    f16 = bimodal_planner.plan(OBS, 8, seed=0, solver="ddim", steps=5, chain_dtype="float16")
    assert f16.chain.dtype == np.float16 and f16.plans.dtype == np.float32
    assert f16.chain.nbytes * 2 == f32.chain.nbytes
    assert np.allclose(f16.chain.astype(np.float32), f32.chain, atol=2e-2, rtol=1e-2)


def test_bad_input_is_one_clear_error(bimodal_planner):
    with pytest.raises(PlannerError, match="unknown solver 'euler'.*ddpm, ddim, dpmpp"):
        bimodal_planner.plan(OBS, 4, seed=0, solver="euler")
    with pytest.raises(PlannerError, match="expects observations of size 5, got 9"):
        bimodal_planner.plan(np.zeros(9), 4, seed=0)
    with pytest.raises(PlannerError, match="steps=500 exceeds"):
        bimodal_planner.plan(OBS, 4, seed=0, solver="ddim", steps=500)
    if not torch.cuda.is_available():
        with pytest.raises(PlannerError, match="CUDA is not available"):
            load_planner(bimodal_planner.spec.extra["checkpoint"], device="cuda")


def test_nonfinite_values_are_flagged_not_raised(bimodal_ckpt):
    planner = load_planner(bimodal_ckpt)
    with torch.no_grad():
        next(iter(planner.model.final.parameters())).fill_(float("nan"))
    batch = planner.plan(OBS, 8, seed=0, solver="dpmpp", steps=4)
    assert batch.has_nonfinite and batch.meta["nonfinite_count"] == batch.plans.size
    assert analyze_modes(batch.plans, x0_estimates=batch.x0_estimates).verdict == "invalid"


def test_config_errors_name_the_allowed_values():
    with pytest.raises(ValueError, match="beta_schedule='cosine' is not one of linear, scaled_linear, squaredcos_cap_v2"):
        DiffusionConfig(obs_dim=5, beta_schedule="cosine")
    with pytest.raises(ValueError, match="default_solver='euler' is not one of ddpm, ddim, dpmpp"):
        DiffusionConfig(obs_dim=5, default_solver="euler")
    with pytest.raises(ValueError, match="multiple of n_groups"):
        DiffusionConfig(obs_dim=5, down_dims=(12, 30))
    with pytest.raises(ValueError, match="obs_dim must be a positive integer"):
        DiffusionConfig(obs_dim=0)
    with pytest.raises(ValueError, match="control_solver='heun' is not one of ddpm, ddim, dpmpp"):
        DiffusionConfig(obs_dim=5, control_solver="heun")
    with pytest.raises(ValueError, match="control_steps must be an integer >= 0"):
        DiffusionConfig(obs_dim=5, control_steps=-1)


def test_checkpoints_act_with_their_control_sampler(bimodal_planner):
    """A config without control fields (every checkpoint written before they existed) acts with
    DDPM over the full schedule; the interactive default stays what it was."""
    spec = bimodal_planner.spec
    config = bimodal_planner.config
    assert (spec.default_solver, spec.default_steps) == (config.default_solver, config.default_steps)
    assert spec.control_solver == "ddpm"
    assert spec.control_steps == config.num_train_timesteps
    legacy = {k: v for k, v in config.to_json().items() if not k.startswith("control_")}
    assert DiffusionConfig.from_json(legacy).control_steps_resolved == config.num_train_timesteps


@pytest.mark.parametrize("solver,steps", [("ddpm", 10), ("ddim", 6), ("dpmpp", 8)])
def test_a_batch_replays_exactly_from_its_recorded_noise(bimodal_planner, solver, steps):
    first = bimodal_planner.plan(OBS, 8, seed=21, solver=solver, steps=steps, temperature=0.7)
    args = first.replay_args()
    assert args["initial_noise"].shape == (8, 16, 4) and args["steps"] == steps
    assert args["step_noise"].shape[0] == (steps if solver == "ddpm" else 0)
    replay = bimodal_planner.plan(OBS, **{**args, "seed": 999})   # the noise decides, not the seed
    assert np.array_equal(replay.chain, first.chain) and np.array_equal(replay.x0_estimates, first.x0_estimates)
    fresh = bimodal_planner.plan(OBS, 8, seed=999, solver=solver, steps=steps, temperature=0.7)
    assert not np.allclose(fresh.plans, first.plans)


def test_the_dict_observation_gives_the_flat_vectors_plans(bimodal_planner):
    spec = bimodal_planner.spec
    assert [f.name for f in spec.features] == [k for k, _ in spec.obs_keys] and spec.n_obs_steps == 1
    sizes = np.cumsum([0] + [f.size for f in spec.features])
    obs = {f.name: OBS[None, a:b] for f, a, b in zip(spec.features, sizes[:-1], sizes[1:])}
    from_dict = bimodal_planner.plan(obs, 8, seed=4, solver="ddim", steps=5)
    assert np.array_equal(from_dict.plans, bimodal_planner.plan(OBS, 8, seed=4, solver="ddim", steps=5).plans)
    with pytest.raises(PlannerError, match=r"observation '.*' has shape \[\d\], expected \[To=1, \d\]"):
        bimodal_planner.plan({k: v[0] for k, v in obs.items()}, 8, seed=4)
