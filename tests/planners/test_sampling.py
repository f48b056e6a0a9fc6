"""planners.sampling: the one chain-keeping sampler. Exact replay from recorded noise for every
solver, the seed's draws equal diffusers' own loop (what LeRobot and diffusion_policy run),
epsilon / sample / v prediction, clipping, and bad noise refused in one line."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from planners.protocol import PlannerError
from planners.sampling import SchedulerSettings, make_scheduler, noise_steps, sample_chain
from recordings.plan_batch import PlanBatch

N, H, D = 6, 8, 3
CLEAN = torch.linspace(-0.6, 0.6, H * D).reshape(1, H, D)   # the one "data" plan, normalised


def oracle(settings: SchedulerSettings):
    """model_fn of a perfect denoiser for data = CLEAN: predicts epsilon, x0 or v exactly."""
    abar = make_scheduler(settings, "ddpm").alphas_cumprod

    def model_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = abar[int(t)]
        if settings.prediction_type == "sample":
            return CLEAN.expand_as(x).clone()
        eps = (x - a.sqrt() * CLEAN) / (1 - a).sqrt()
        if settings.prediction_type == "epsilon":
            return eps
        return a.sqrt() * eps - (1 - a).sqrt() * CLEAN        # v
    return model_fn


def wobbly(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A model whose output depends on x and t nonlinearly (as a network's does)."""
    return torch.tanh(0.7 * x + 0.01 * t.float()) * 0.9 + 0.05 * x.roll(1, dims=1)


def identity(x: torch.Tensor) -> np.ndarray:
    return x.detach().float().cpu().numpy()


def run(settings, solver, steps, **kw):
    kw.setdefault("seed", 0)
    return sample_chain(kw.pop("model_fn", wobbly), settings, num_samples=kw.pop("n", N), horizon=H,
                        action_dim=D, solver=solver, steps=steps, to_actions=identity, **kw)


@pytest.mark.parametrize("solver,steps", [("ddpm", 100), ("ddpm", 12), ("ddim", 10), ("dpmpp", 8)])
@pytest.mark.parametrize("prediction", ["epsilon", "sample"])
def test_recorded_noise_replays_exactly(solver, steps, prediction):
    settings = SchedulerSettings(prediction_type=prediction)
    first = run(settings, solver, steps, seed=5, temperature=0.8)
    assert first.initial_noise.shape == (N, H, D)
    assert first.step_noise.shape == (noise_steps(settings, solver, steps), N, H, D)
    again = run(settings, solver, steps, seed=123, **{k: v for k, v in first.replay_args().items()
                                                     if k not in ("seed", "num_samples", "solver", "steps")})
    assert np.array_equal(again.chain, first.chain) and np.array_equal(again.x0_estimates, first.x0_estimates)
    assert np.array_equal(again.step_noise, first.step_noise)
    if solver == "ddpm":   # the replay really used the given step noise, not the seed's
        other = run(settings, solver, steps, seed=5, temperature=0.8, initial_noise=first.initial_noise,
                    step_noise=np.flip(first.step_noise, axis=1))
        assert not np.allclose(other.plans, first.plans)


def test_ddpm_step_noise_count_follows_the_schedule():
    # Full schedule ends at t = 0: S - 1 draws. Trailing spacing with S < T stops above 0: S draws.
    assert noise_steps(SchedulerSettings(), "ddpm", 100) == 99
    assert noise_steps(SchedulerSettings(), "ddpm", 10) == 10
    assert noise_steps(SchedulerSettings(timestep_spacing="leading"), "ddpm", 10) == 9
    assert noise_steps(SchedulerSettings(), "ddim", 10) == noise_steps(SchedulerSettings(), "dpmpp", 10) == 0


@pytest.mark.parametrize("spacing,steps", [("leading", 25), ("trailing", 25), ("trailing", 100)])
@pytest.mark.parametrize("prediction,clip", [("epsilon", True), ("epsilon", False), ("sample", True),
                                             ("v_prediction", True)])
def test_seeded_draws_equal_diffusers_own_ddpm_loop(spacing, steps, prediction, clip):
    """What LeRobot's and diffusion_policy's conditional_sample do with a generator: one randn for
    x_T, then scheduler.step(..., generator=g) at every step. Same seed -> bit-equal chain and
    x0-estimates (planscope's DDPM step is diffusers' arithmetic with the noise given)."""
    settings = SchedulerSettings(prediction_type=prediction, timestep_spacing=spacing, beta_schedule="linear",
                                 clip_sample=clip)
    batch = run(settings, "ddpm", steps, seed=9)
    g = torch.Generator().manual_seed(9)
    scheduler = make_scheduler(settings, "ddpm")
    scheduler.set_timesteps(steps)
    x = torch.randn((N, H, D), generator=g)
    for k, t in enumerate(scheduler.timesteps):
        out = scheduler.step(wobbly(x, t), t, x, generator=g)
        x = out.prev_sample
        assert np.array_equal(batch.chain[k + 1], x.numpy())
        assert np.array_equal(batch.x0_estimates[k], out.pred_original_sample.numpy())


def test_given_noise_with_temperature_scales_both_draws():
    settings = SchedulerSettings()
    cold = run(settings, "ddpm", 10, temperature=0.0)
    assert np.all(cold.chain[0] == 0) and np.allclose(cold.plans, cold.plans[0], atol=1e-6)
    hot = run(settings, "ddpm", 10, temperature=1.0)
    assert np.array_equal(hot.initial_noise, cold.initial_noise)   # recorded unscaled: same draw
    assert hot.plans.std(axis=0).mean() > 10 * cold.plans.std(axis=0).mean()


