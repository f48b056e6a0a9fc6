"""LeRobot's DiffusionModel re-implemented in planscope's torch code, with LeRobot's module names.

    LeRobotDiffusion            state-dict keys as in LeRobot's `model.safetensors`:
      diffusion.unet.*            the conditional 1-D U-Net (planners/nets/unet1d.py, conv1/conv2 blocks)
      diffusion.rgb_encoder.*     RgbEncoder, or a ModuleList of them (one per camera)
        backbone.*                  ResNet-18 up to layer4 (planners/nets/resnet.py trunk, keys 0, 1, 4..7)
        pool.nets.*, pool.pos_grid  SpatialSoftmax (1x1 conv to K keypoints, [h*w, 2] coordinate grid)
        out.*                       Linear(2K, 2K), then ReLU

LeRobot's U-Net keeps its down/upsampling convolutions as bare `down_modules.<i>.2.weight`, where
diffusion_policy's (ours) wraps them as `.2.conv.weight`: `to_planscope_keys` renames exactly those.

The global condition is LeRobot's layout: per observation step [state, image features (camera
order of input_features), environment state], flattened over the n_obs_steps history.
"""
from __future__ import annotations

import re

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from planners.lerobot.config import LeRobotDiffusionConfig
from planners.nets.resnet import feature_map_shape, resnet18_trunk
from planners.nets.unet1d import LEROBOT_BLOCK_NAMES, ConditionalUnet1D

_SAMPLER_KEY = re.compile(r"^(diffusion\.unet\.(?:down|up)_modules\.\d+\.2)\.(weight|bias)$")


class SpatialSoftmax(nn.Module):
    """Keypoints from feature maps [B, C, h, w] -> [B, K, 2] (expected x, y in [-1, 1]).

    A 1x1 convolution maps C channels to K keypoint maps (`nets`); each map is softmaxed over its
    h*w cells and the coordinate grid (`pos_grid` [h*w, 2], x varying fastest, numpy's linspace as
    LeRobot builds it) is averaged under it.
    """

    def __init__(self, input_shape: tuple[int, int, int], num_kp: int) -> None:
        super().__init__()
        channels, self._h, self._w = input_shape
        self.nets = nn.Conv2d(channels, num_kp, kernel_size=1)
        self._num_kp = num_kp
        pos_x, pos_y = np.meshgrid(np.linspace(-1.0, 1.0, self._w), np.linspace(-1.0, 1.0, self._h))
        grid = np.concatenate([pos_x.reshape(-1, 1), pos_y.reshape(-1, 1)], axis=1)
        self.register_buffer("pos_grid", torch.from_numpy(grid).float())

    def forward(self, features: Tensor) -> Tensor:
        maps = self.nets(features).reshape(-1, self._h * self._w)      # [B*K, h*w]
        return (F.softmax(maps, dim=-1) @ self.pos_grid).view(-1, self._num_kp, 2)


def center_crop(images: Tensor, size: tuple[int, int]) -> Tensor:
    """[B, C, H, W] -> [B, C, h, w], the window torchvision's CenterCrop takes (offsets rounded)."""
    height, width = images.shape[-2:]
    top = int(round((height - size[0]) / 2.0))
    left = int(round((width - size[1]) / 2.0))
    return images[..., top:top + size[0], left:left + size[1]]


def resize(images: Tensor, size: tuple[int, int]) -> Tensor:
    """[B, C, H, W] -> [B, C, h, w]: bilinear with antialiasing, as torchvision's Resize on tensors."""
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)


