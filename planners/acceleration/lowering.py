"""Lowering: a temporal U-Net module -> one neutral description of its layers (`UnetGraph`).

Two module trees lower to the same graph, so one fast executor (kernels.py) serves both:
  - planscope's own planners.diffusion.unet.ConditionalUnet1D (SiLU, names down/mid/up/final);
  - diffusion_policy's ConditionalUnet1D (Mish, names down_modules/mid_modules/up_modules/final_conv),
    which planners/nets/unet1d.py re-implements and LeRobot's checkpoints load into.
The architectures are the same up to the activation and the module names: FiLM-modulated residual
blocks of (Conv1d k -> GroupNorm -> act) x 2, a kernel-3 stride-2 Conv1d between down levels, a
kernel-4 stride-2 ConvTranspose1d between up levels, skips concatenated as [h, skip] on channels.
The graph holds references to the module's own parameters (no copy); kernels.py makes the
layout/precision copies it needs.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn


class LoweringError(ValueError):
    """The module is not a U-Net this layer knows how to lower (the caller keeps the eager model)."""


@dataclass
class ConvBlock:
    """Conv1d(weight [O, I, k], bias [O], padding k // 2) -> GroupNorm(groups) -> activation."""
    weight: torch.Tensor
    bias: torch.Tensor
    norm_weight: torch.Tensor
    norm_bias: torch.Tensor
    groups: int
    eps: float


@dataclass
class ResidualBlock:
    """conv2(FiLM(conv1(x))) + residual(x). film_weight [F, cond_dim] with F = 2C (scale, bias)
    when predict_scale else C (bias only); residual_weight [O, I] (kernel-1 conv) or None (identity)."""
    conv1: ConvBlock
    conv2: ConvBlock
    film_weight: torch.Tensor
    film_bias: torch.Tensor
    predict_scale: bool
    residual_weight: torch.Tensor | None
    residual_bias: torch.Tensor | None

    @property
    def out_channels(self) -> int:
        return int(self.conv1.weight.shape[0])


@dataclass
class Resample:
    """Down: Conv1d(C, C, 3, stride 2, padding 1), weight [O, I, 3]. Up: ConvTranspose1d(C, C, 4,
    stride 2, padding 1), weight [I, O, 4] (PyTorch's transposed layout)."""
    weight: torch.Tensor
    bias: torch.Tensor


@dataclass
class UnetGraph:
    """What the executor needs. step_encoder: t [B] -> [B, step_dim] float32 (the module's own,
    tiny, always run in float32). Levels hold (block, block, resample or None)."""
    arch: str                                  # "planscope" | "diffusion_policy"
    activation: str                            # "silu" | "mish"
    step_encoder: Callable[[torch.Tensor], torch.Tensor]
    input_dim: int
    cond_dim: int                              # step embedding + global condition
    global_cond_dim: int                       # the observation features (0: none)
    down: list[tuple[ResidualBlock, ResidualBlock, Resample | None]]
    mid: list[ResidualBlock]
    up: list[tuple[ResidualBlock, ResidualBlock, Resample | None]]
    final_block: ConvBlock
    final_weight: torch.Tensor                 # [input_dim, C0] kernel-1 projection
    final_bias: torch.Tensor
    blocks: list[ResidualBlock] = field(default_factory=list)   # every residual block, call order

    def __post_init__(self) -> None:
        self.blocks = [b for r1, r2, _ in self.down for b in (r1, r2)] + list(self.mid) + \
                      [b for r1, r2, _ in self.up for b in (r1, r2)]


def lower(model: nn.Module) -> UnetGraph:
    """Lower `model` (either architecture, see the module doc); LoweringError when it is neither."""
    if hasattr(model, "down_modules") and hasattr(model, "diffusion_step_encoder"):
        return _lower_diffusion_policy(model)
    if hasattr(model, "down") and hasattr(model, "step_embedding"):
        return _lower_planscope(model)
    raise LoweringError(f"{type(model).__name__} is not a ConditionalUnet1D this layer knows")


def architecture_key(model: nn.Module) -> str:
    """Hash of the class and every parameter's name, shape and dtype: equal for two models whose
    kernels time the same (weights do not matter for speed)."""
    h = hashlib.sha256(f"{type(model).__module__}.{type(model).__qualname__}".encode())
    for name, p in model.state_dict().items():
        h.update(f"{name}:{tuple(p.shape)}:{p.dtype};".encode())
    return h.hexdigest()[:16]


def weights_key(model: nn.Module, samples: int = 4096) -> str:
    """Fingerprint of the weights (fidelity depends on them): architecture key plus a strided
    sample of every tensor's values, so a 1 GB model hashes in milliseconds."""
    h = hashlib.sha256(architecture_key(model).encode())
    with torch.no_grad():
        for p in model.state_dict().values():
            flat = p.detach().reshape(-1)
            step = max(1, flat.numel() // samples)
            h.update(flat[::step].float().cpu().numpy().tobytes())
            h.update(repr(float(flat.float().sum())).encode())
    return h.hexdigest()[:16]


def _conv_block(seq: nn.Sequential) -> ConvBlock:
    conv, norm = seq[0], seq[1]
    if not isinstance(conv, nn.Conv1d) or not isinstance(norm, nn.GroupNorm):
        raise LoweringError(f"expected Conv1d -> GroupNorm, got {type(conv).__name__} -> {type(norm).__name__}")
    if conv.stride[0] != 1 or conv.padding[0] != conv.kernel_size[0] // 2 or conv.dilation[0] != 1:
        raise LoweringError("a block convolution is not stride 1 with 'same' padding")
    return ConvBlock(conv.weight, conv.bias, norm.weight, norm.bias, norm.num_groups, norm.eps)


def _resample(conv: nn.Module, transposed: bool) -> Resample | None:
    conv = getattr(conv, "conv", conv)   # diffusion_policy wraps it in Downsample1d/Upsample1d
    if isinstance(conv, nn.Identity):
        return None
    want = (nn.ConvTranspose1d, 4) if transposed else (nn.Conv1d, 3)
    if type(conv) is not want[0] or conv.kernel_size[0] != want[1] or conv.stride[0] != 2 or conv.padding[0] != 1:
        raise LoweringError(f"unexpected resampling layer {conv}")
    return Resample(conv.weight, conv.bias)


def _residual(conv: nn.Module) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    if isinstance(conv, nn.Identity):
        return None, None
    return conv.weight[:, :, 0], conv.bias


def _activation(module: nn.Module) -> str:
    if isinstance(module, nn.Mish):
        return "mish"
    if isinstance(module, nn.SiLU):
        return "silu"
    raise LoweringError(f"activation {type(module).__name__} is not Mish or SiLU")


def _lower_planscope(model: nn.Module) -> UnetGraph:
    def block(b) -> ResidualBlock:
        rw, rb = _residual(b.residual)
        linear = b.film[1]
        return ResidualBlock(_conv_block(b.conv1.block), _conv_block(b.conv2.block), linear.weight,
                             linear.bias, True, rw, rb)

    def step_encoder(t: torch.Tensor) -> torch.Tensor:
        return model.step_embedding(t)

    final_block, project = model.final
    return UnetGraph(
        arch="planscope", activation="silu", step_encoder=step_encoder,
        input_dim=int(project.weight.shape[0]), cond_dim=int(model.down[0][0].film[1].weight.shape[1]),
        global_cond_dim=int(model.down[0][0].film[1].weight.shape[1]) - int(model.step_embedding.mlp[2].out_features),
        down=[(block(r1), block(r2), _resample(ds, False)) for r1, r2, ds in model.down],
        mid=[block(b) for b in model.mid],
        up=[(block(r1), block(r2), _resample(us, True)) for r1, r2, us in model.up],
        final_block=_conv_block(final_block.block), final_weight=project.weight[:, :, 0],
        final_bias=project.bias)


def _lower_diffusion_policy(model: nn.Module) -> UnetGraph:
    """diffusion_policy's names (blocks.0/1) or LeRobot's (conv1/conv2) for the two conv blocks."""
    if getattr(model, "local_cond_encoder", None) is not None:
        raise LoweringError("local conditioning (local_cond_encoder) is not supported by the fast path")

    def convs(b) -> tuple[nn.Module, nn.Module]:
        return (b.conv1, b.conv2) if hasattr(b, "conv1") else (b.blocks[0], b.blocks[1])

    def block(b) -> ResidualBlock:
        rw, rb = _residual(b.residual_conv)
        linear = getattr(b.cond_encoder, "1")
        scale = bool(getattr(b, "cond_predict_scale", linear.weight.shape[0] == 2 * b.out_channels))
        first, second = convs(b)
        return ResidualBlock(_conv_block(first.block), _conv_block(second.block), linear.weight, linear.bias,
                             scale, rw, rb)

    final_block, project = model.final_conv
    first = model.down_modules[0][0]
    return UnetGraph(
        arch="diffusion_policy", activation=_activation(convs(first)[0].block[2]),
        step_encoder=model.diffusion_step_encoder, input_dim=int(project.weight.shape[0]),
        cond_dim=int(getattr(first.cond_encoder, "1").weight.shape[1]),
        global_cond_dim=int(getattr(first.cond_encoder, "1").weight.shape[1])
        - int(model.diffusion_step_encoder[3].out_features),
        down=[(block(r1), block(r2), _resample(ds, False)) for r1, r2, ds in model.down_modules],
        mid=[block(b) for b in model.mid_modules],
        up=[(block(r1), block(r2), _resample(us, True)) for r1, r2, us in model.up_modules],
        final_block=_conv_block(final_block.block), final_weight=project.weight[:, :, 0],
        final_bias=project.bias)
