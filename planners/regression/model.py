"""Regression baseline config and MLP: obs [B, obs_dim] -> action chunk [B, H, D] (normalized)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

ACTIVATIONS = ("relu", "silu", "tanh")


@dataclass
class RegressionConfig:
    """obs_dim / action_dim D / horizon H as for the diffusion policy; hidden: MLP widths."""
    obs_dim: int
    action_dim: int = 4
    horizon: int = 16
    hidden: tuple[int, ...] = (256, 256)
    activation: str = "silu"
    scene: str = ""
    obs_spec: tuple[tuple[str, int], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        self.obs_spec = tuple((str(k), int(s)) for k, s in self.obs_spec)
        for name in ("obs_dim", "action_dim", "horizon"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"RegressionConfig.{name} must be a positive integer, got {value!r}")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"RegressionConfig.hidden must list positive widths, got {self.hidden!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"RegressionConfig.activation={self.activation!r} is not one of "
                             f"{', '.join(ACTIVATIONS)}")
        if self.obs_spec and sum(s for _, s in self.obs_spec) != self.obs_dim:
            raise ValueError(f"RegressionConfig.obs_spec sums to {sum(s for _, s in self.obs_spec)}, "
                             f"obs_dim is {self.obs_dim}")

    def to_json(self) -> dict:
        payload = asdict(self)
        payload["hidden"] = list(self.hidden)
        payload["obs_spec"] = [list(k) for k in self.obs_spec]
        return payload

    @classmethod
    def from_json(cls, payload: dict) -> "RegressionConfig":
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ValueError(f"unknown RegressionConfig fields {unknown} (allowed: {sorted(known)})")
        return cls(**payload)


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