class RgbEncoder(nn.Module):
    """One camera's images [B, 3, H, W] (normalised) -> features [B, 2K] (LeRobot's DiffusionRgbEncoder,
    in eval mode: resize if configured, then the centre crop)."""

    def __init__(self, config: LeRobotDiffusionConfig) -> None:
        super().__init__()
        self.resize_shape = config.resize_shape
        self.crop_shape = config.crop_shape
        self.backbone = resnet18_trunk("group" if config.use_group_norm else "batch")
        channels, height, width = config.image_features[0].shape
        if self.crop_shape is not None:
            height, width = self.crop_shape
        elif self.resize_shape is not None:
            height, width = self.resize_shape
        num_kp = config.spatial_softmax_num_keypoints
        self.pool = SpatialSoftmax(feature_map_shape((channels, height, width)), num_kp)
        self.feature_dim = 2 * num_kp
        self.out = nn.Linear(2 * num_kp, self.feature_dim)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        if self.resize_shape is not None:
            x = resize(x, self.resize_shape)
        if self.crop_shape is not None:
            x = center_crop(x, self.crop_shape)
        x = torch.flatten(self.pool(self.backbone(x)), start_dim=1)
        return self.relu(self.out(x))


class DiffusionModel(nn.Module):
    """LeRobot's `DiffusionModel` minus its scheduler: `unet` and, with cameras, `rgb_encoder`."""

    def __init__(self, config: LeRobotDiffusionConfig) -> None:
        super().__init__()
        self.config = config
        cond_dim = config.robot_state_feature.shape[0]
        cameras = config.image_features
        if cameras:
            if config.use_separate_rgb_encoder_per_camera:
                self.rgb_encoder = nn.ModuleList([RgbEncoder(config) for _ in cameras])
                cond_dim += self.rgb_encoder[0].feature_dim * len(cameras)
            else:
                self.rgb_encoder = RgbEncoder(config)
                cond_dim += self.rgb_encoder.feature_dim * len(cameras)
        if config.env_state_feature is not None:
            cond_dim += config.env_state_feature.shape[0]
        self.global_cond_dim = cond_dim * config.n_obs_steps
        self.unet = ConditionalUnet1D(
            input_dim=config.action_dim, global_cond_dim=self.global_cond_dim,
            diffusion_step_embed_dim=config.diffusion_step_embed_dim, down_dims=config.down_dims,
            kernel_size=config.kernel_size, n_groups=config.n_groups,
            cond_predict_scale=config.use_film_scale_modulation, block_names=LEROBOT_BLOCK_NAMES)

    def global_condition(self, state: Tensor, images: Tensor | None, env_state: Tensor | None) -> Tensor:
        """Normalised history -> the U-Net's global condition [B, global_cond_dim].

        state [B, To, ds]; images [B, To, n_cameras, 3, H, W] (normalised) or None;
        env_state [B, To, de] or None.
        """
        batch, steps = state.shape[:2]
        parts = [state]
        if images is not None:
            if isinstance(self.rgb_encoder, nn.ModuleList):
                per_camera = [encoder(images[:, :, i].reshape(batch * steps, *images.shape[3:]))
                              for i, encoder in enumerate(self.rgb_encoder)]
                features = torch.stack(per_camera, dim=1)                 # [B*To, n, F]
            else:
                flat = images.reshape(batch * steps * images.shape[2], *images.shape[3:])
                features = self.rgb_encoder(flat).reshape(batch * steps, images.shape[2], -1)
            parts.append(features.reshape(batch, steps, -1))              # cameras concatenated
        if env_state is not None:
            parts.append(env_state)
        return torch.cat(parts, dim=-1).flatten(start_dim=1)


class LeRobotDiffusion(nn.Module):
    """The root whose state dict is LeRobot's `model.safetensors` (after `to_planscope_keys`)."""

    def __init__(self, config: LeRobotDiffusionConfig) -> None:
        super().__init__()
        self.diffusion = DiffusionModel(config)


def to_planscope_keys(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """LeRobot key names -> this module's: `...down_modules.<i>.2.weight` -> `...2.conv.weight` (and
    up_modules) where LeRobot has a bare Conv1d and the shared U-Net a Downsample1d/Upsample1d."""
    return {(_SAMPLER_KEY.sub(r"\1.conv.\2", key)): value for key, value in state.items()}


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
