"""ResNet-18 in plain torch, key-compatible with torchvision's `resnet18()` state dict.

torchvision's wheel does not load against this machine's CPU torch, and planscope never imports
another library's model code, so the backbone that LeRobot's and diffusion_policy's image encoders
use is written out here. Module names match torchvision exactly:

    conv1, bn1, relu, maxpool, layer1..layer4 (BasicBlock: conv1, bn1, conv2, bn2, downsample.0/1),
    avgpool, fc

so `ResNet18().load_state_dict(torchvision_resnet18.state_dict(), strict=True)` works, and
`trunk()` gives LeRobot's `nn.Sequential(*list(resnet.children())[:-2])` (keys `0.weight`,
`1.weight`, `4.0.conv1.weight`, ...).

Both libraries can swap every BatchNorm2d for GroupNorm(num_groups=C // 16, num_channels=C)
(`norm="group"`); GroupNorm has only weight and bias, no running statistics.
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

Norm = Literal["batch", "group"]
NORMS: tuple[str, ...] = ("batch", "group")
GROUP_NORM_CHANNELS_PER_GROUP = 16


def make_norm(channels: int, norm: Norm) -> nn.Module:
    """BatchNorm2d(C), or GroupNorm(C // 16 groups, C) as LeRobot/diffusion_policy replace it."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        return nn.GroupNorm(num_groups=channels // GROUP_NORM_CHANNELS_PER_GROUP, num_channels=channels)
    raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (torchvision's BasicBlock, expansion 1).

    x [B, C_in, H, W] -> [B, C_out, H / stride, W / stride].
    """

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, norm: Norm = "batch") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = make_norm(out_channels, norm)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = make_norm(out_channels, norm)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                make_norm(out_channels, norm))

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """ResNet-18: images [B, 3, H, W] (float, already normalised) -> [B, num_classes].

    num_classes=None replaces the classifier by an identity (diffusion_policy's `fc = Identity()`),
    so forward returns the pooled [B, 512] features and the state dict has no `fc.*` keys.
    norm: "batch" (torchvision's default) or "group" (GroupNorm, C // 16 groups).
    """

    def __init__(self, num_classes: int | None = 1000, norm: Norm = "batch") -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
        self.norm = norm
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = make_norm(64, norm)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._stage(64, 64, stride=1)
        self.layer2 = self._stage(64, 128, stride=2)
        self.layer3 = self._stage(128, 256, stride=2)
        self.layer4 = self._stage(256, 512, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc: nn.Module = nn.Linear(512, num_classes) if num_classes is not None else nn.Identity()
        self._init_weights()

    def _stage(self, in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
        return nn.Sequential(BasicBlock(in_channels, out_channels, stride, self.norm),
                             BasicBlock(out_channels, out_channels, 1, self.norm))

    def _init_weights(self) -> None:
        # torchvision's initialisation, so an untrained backbone behaves like theirs.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def features(self, x: Tensor) -> Tensor:
        """[B, 3, H, W] -> layer4 feature map [B, 512, ceil(H/32), ceil(W/32)]."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))

    def trunk(self) -> nn.Sequential:
        """The children up to layer4 as one Sequential (LeRobot's `children()[:-2]`): [B,3,H,W] ->
        [B,512,h,w]. Shares modules (and so weights) with this network."""
        return nn.Sequential(self.conv1, self.bn1, self.relu, self.maxpool,
                             self.layer1, self.layer2, self.layer3, self.layer4)


def resnet18_trunk(norm: Norm = "batch") -> nn.Sequential:
    """A fresh ResNet-18 without pooling and classifier, keyed like LeRobot's `backbone`."""
    return ResNet18(num_classes=None, norm=norm).trunk()


def feature_map_shape(image_shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """(512, h, w) of the trunk's output for one image (C, H, W).

    Computed, not measured by a dry run (a dry run in training mode would move BatchNorm's running
    statistics): conv1 (stride 2), maxpool (stride 2) and layer2..4 (stride 2) each map a side
    n -> floor((n - 1) / 2) + 1.
    """
    _, height, width = image_shape
    for _ in range(5):
        height, width = (height - 1) // 2 + 1, (width - 1) // 2 + 1
    return (512, int(height), int(width))
