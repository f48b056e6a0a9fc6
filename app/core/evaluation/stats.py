"""Confidence intervals used by the acceptance rule, the report and the Evaluation view."""
from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial rate (95 % by default); (nan, nan) when n == 0.
    Unlike the normal approximation it stays inside [0, 1] and is sensible at 0 % and 100 %."""
    if n <= 0:
        return math.nan, math.nan
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_bootstrap(baseline: np.ndarray, candidate: np.ndarray, *, reps: int = 4000,
                     seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of mean(candidate - baseline) over paired rollouts ([M] each, the
    same seed and perturbation at each index). Resampling pairs keeps the seed panel's pairing,
    so a hard seed counts against both policies. Deterministic for a seed."""
    diff = np.asarray(candidate, np.float64) - np.asarray(baseline, np.float64)
    diff = diff[np.isfinite(diff)]
    if diff.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diff.size, size=(reps, diff.size))
    means = diff[idx].mean(axis=1)
    alpha = (1.0 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))
