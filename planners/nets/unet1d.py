"""diffusion_policy's ConditionalUnet1D in plain torch, key-compatible with its state dicts.

Written from diffusion_policy/model/diffusion/conditional_unet1d.py (real-stanford/diffusion_policy)
so that `ConditionalUnet1D(...).load_state_dict(dp_state_dict, strict=True)` works without ever
importing that library. LeRobot's DiffusionConditionalUnet1d is the same network with each residual
block's two convolutions named `conv1` / `conv2` instead of `blocks.0` / `blocks.1` and without
local conditioning: pass `block_names=LEROBOT_BLOCK_NAMES`.

Module names (the state-dict keys):

    diffusion_step_encoder.{1,3}          Sinusoidal(dsed) -> Linear(dsed, 4 dsed) -> Mish -> Linear(4 dsed, dsed)
    local_cond_encoder.{0,1}.*            two residual blocks on the local condition (or absent)
    down_modules.<i>.{0,1}.*              residual blocks; down_modules.<i>.2.conv = Conv1d(C, C, 3, 2, 1)
                                          (Identity on the last level)
    mid_modules.{0,1}.*                   residual blocks at the bottom
    up_modules.<i>.{0,1}.*                residual blocks; up_modules.<i>.2.conv = ConvTranspose1d(C, C, 4, 2, 1)
    final_conv.0.block.{0,1}              Conv1d + GroupNorm(8) (+ Mish); final_conv.1 = Conv1d(C0, input_dim, 1)

  residual block: blocks.0.block.{0,1} / blocks.1.block.{0,1}   Conv1d(k, pad k//2) -> GroupNorm(n_groups) -> Mish
                  cond_encoder.1                                Mish -> Linear(cond_dim, C or 2C) -> [B, C(2C), 1]
                  residual_conv                                 Conv1d(C_in, C_out, 1), or Identity when C_in == C_out

Shapes: sample x [B, T, input_dim] (T = horizon, the time axis the convolutions run over; it must
be divisible by 2 ** (len(down_dims) - 1)), timestep [B] / scalar (diffusion step index, integer
valued), global_cond [B, global_cond_dim], local_cond [B, T, local_cond_dim]. Output [B, T, input_dim].
cond_dim = diffusion_step_embed_dim + global_cond_dim. With cond_predict_scale (FiLM) the condition
gives a per-channel scale and bias (first C channels scale, next C bias), else only a bias.

Quirks kept on purpose because published checkpoints depend on them:
- every up level has an Upsample1d (the source's `is_last` test never fires for up_modules);
- final_conv's GroupNorm always has 8 groups, whatever n_groups is;
- the local condition's second block output (h_local[1]) is never added (the source's
  `idx == len(self.up_modules)` test is never true), yet its weights exist in the state dict.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DP_BLOCK_NAMES: tuple[str, str] = ("blocks.0", "blocks.1")
LEROBOT_BLOCK_NAMES: tuple[str, str] = ("conv1", "conv2")


class SinusoidalPosEmb(nn.Module):
    """t [B] -> [B, dim]: sin / cos of t * 10000 ** (-i / (dim/2 - 1)), sines first."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        half_dim = self.dim // 2
        scale = math.log(10000) / (half_dim - 1)
        freqs = torch.exp(torch.arange(half_dim, device=x.device) * -scale)
        angles = x[:, None] * freqs[None, :]
        return torch.cat((angles.sin(), angles.cos()), dim=-1)


class Conv1dBlock(nn.Module):
    """Conv1d -> GroupNorm -> Mish over [B, C_in, T] -> [B, C_out, T] (keys block.0, block.1)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, n_groups: int = 8) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
            nn.GroupNorm(n_groups, out_channels),
            nn.Mish(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x)


class Downsample1d(nn.Module):
    """[B, C, T] -> [B, C, T / 2] (stride-2 convolution, key conv)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, 3, 2, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class Upsample1d(nn.Module):
    """[B, C, T] -> [B, C, 2 T] (transposed convolution, key conv)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose1d(dim, dim, 4, 2, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class _CondProjection(nn.Module):
    """Mish -> Linear(cond_dim, channels) -> [B, channels, 1]; keys `1.weight`, `1.bias` as in the
    source's nn.Sequential(Mish, Linear, Rearrange)."""

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.add_module("0", nn.Mish())
        self.add_module("1", nn.Linear(cond_dim, channels))

    def forward(self, cond: Tensor) -> Tensor:
        return self._modules["1"](F.mish(cond)).unsqueeze(-1)


class ConditionalResidualBlock1D(nn.Module):
    """Two Conv1dBlocks with FiLM from the condition between them, plus a residual path.

    x [B, C_in, T], cond [B, cond_dim] -> [B, C_out, T]. block_names: where the two Conv1dBlocks
    live in the state dict (DP_BLOCK_NAMES or LEROBOT_BLOCK_NAMES).
    """

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, kernel_size: int = 3,
                 n_groups: int = 8, cond_predict_scale: bool = False,
                 block_names: tuple[str, str] = DP_BLOCK_NAMES) -> None:
        super().__init__()
        first = Conv1dBlock(in_channels, out_channels, kernel_size, n_groups=n_groups)
        second = Conv1dBlock(out_channels, out_channels, kernel_size, n_groups=n_groups)
        if block_names == DP_BLOCK_NAMES:
            self.blocks = nn.ModuleList([first, second])
        elif block_names == LEROBOT_BLOCK_NAMES:
            self.conv1, self.conv2 = first, second
        else:
            raise ValueError(f"block_names must be {DP_BLOCK_NAMES} or {LEROBOT_BLOCK_NAMES}, got {block_names}")
        self._lerobot_names = block_names == LEROBOT_BLOCK_NAMES
        self.cond_predict_scale = cond_predict_scale
        self.out_channels = out_channels
        self.cond_encoder = _CondProjection(cond_dim, out_channels * 2 if cond_predict_scale else out_channels)
        self.residual_conv = (nn.Conv1d(in_channels, out_channels, 1)
                              if in_channels != out_channels else nn.Identity())

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        first, second = (self.conv1, self.conv2) if self._lerobot_names else tuple(self.blocks)
        out = first(x)
        embed = self.cond_encoder(cond)                       # [B, C or 2C, 1]
        if self.cond_predict_scale:
            embed = embed.reshape(embed.shape[0], 2, self.out_channels, 1)
            out = embed[:, 0] * out + embed[:, 1]
        else:
            out = out + embed
        out = second(out)
        return out + self.residual_conv(x)


