"""The diffusers noise schedulers behind the solver names (none written by hand here).

    "ddpm"  -> DDPMScheduler                 (ancestral, stochastic; usually all training steps)
    "ddim"  -> DDIMScheduler, eta = 0         (deterministic given the initial noise)
    "dpmpp" -> DPMSolverMultistepScheduler, algorithm_type="dpmsolver++", 2nd order (10–16 steps)
"""
from __future__ import annotations

import threading

from planners.diffusion.config import DiffusionConfig
from planners.protocol import SOLVERS, PlannerError

# diffusers resolves its classes through a lazy module; two threads doing the first lookup at
# once can see a half-initialised module ("cannot import name 'DDIMScheduler'"). One lock makes
# the first import happen once.
_IMPORT_LOCK = threading.Lock()


def _diffusers():
    with _IMPORT_LOCK:
        import diffusers
        return (diffusers.DDIMScheduler, diffusers.DDPMScheduler,
                diffusers.DPMSolverMultistepScheduler)


def make_scheduler(config: DiffusionConfig, solver: str):
    """A fresh scheduler for one sampling call (schedulers keep per-call state)."""
    DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler = _diffusers()

    common = dict(num_train_timesteps=config.num_train_timesteps, beta_schedule=config.beta_schedule,
                  prediction_type=config.prediction_type)
    if solver == "ddpm":
        return DDPMScheduler(**common, clip_sample=config.clip_sample, variance_type="fixed_small",
                             timestep_spacing="trailing")
    if solver == "ddim":
        return DDIMScheduler(**common, clip_sample=config.clip_sample, set_alpha_to_one=True,
                             timestep_spacing="trailing")
    if solver == "dpmpp":
        # Thresholding with sample_max_value=1 clips the x0 prediction to the normalized data
        # range [-1, 1], as clip_sample does for DDPM/DDIM; without it the first step (abar ~ 0 under
        # the cosine schedule) divides by ~0 and the plans explode.
        return DPMSolverMultistepScheduler(**common, algorithm_type="dpmsolver++", solver_order=2,
                                           timestep_spacing="trailing", lower_order_final=True,
                                           thresholding=config.clip_sample, sample_max_value=1.0)
    raise PlannerError(f"unknown solver {solver!r} (allowed: {', '.join(SOLVERS)})")


def make_training_scheduler(config: DiffusionConfig):
    """The forward-noising scheduler used in training (add_noise only)."""
    DDPMScheduler = _diffusers()[1]
    return DDPMScheduler(num_train_timesteps=config.num_train_timesteps,
                         beta_schedule=config.beta_schedule, prediction_type=config.prediction_type,
                         clip_sample=config.clip_sample)


def check_steps(config: DiffusionConfig, solver: str, steps: int) -> int:
    """Validate the step count for a solver; returns it."""
    if not isinstance(steps, int) or steps < 1:
        raise PlannerError(f"steps must be a positive integer, got {steps!r}")
    if steps > config.num_train_timesteps:
        raise PlannerError(f"steps={steps} exceeds the {config.num_train_timesteps} training timesteps "
                           f"of this policy (solver {solver})")
    return steps
