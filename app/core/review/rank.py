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


def rank_files(tables: list[dict[str, np.ndarray]],
               weights: dict[str, float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank the rows of several summary tables as ONE population (percentiles over all of them).

    -> (file index [M], row [M], score [M]) hardest first. Columns missing from a file count as
    unknown (NaN: no contribution); a file without `success` counts its rows as successes."""
    counts = [len(np.asarray(t["id"])) for t in tables]
    total = sum(counts)
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    files = np.repeat(np.arange(len(tables)), counts)
    rows = np.concatenate([np.arange(c) for c in counts])
    merged: dict[str, np.ndarray] = {"id": np.arange(total),
                                     "success": np.concatenate([np.asarray(t.get("success", np.ones(c, bool)),
                                                                           dtype=bool)
                                                                for t, c in zip(tables, counts)])}
    numeric = {k for t in tables for k, v in t.items()
               if k not in merged and np.asarray(v).dtype.kind in "fiub"}
    for key in numeric:
        merged[key] = np.concatenate([np.asarray(t[key], np.float64) if key in t else np.full(c, np.nan)
                                      for t, c in zip(tables, counts)])
    order, score = rank_rows(merged, weights)
    return files[order], rows[order], score[order]