class ConditionalUnet1D(nn.Module):
    """The denoiser: noisy actions [B, T, input_dim] + step + conditions -> [B, T, input_dim].

    Arguments as diffusion_policy's (see the module doc): input_dim = action dim (or action + obs dim
    when the policy inpaints observations), local_cond_dim / global_cond_dim None when unused.
    """

    def __init__(self, input_dim: int, local_cond_dim: int | None = None,
                 global_cond_dim: int | None = None, diffusion_step_embed_dim: int = 256,
                 down_dims: Sequence[int] = (256, 512, 1024), kernel_size: int = 3, n_groups: int = 8,
                 cond_predict_scale: bool = False,
                 block_names: tuple[str, str] = DP_BLOCK_NAMES) -> None:
        super().__init__()
        all_dims = [input_dim, *down_dims]
        start_dim = down_dims[0]
        dsed = diffusion_step_embed_dim
        cond_dim = dsed + (global_cond_dim or 0)
        in_out = list(zip(all_dims[:-1], all_dims[1:]))

        def block(c_in: int, c_out: int) -> ConditionalResidualBlock1D:
            return ConditionalResidualBlock1D(c_in, c_out, cond_dim, kernel_size=kernel_size,
                                              n_groups=n_groups, cond_predict_scale=cond_predict_scale,
                                              block_names=block_names)

        self.diffusion_step_encoder = nn.Sequential(
            SinusoidalPosEmb(dsed), nn.Linear(dsed, dsed * 4), nn.Mish(), nn.Linear(dsed * 4, dsed))
        self.local_cond_encoder: nn.ModuleList | None = None
        if local_cond_dim is not None:
            dim_out = in_out[0][1]
            self.local_cond_encoder = nn.ModuleList([block(local_cond_dim, dim_out),
                                                     block(local_cond_dim, dim_out)])
        mid_dim = all_dims[-1]
        self.mid_modules = nn.ModuleList([block(mid_dim, mid_dim), block(mid_dim, mid_dim)])
        self.down_modules = nn.ModuleList([
            nn.ModuleList([block(dim_in, dim_out), block(dim_out, dim_out),
                           Downsample1d(dim_out) if i < len(in_out) - 1 else nn.Identity()])
            for i, (dim_in, dim_out) in enumerate(in_out)])
        self.up_modules = nn.ModuleList([
            nn.ModuleList([block(dim_out * 2, dim_in), block(dim_in, dim_in), Upsample1d(dim_in)])
            for dim_in, dim_out in reversed(in_out[1:])])
        self.final_conv = nn.Sequential(Conv1dBlock(start_dim, start_dim, kernel_size=kernel_size),
                                        nn.Conv1d(start_dim, input_dim, 1))
        self.input_dim = input_dim
        self.global_cond_dim = global_cond_dim
        self.local_cond_dim = local_cond_dim
        self.num_levels = len(down_dims)

    def forward(self, sample: Tensor, timestep: Tensor | float | int,
                local_cond: Tensor | None = None, global_cond: Tensor | None = None) -> Tensor:
        """sample [B, T, input_dim], timestep [B] or scalar, local_cond [B, T, local_cond_dim],
        global_cond [B, global_cond_dim] -> [B, T, input_dim]."""
        x = sample.transpose(1, 2)                            # [B, input_dim, T]
        timesteps = timestep
        if not torch.is_tensor(timesteps):
            timesteps = torch.tensor([timesteps], dtype=torch.long, device=sample.device)
        elif timesteps.dim() == 0:
            timesteps = timesteps[None].to(sample.device)
        timesteps = timesteps.expand(sample.shape[0])
        feature = self.diffusion_step_encoder(timesteps)      # [B, dsed]
        if global_cond is not None:
            feature = torch.cat([feature, global_cond], dim=-1)   # [B, cond_dim]

        h_local: list[Tensor] = []
        if local_cond is not None:
            if self.local_cond_encoder is None:
                raise ValueError("this U-Net was built without local conditioning (local_cond_dim=None)")
            local = local_cond.transpose(1, 2)                # [B, local_cond_dim, T]
            h_local = [self.local_cond_encoder[0](local, feature)]
            # the source also computes local_cond_encoder[1] but never adds it (see the module doc)

        skips: list[Tensor] = []
        for idx, (resnet, resnet2, downsample) in enumerate(self.down_modules):
            x = resnet(x, feature)
            if idx == 0 and h_local:
                x = x + h_local[0]
            x = resnet2(x, feature)
            skips.append(x)
            x = downsample(x)
        for mid in self.mid_modules:
            x = mid(x, feature)
        for resnet, resnet2, upsample in self.up_modules:
            x = resnet(torch.cat((x, skips.pop()), dim=1), feature)
            x = upsample(resnet2(x, feature))
        return self.final_conv(x).transpose(1, 2)


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters (what diffusion_policy logs as 'number of parameters')."""
    return sum(p.numel() for p in module.parameters())
