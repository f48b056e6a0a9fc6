"""Configuration of the regression baseline: a dataclass validated on construction (errors name
the field, the value and what is allowed)."""
from __future__ import annotations

from dataclasses import dataclass, field

from planners.config_base import PolicyConfig

ACTIVATIONS = ("relu", "silu", "tanh")


@dataclass
class RegressionConfig(PolicyConfig):
    """obs_dim / action_dim D / horizon H as for the diffusion policy; hidden: MLP widths;
    activation: one of ACTIVATIONS; scene and obs_spec: what it was trained on."""
    obs_dim: int
    action_dim: int = 4
    horizon: int = 16
    hidden: tuple[int, ...] = (256, 256)
    activation: str = "silu"
    scene: str = ""
    obs_spec: tuple[tuple[str, int], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        self.check_positive_ints("obs_dim", "action_dim", "horizon")
        self.normalize_obs_spec()
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"RegressionConfig.hidden must list positive widths, got {self.hidden!r}")
        self.check_choice("activation", ACTIVATIONS)
