"""Diffusion-policy specifics of training: build the model from data, the denoising loss,
and the planner built from a checkpoint."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from planners.diffusion.config import DiffusionConfig
from planners.diffusion.schedulers import make_training_scheduler
from planners.diffusion.unet import ConditionalUnet1D


def build(obs_dim: int, action_dim: int, horizon: int, scene: str, obs_spec, overrides: dict | None = None):
    """(config, model) for data of these sizes; overrides replace config fields (e.g. down_dims)."""
    config = DiffusionConfig(obs_dim=obs_dim, action_dim=action_dim, horizon=horizon, scene=scene,
                             obs_spec=tuple(obs_spec), **(overrides or {}))
    return config, ConditionalUnet1D(config)


def make_loss(config: DiffusionConfig):
    """loss(model, obs [B, obs_dim], actions [B, H, D], generator) -> scalar MSE of the noise
    (or x_0) prediction at a uniformly drawn training timestep."""
    scheduler = make_training_scheduler(config)

    def loss_fn(model, obs: torch.Tensor, actions: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        b = actions.shape[0]
        noise = torch.randn(actions.shape, generator=generator).to(actions.device)
        t = torch.randint(0, config.num_train_timesteps, (b,), generator=generator).to(actions.device)
        noisy = scheduler.add_noise(actions, noise, t)
        target = noise if config.prediction_type == "epsilon" else actions
        return F.mse_loss(model(noisy, t, obs), target)

    return loss_fn
