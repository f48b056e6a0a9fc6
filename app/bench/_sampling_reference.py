"""The plain eager reference for `bench sampling --size`: diffusion_policy's ConditionalUnet1D as
nn.Conv1d modules on [B, C, L] tensors, sampled by the diffusers scheduler's step in a bare loop
(no chain kept, no callbacks): what a user's own library does.

Written here from diffusion_policy's published structure (module names and all), so its
state_dict is key-compatible with a diffusion_policy checkpoint's model and the same weights load
into planners/nets/unet1d.py and into planscope's fast path. `activation` "mish" is
diffusion_policy/LeRobot; "silu" is planscope's own U-Net (whose weights `from_planscope` maps).
"""
from __future__ import annotations

import math

import torch
from torch import nn


def _act(name: str) -> nn.Module:
    return nn.Mish() if name == "mish" else nn.SiLU()


class SinusoidalPosEmb(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        emb = torch.exp(torch.arange(half, device=x.device) * -(math.log(10000) / (half - 1)))
        emb = x.float()[:, None] * emb[None, :]
        return torch.cat((emb.sin(), emb.cos()), dim=-1)


class Conv1dBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, n_groups: int, act: str) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2),
                                   nn.GroupNorm(n_groups, c_out), _act(act))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class ConditionalResidualBlock1D(nn.Module):
    def __init__(self, c_in: int, c_out: int, cond_dim: int, kernel: int, n_groups: int, act: str) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([Conv1dBlock(c_in, c_out, kernel, n_groups, act),
                                     Conv1dBlock(c_out, c_out, kernel, n_groups, act)])
        self.out_channels = c_out
        self.cond_predict_scale = True
        self.cond_encoder = nn.Sequential(_act(act), nn.Linear(cond_dim, 2 * c_out), nn.Unflatten(-1, (-1, 1)))
        self.residual_conv = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        out = self.blocks[0](x)
        embed = self.cond_encoder(cond).reshape(x.shape[0], 2, self.out_channels, 1)
        out = embed[:, 0] * out + embed[:, 1]
        return self.blocks[1](out) + self.residual_conv(x)


class _Resample(nn.Module):
    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class ReferenceUnet1D(nn.Module):
    """x [B, H, D], t [B] | scalar, global_cond [B, G] -> [B, H, D]; diffusion_policy's layout."""

    def __init__(self, input_dim: int, global_cond_dim: int, down_dims=(256, 512, 1024), kernel_size: int = 5,
                 n_groups: int = 8, step_embed_dim: int = 256, activation: str = "mish") -> None:
        super().__init__()
        dsed, act = step_embed_dim, activation
        self.diffusion_step_encoder = nn.Sequential(SinusoidalPosEmb(dsed), nn.Linear(dsed, 4 * dsed), _act(act),
                                                    nn.Linear(4 * dsed, dsed))
        cond_dim = dsed + global_cond_dim
        dims = [input_dim, *down_dims]
        in_out = list(zip(dims[:-1], dims[1:]))
        block = lambda i, o: ConditionalResidualBlock1D(i, o, cond_dim, kernel_size, n_groups, act)  # noqa: E731
        self.local_cond_encoder = None
        self.down_modules = nn.ModuleList(nn.ModuleList([
            block(i, o), block(o, o),
            _Resample(nn.Conv1d(o, o, 3, 2, 1)) if k < len(in_out) - 1 else nn.Identity()])
            for k, (i, o) in enumerate(in_out))
        self.mid_modules = nn.ModuleList([block(dims[-1], dims[-1]), block(dims[-1], dims[-1])])
        self.up_modules = nn.ModuleList(nn.ModuleList([
            block(2 * o, i), block(i, i), _Resample(nn.ConvTranspose1d(i, i, 4, 2, 1))])
            for i, o in reversed(in_out[1:]))
        self.final_conv = nn.Sequential(Conv1dBlock(down_dims[0], down_dims[0], kernel_size, n_groups, act),
                                        nn.Conv1d(down_dims[0], input_dim, 1))

    def forward(self, sample: torch.Tensor, timestep, global_cond: torch.Tensor) -> torch.Tensor:
        x = sample.transpose(1, 2)
        t = torch.as_tensor(timestep, device=x.device).reshape(-1).expand(x.shape[0])
        feature = torch.cat([self.diffusion_step_encoder(t), global_cond.expand(x.shape[0], -1)], dim=-1)
        skips = []
        for res1, res2, down in self.down_modules:
            x = res2(res1(x, feature), feature)
            skips.append(x)
            x = down(x)
        for mid in self.mid_modules:
            x = mid(x, feature)
        for res1, res2, up in self.up_modules:
            x = up(res2(res1(torch.cat((x, skips.pop()), dim=1), feature), feature))
        return self.final_conv(x).transpose(1, 2)


def from_planscope(model: nn.Module, config, activation: str = "silu") -> ReferenceUnet1D:
    """planscope's own ConditionalUnet1D (its DiffusionConfig) -> the reference with the same weights.
    activation "silu" is planscope's architecture (the honest reference); "mish" is
    diffusion_policy's code at planscope's size (what the shipped model's first speed figure was
    measured against)."""
    ref = ReferenceUnet1D(config.action_dim, config.obs_dim, config.down_dims, config.kernel_size, config.n_groups,
                          config.step_embed_dim, activation=activation)
    ours = model.state_dict()
    renames = [("step_embedding.mlp.0.", "diffusion_step_encoder.1."),
               ("step_embedding.mlp.2.", "diffusion_step_encoder.3."),
               ("down.", "down_modules."), ("mid.", "mid_modules."), ("up.", "up_modules."),
               ("final.", "final_conv."), (".conv1.", ".blocks.0."), (".conv2.", ".blocks.1."),
               (".film.", ".cond_encoder."), (".residual.", ".residual_conv.")]
    mapped = {}
    for key, value in ours.items():
        for old, new in renames:
            key = key.replace(old, new)
        mapped[key] = value
    # planscope's final Conv1dBlock uses n_groups; the reference's Resample wraps the conv as .conv
    fixed = {}
    for key, value in mapped.items():
        parts = key.split(".")
        if parts[0] in ("down_modules", "up_modules") and parts[2] == "2":
            key = ".".join(parts[:3] + ["conv"] + parts[3:])
        fixed[key] = value
    ref.load_state_dict(fixed)
    return ref


@torch.inference_mode()
def sample_reference(model: nn.Module, scheduler, cond: torch.Tensor, noise: torch.Tensor, steps: int,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """The bare loop: x_T = noise [N, H, D]; for each timestep, x = scheduler.step(model(x, t, cond))."""
    scheduler.set_timesteps(steps)
    x = noise.clone()
    for t in scheduler.timesteps:
        out = model(x, t, cond)
        x = scheduler.step(out, t, x, generator=generator).prev_sample
    return x
