"""Mode colours: a colour-blind-safe palette (Okabe–Ito, reordered and brightened where needed
so every colour keeps strong contrast on the dark theme's near-black background).

Vermillion is left out on purpose: red is reserved for infeasible plans and collision markers, so
"red" never means a mode. Plans in no mode (averaging / unlabelled) are grey.
Colours are RGBA floats in [0, 1] (GL) and hex strings (2-D pens, widgets).
"""
from __future__ import annotations

import numpy as np

MODE_HEX = ("#56B4E9",  # sky blue
            "#E69F00",  # orange
            "#009E73",  # bluish green
            "#F0E442",  # yellow
            "#CC79A7",  # reddish purple
            "#5DA9FF",  # blue, brightened from #0072B2 for the dark background
            "#B7E4A7",  # pale green
            "#FFB6DB",  # pink
            "#C9A0FF")  # lavender
UNLABELLED_HEX = "#8C8C8C"
INFEASIBLE_HEX = "#FF3B30"
SELECTED_HEX = "#FFFFFF"
BASELINE_HEX = "#FF5CF0"   # magenta: unlike every mode colour, so the baseline never reads as a mode


def hex_to_rgba(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16) / 255.0, int(h[2:4], 16) / 255.0, int(h[4:6], 16) / 255.0, float(alpha))


def mode_hex(label: int) -> str:
    """Hex colour of mode `label` (0-based); negative labels (no mode) are grey."""
    if label < 0:
        return UNLABELLED_HEX
    return MODE_HEX[label % len(MODE_HEX)]


def mode_rgba_table(alpha: float = 1.0) -> np.ndarray:
    """[len(MODE_HEX) + 1, 4] float32: row i is mode i, the last row is the unlabelled grey, so
    `table[labels]` works with labels == -1."""
    rows = [hex_to_rgba(h, alpha) for h in MODE_HEX] + [hex_to_rgba(UNLABELLED_HEX, alpha)]
    return np.asarray(rows, dtype=np.float32)


def label_colours(labels: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """[N] int labels -> [N, 4] float32 RGBA (labels beyond the palette wrap around)."""
    labels = np.asarray(labels, dtype=np.int64)
    table = mode_rgba_table(alpha)
    idx = np.where(labels < 0, len(MODE_HEX), labels % len(MODE_HEX))
    return table[idx]
