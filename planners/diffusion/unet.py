"""1-D temporal U-Net denoiser with FiLM conditioning (Diffusion Policy's ConditionalUnet1D, small).

Input x [B, H, D] (a noisy action chunk, normalized), diffusion timestep t [B] (or scalar), and the
global condition obs [B, obs_dim] (normalized flat observation). Output [B, H, D]: predicted noise
(or x_0, per the config's prediction_type). Convolutions run over the time axis H with D channels.
Every residual block is modulated by FiLM: a per-channel scale and bias computed from the
concatenated (step embedding, observation) vector.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from planners.diffusion.config import DiffusionConfig


class SinusoidalStepEmbedding(nn.Module):
    """t [B] -> [B, dim] sinusoidal features (transformer-style), then an MLP."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        half = dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / max(half - 1, 1))
        self.register_buffer("freqs", freqs, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(2 * half, dim * 4), nn.SiLU(), nn.Linear(dim * 4, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = t.float()[:, None] * self.freqs[None, :]
        return self.mlp(torch.cat([angles.sin(), angles.cos()], dim=-1))


class Conv1dBlock(nn.Module):
    """Conv1d -> GroupNorm -> SiLU (Mish is 3x slower on CPU) over [B, C, L]."""

    def __init__(self, c_in: int, c_out: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2),
                                   nn.GroupNorm(groups, c_out), nn.SiLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, 1, L] channels-last (see ConditionalUnet1D.forward)."""
        conv, norm, _ = self.block
        h = F.group_norm(_conv(conv, x), norm.num_groups, norm.weight, norm.bias, norm.eps)
        # in place when no graph is recorded (sampling): one allocation less per block
        return F.silu(h, inplace=not torch.is_grad_enabled())


# Activations flow as [B, C, 1, L] tensors in channels-last memory (i.e. [B, L, C] in memory):
# oneDNN runs the 1-D convolutions as (1, k) 2-D ones 1.2-3x faster in that layout than
# Conv1d's [B, C, L], and kernel-1 convolutions become plain matrix products over [B*L, C]. The
# modules stay nn.Conv1d, so checkpoints are unchanged.
def _weight_4d(conv: nn.Module) -> torch.Tensor:
    """conv.weight [O, I, k] as [O, I, 1, k] channels-last, cached while the weight is unchanged
    (sampling); recomputed after every optimizer step (training), where it is part of the graph."""
    w = conv.weight
    if torch.is_grad_enabled() and w.requires_grad:
        return w.unsqueeze(2).contiguous(memory_format=torch.channels_last)
    key = (w.data_ptr(), w._version)
    cached = getattr(conv, "_weight_4d_cache", None)
    if cached is None or cached[0] != key:
        cached = (key, w.detach().unsqueeze(2).contiguous(memory_format=torch.channels_last))
        conv._weight_4d_cache = cached
    return cached[1]


def _conv(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    return F.conv2d(x, _weight_4d(conv), conv.bias, stride=(1, conv.stride[0]),
                    padding=(0, conv.padding[0]))


def _conv_transpose(conv: nn.ConvTranspose1d, x: torch.Tensor) -> torch.Tensor:
    return F.conv_transpose2d(x, _weight_4d(conv), conv.bias, stride=(1, conv.stride[0]),
                              padding=(0, conv.padding[0]))


def _pointwise(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """A kernel-1 Conv1d on [B, C, 1, L] channels-last: one matrix product over [B*L, C]."""
    return F.linear(x.permute(0, 2, 3, 1), conv.weight[:, :, 0], conv.bias).permute(0, 3, 1, 2)


class FiLMResidualBlock(nn.Module):
    """Two conv blocks; the first's output is scaled and shifted per channel by FiLM(cond)."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.conv1 = Conv1dBlock(c_in, c_out, kernel, groups)
        self.conv2 = Conv1dBlock(c_out, c_out, kernel, groups)
        self.film = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, 2 * c_out))
        self.residual = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.c_out = c_out

    def forward(self, x: torch.Tensor, cond_act: torch.Tensor) -> torch.Tensor:
        """cond_act: SiLU(cond), computed once per U-Net call (self.film = SiLU -> Linear)."""
        scale, bias = self.film[1](cond_act)[:, :, None, None].chunk(2, dim=1)   # [B, C, 1, 1] each
        out = torch.addcmul(bias, self.conv1(x), scale)
        res = _pointwise(self.residual, x) if isinstance(self.residual, nn.Conv1d) else x
        out = self.conv2(out)
        return out.add_(res) if not torch.is_grad_enabled() else out + res


class ConditionalUnet1D(nn.Module):
    """The denoiser eps_theta(x_t, t, obs). Shapes in the module docstring."""

    def __init__(self, config: DiffusionConfig) -> None:
        super().__init__()
        k, g = config.kernel_size, config.n_groups
        self.step_embedding = SinusoidalStepEmbedding(config.step_embed_dim)
        cond_dim = config.step_embed_dim + config.obs_dim
        dims = [config.action_dim, *config.down_dims]
        levels = list(zip(dims[:-1], dims[1:]))
        self.down = nn.ModuleList()
        for i, (c_in, c_out) in enumerate(levels):
            last = i == len(levels) - 1
            self.down.append(nn.ModuleList([
                FiLMResidualBlock(c_in, c_out, cond_dim, k, g),
                FiLMResidualBlock(c_out, c_out, cond_dim, k, g),
                nn.Conv1d(c_out, c_out, 3, stride=2, padding=1) if not last else nn.Identity()]))
        mid = dims[-1]
        self.mid = nn.ModuleList([FiLMResidualBlock(mid, mid, cond_dim, k, g),
                                  FiLMResidualBlock(mid, mid, cond_dim, k, g)])
        self.up = nn.ModuleList()
        for i, (c_in, c_out) in enumerate(reversed(levels[1:])):
            self.up.append(nn.ModuleList([
                FiLMResidualBlock(2 * c_out, c_in, cond_dim, k, g),
                FiLMResidualBlock(c_in, c_in, cond_dim, k, g),
                nn.ConvTranspose1d(c_in, c_in, 4, stride=2, padding=1)]))
        start = config.down_dims[0]
        self.final = nn.Sequential(Conv1dBlock(start, start, k, g), nn.Conv1d(start, config.action_dim, 1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """x [B, H, D], t [B] or scalar, obs [B, obs_dim] -> [B, H, D]."""
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        cond = F.silu(torch.cat([self.step_embedding(t), obs], dim=-1))   # every FiLM's input
        # [B, H, D] in memory IS [B, D, 1, H] channels-last: a view, no copy
        h = x.contiguous().transpose(1, 2).unsqueeze(2)
        skips = []
        for res1, res2, downsample in self.down:
            h = res2(res1(h, cond), cond)
            skips.append(h)
            h = _conv(downsample, h) if isinstance(downsample, nn.Conv1d) else h
        for block in self.mid:
            h = block(h, cond)
        for res1, res2, upsample in self.up:
            h = torch.cat([h, skips.pop()], dim=1)
            h = _conv_transpose(upsample, res2(res1(h, cond), cond))
        final_block, project = self.final
        return _pointwise(project, final_block(h)).squeeze(2).transpose(1, 2)


def count_parameters(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))
