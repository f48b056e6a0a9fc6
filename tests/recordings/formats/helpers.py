"""Shared helpers for the data-set format tests: paths of the committed fixtures and a reference
implementation of LeRobot's window rule (lerobot_dataset.py, _get_query_indices)."""
from __future__ import annotations

import os

import numpy as np

DATA = os.path.join(os.path.dirname(__file__), "data")
LEROBOT_REAL = os.path.join(DATA, "lerobot_v3", "dataset")
LEROBOT_GOLDEN = os.path.join(DATA, "lerobot_v3", "golden.npz")
DP_REAL = os.path.join(DATA, "dp_replay", "buffer_v2.zarr")
DP_GOLDEN = os.path.join(DATA, "dp_replay", "golden.npz")
EXPORT_DIR = os.path.join(DATA, "planscope_export")


def lerobot_query(abs_idx: int, ep_start: int, ep_end: int, deltas: list[int]
                  ) -> tuple[list[int], list[bool]]:
    """LeRobot 0.4.4's rule, verbatim in numbers: indices clamped to the episode, is_pad outside."""
    idx = [max(ep_start, min(ep_end - 1, abs_idx + d)) for d in deltas]
    pad = [(abs_idx + d < ep_start) | (abs_idx + d >= ep_end) for d in deltas]
    return idx, pad


def golden_image(value: np.ndarray) -> np.ndarray:
    """LeRobot gives cameras as [..., 3, H, W]; planscope as [..., H, W, 3]."""
    return np.moveaxis(value, -3, -1)
