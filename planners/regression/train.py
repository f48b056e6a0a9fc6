"""Regression-baseline specifics of training: the MLP and its MSE loss on the action chunk."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from planners.regression.config import RegressionConfig
from planners.regression.model import RegressionMLP


def build(obs_dim: int, action_dim: int, horizon: int, scene: str, obs_spec, overrides: dict | None = None):
    config = RegressionConfig(obs_dim=obs_dim, action_dim=action_dim, horizon=horizon, scene=scene,
                              obs_spec=tuple(obs_spec), **(overrides or {}))
    return config, RegressionMLP(config)


def make_loss(config: RegressionConfig):
    def loss_fn(model, obs: torch.Tensor, actions: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return F.mse_loss(model(obs), actions)
    return loss_fn
