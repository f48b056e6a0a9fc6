"""Regression baseline MLP: obs [B, obs_dim] -> action chunk [B, H, D] (normalized). The config
lives in planners/regression/config.py (re-exported here for older imports)."""
from __future__ import annotations

import torch
from torch import nn

from planners.regression.config import ACTIVATIONS, RegressionConfig

__all__ = ["ACTIVATIONS", "RegressionConfig", "RegressionMLP"]


class RegressionMLP(nn.Module):
    """obs [B, obs_dim] -> [B, H, D]."""

    def __init__(self, config: RegressionConfig) -> None:
        super().__init__()
        act = {"relu": nn.ReLU, "silu": nn.SiLU, "tanh": nn.Tanh}[config.activation]
        layers, width = [], config.obs_dim
        for hidden in config.hidden:
            layers += [nn.Linear(width, hidden), act()]
            width = hidden
        layers.append(nn.Linear(width, config.horizon * config.action_dim))
        self.net = nn.Sequential(*layers)
        self.shape = (config.horizon, config.action_dim)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).reshape(obs.shape[0], *self.shape)
