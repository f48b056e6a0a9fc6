"""Hardness ranking for the hardest-20 queue: recordings.ranking over the summary table (the
documented score, shared with scripts and reports), plus what the weights dialog shows."""
from __future__ import annotations

import numpy as np

from recordings import ranking

DESCRIPTIONS = {
    "failure": "Failure: 1 for a failed rollout (keep it above the sum of the others to rank "
               "every failure first)",
    "min_clearance": "Low clearance: closest approach to an obstacle, lower is harder (percentile)",
    "mode_switches": "Mode switches: executed mode changes between replans (percentile)",
    "plan_exec_gap": "Plan-execution gap: predicted vs executed path (percentile)",
    "sample_disagreement": "Sample disagreement: spread among the plans sampled at each replan "
                           "(percentile)",
}


def weight_defaults() -> dict[str, float]:
    return ranking.default_weights()


def weight_descriptions() -> dict[str, str]:
    return dict(DESCRIPTIONS)


def rank_rows(columns: dict[str, np.ndarray],
              weights: dict[str, float] | None) -> tuple[np.ndarray, np.ndarray]:
    """(rows hardest first [M] int, hardness score of every row [M] float)."""
    result = ranking.hardness(columns, weights)
    return np.asarray(result.order), np.asarray(result.score, dtype=np.float64)
