"""The diffusion policy's schedulers: planners/sampling.py builds them from the config's
SchedulerSettings (one implementation for planscope's policies and every adapter)."""
from __future__ import annotations

from planners.diffusion.config import DiffusionConfig
from planners.sampling import check_steps as _check_steps
from planners.sampling import make_scheduler as _make_scheduler
from planners.sampling import make_training_scheduler as _make_training_scheduler


def make_scheduler(config: DiffusionConfig, solver: str):
    """A fresh diffusers scheduler for one sampling call (see planners.sampling.make_scheduler)."""
    return _make_scheduler(config.scheduler_settings(), solver)


def make_training_scheduler(config: DiffusionConfig):
    """The forward-noising scheduler used in training (add_noise only)."""
    return _make_training_scheduler(config.scheduler_settings())


def check_steps(config: DiffusionConfig, solver: str, steps: int) -> int:
    """Validate the step count for a solver; returns it."""
    return _check_steps(config.scheduler_settings(), solver, steps)