@pytest.mark.parametrize("solver,steps", [("ddpm", 100), ("ddim", 20), ("dpmpp", 12)])
@pytest.mark.parametrize("prediction", ["epsilon", "sample", "v_prediction"])
def test_every_solver_and_prediction_type_denoises_to_the_data(solver, steps, prediction):
    settings = SchedulerSettings(prediction_type=prediction, timestep_spacing="leading")
    batch = run(settings, solver, steps, model_fn=oracle(settings), seed=1)
    # A perfect denoiser of a one-plan data set: every sample ends on that plan, and the last
    # x0-estimates are that plan too, while the chain starts as unit noise.
    assert np.abs(batch.plans - CLEAN.numpy()).max() < 2e-2
    assert np.abs(batch.x0_estimates[-1] - CLEAN.numpy()).max() < 2e-2
    assert 0.6 < batch.chain[0].std() < 1.4
    assert batch.timesteps.shape == (steps,) and np.all(np.diff(batch.timesteps) < 0)


@pytest.mark.parametrize("solver", ["ddpm", "ddim", "dpmpp"])
def test_clip_sample_bounds_the_x0_estimates(solver):
    far = lambda x, t: torch.full_like(x, 3.0)                    # x0 prediction outside [-1, 1]
    clipped = run(SchedulerSettings(clip_sample=True), solver, 10, model_fn=far)
    free = run(SchedulerSettings(clip_sample=False), solver, 10, model_fn=far)
    assert np.abs(clipped.x0_estimates).max() <= 1.0 + 1e-6 and np.abs(clipped.plans - 1.0).max() < 0.05
    assert np.allclose(free.x0_estimates, 3.0) and np.abs(free.plans - 3.0).max() < 0.05


def test_a_subset_of_samples_replays_to_float_rounding():
    settings = SchedulerSettings(prediction_type="epsilon")
    batch = run(settings, "ddpm", 20, seed=2, n=12)
    args = batch.replay_args([3, 7])
    assert args["initial_noise"].shape == (2, H, D) and args["step_noise"].shape == (20, 2, H, D)
    part = run(settings, "ddpm", 20, seed=args["seed"], n=2, initial_noise=args["initial_noise"],
               step_noise=args["step_noise"])
    np.testing.assert_allclose(part.plans, batch.plans[[3, 7]], atol=1e-5)


def test_stream_and_cancel_carry_the_noise_used_so_far():
    partial_noise = []
    run(SchedulerSettings(), "ddpm", 5, on_step=lambda k, s, p: partial_noise.append(p.step_noise.shape[0]))
    assert partial_noise == [1, 2, 3, 4, 5]
    polls = []
    stopped = run(SchedulerSettings(), "ddpm", 5, cancel=lambda: polls.append(1) or len(polls) > 2)
    assert stopped.cancelled and stopped.num_steps == 2 and stopped.step_noise.shape[0] == 2


@pytest.mark.parametrize("kwargs,message", [
    ({"initial_noise": np.zeros((N, H))}, "initial_noise has shape [6, 8], expected [6, 8, 3]"),
    ({"initial_noise": np.full((N, H, D), np.nan)}, "initial_noise holds NaN or inf values"),
    ({"initial_noise": np.array([["a"]])}, "initial_noise must hold numbers"),
    ({"step_noise": np.zeros((3, N, H, D))}, "step_noise has shape [3, 6, 8, 3], expected [10, 6, 8, 3]"),
    ({"solver": "ddim", "step_noise": np.zeros((9, N, H, D))}, "solver 'ddim' adds no noise"),
    ({"solver": "euler"}, "unknown solver 'euler' (allowed: ddpm, ddim, dpmpp)"),
    ({"steps": 0}, "steps must be a positive integer"),
    ({"steps": 101}, "steps=101 exceeds the 100 training timesteps"),
    ({"temperature": -1.0}, "temperature must be a finite number >= 0"),
    ({"chain_dtype": "int8"}, "chain_dtype 'int8' is not one of float32, float16"),
])
def test_bad_arguments_are_one_line(kwargs, message):
    kwargs = {"solver": "ddpm", "steps": 10, **kwargs}
    with pytest.raises(PlannerError) as err:
        run(SchedulerSettings(), kwargs.pop("solver"), kwargs.pop("steps"), **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_settings_are_validated_and_round_trip():
    settings = SchedulerSettings(prediction_type="epsilon", beta_schedule="linear", clip_sample_range=2.0)
    assert SchedulerSettings.from_json(settings.to_json()) == settings
    with pytest.raises(ValueError, match="prediction_type='noise' is not one of epsilon, sample, v_prediction"):
        SchedulerSettings(prediction_type="noise")
    with pytest.raises(ValueError, match="unknown SchedulerSettings fields"):
        SchedulerSettings.from_json({"num_train_timesteps": 10, "karras": True})


def test_plan_batch_validates_its_noise_and_a_chainless_batch_has_none_to_replay():
    plans = np.zeros((4, H, D), np.float32)
    with pytest.raises(ValueError, match=r"initial_noise must be \[4,8,3\]"):
        PlanBatch.without_chain(plans, solver="x", seed=0, initial_noise=np.zeros((4, H)))
    with pytest.raises(ValueError, match=r"step_noise must be \[K,4,8,3\]"):
        PlanBatch.without_chain(plans, solver="x", seed=0, step_noise=np.zeros((2, 3, H, D)))
    args = PlanBatch.without_chain(plans, solver="none", seed=5).replay_args([1, 2])
    assert args == {"num_samples": 2, "seed": 5, "solver": "none", "steps": 0, "temperature": 1.0,
                    "initial_noise": None, "step_noise": None}
