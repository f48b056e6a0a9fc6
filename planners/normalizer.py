"""Min–max normalizer stored with the weights (Diffusion-Policy style).

Maps each feature from its data range [min, max] to [-1, 1]. Features whose range is tiny
(constant in the data) keep unit scale around the data value, so they neither blow up nor
divide by zero. Saved as plain JSON numbers next to the weights, never pickled.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MIN_RANGE = 1e-4  # below this a feature counts as constant in the data


@dataclass
class MinMaxNormalizer:
    """Per-feature affine map x_norm = (x - offset) * scale.

    low, high: [F] float32 data minimum and maximum of each feature (in data units).
    """
    low: np.ndarray
    high: np.ndarray

    def __post_init__(self) -> None:
        self.low = np.asarray(self.low, dtype=np.float32).reshape(-1)
        self.high = np.asarray(self.high, dtype=np.float32).reshape(-1)
        if self.low.shape != self.high.shape:
            raise ValueError(f"normalizer low {self.low.shape} and high {self.high.shape} differ")
        span = self.high - self.low
        constant = span < _MIN_RANGE
        # Constant features: centre on the value with unit scale (x_norm = x - value).
        self.scale = np.where(constant, 1.0, 2.0 / np.maximum(span, _MIN_RANGE)).astype(np.float32)
        self.offset = np.where(constant, self.low, (self.high + self.low) / 2.0).astype(np.float32)

    @classmethod
    def fit(cls, data: np.ndarray) -> "MinMaxNormalizer":
        """data [..., F]: fit over every leading axis."""
        flat = np.asarray(data, dtype=np.float32).reshape(-1, np.shape(data)[-1])
        return cls(flat.min(axis=0), flat.max(axis=0))

    @property
    def size(self) -> int:
        return int(self.low.size)

    def normalize(self, x):
        """x [..., F] (numpy or torch) in data units -> [-1, 1]."""
        return (x - _like(self.offset, x)) * _like(self.scale, x)

    def unnormalize(self, x):
        """x [..., F] (numpy or torch) in [-1, 1] -> data units."""
        return x / _like(self.scale, x) + _like(self.offset, x)

    def to_json(self) -> dict:
        return {"type": "minmax", "range": [-1.0, 1.0],
                "low": [float(v) for v in self.low], "high": [float(v) for v in self.high]}

    @classmethod
    def from_json(cls, payload: dict) -> "MinMaxNormalizer":
        if payload.get("type") != "minmax":
            raise ValueError(f"unknown normalizer type {payload.get('type')!r} (allowed: 'minmax')")
        return cls(np.array(payload["low"], dtype=np.float32), np.array(payload["high"], dtype=np.float32))


def _like(values: np.ndarray, x):
    """values as the same array type (numpy or torch, device, dtype) as x."""
    if isinstance(x, np.ndarray):
        return values.astype(x.dtype, copy=False)
    import torch
    return torch.as_tensor(values, dtype=x.dtype, device=x.device)
