"""Hardness ranking over the summary table: which rollouts a reviewer should look at first.

    score = w_failure * failed + sum_k w_k * c_k

failed is 1 for a rollout with success False. Each component c_k in [0, 1] is the rollout's
percentile among the rollouts that report that metric, oriented so that 1 = hardest:

    min_clearance        lower is harder   c = fraction of other rollouts with a larger value
    mode_switches        higher is harder  c = fraction of other rollouts with a smaller value
    plan_exec_gap        higher is harder
    sample_disagreement  higher is harder

("fraction of other rollouts" = count / (n - 1) over the n finite values; ties share the lower
value, so the common case "0 mode switches" scores 0.) A rollout that does not report a metric
(NaN) gets 0 for it: missing data is not evidence of difficulty. Percentiles make the metrics,
which have different units (metres, counts), comparable and robust to outliers.

Default weights: each component 1, failure 1 + the sum of the others, so every failure ranks
above every success (whatever the weights of the components, failures stay first as long as
w_failure > sum of the component weights). Ties are broken by rollout id, ascending. Any other
numeric summary column (e.g. "contacts") may be given a weight; it counts as higher = harder.
Cost: O(M log M) vectorised numpy; 10,000 rows take about a millisecond.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Component -> direction (+1: higher is harder, -1: lower is harder).
COMPONENTS: dict[str, int] = {"min_clearance": -1, "mode_switches": +1, "plan_exec_gap": +1,
                              "sample_disagreement": +1}
DEFAULT_COMPONENT_WEIGHTS: dict[str, float] = {name: 1.0 for name in COMPONENTS}


def default_weights() -> dict[str, float]:
    """{"failure": 5.0, "min_clearance": 1.0, ...}: the documented defaults."""
    weights = dict(DEFAULT_COMPONENT_WEIGHTS)
    return {"failure": 1.0 + sum(weights.values()), **weights}


@dataclass
class Ranking:
    """order [M]: row indices, hardest first; score [M] (by row); components: name -> [M] in
    [0, 1] (unweighted, by row; "failure" included); weights: the weights used."""
    order: np.ndarray
    score: np.ndarray
    components: dict[str, np.ndarray] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)

    def top(self, k: int = 20) -> np.ndarray:
        return self.order[:k]

    def explain(self, row: int) -> dict[str, float]:
        """Weighted contribution of each component to one row's score (for a tooltip)."""
        return {name: float(self.weights.get(name, 0.0) * comp[row])
                for name, comp in self.components.items()}


def percentile_component(values: np.ndarray, direction: int) -> np.ndarray:
    """[M] in [0, 1]: share of the other finite values the value beats (see module docstring);
    NaN -> 0."""
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros(values.shape, dtype=np.float64)
    finite = np.isfinite(values)
    n = int(finite.sum())
    if n < 2:
        return out
    ref = np.sort(values[finite])
    v = values[finite]
    if direction > 0:
        beaten = np.searchsorted(ref, v, side="left")            # strictly smaller values
    else:
        beaten = n - np.searchsorted(ref, v, side="right")       # strictly larger values
    out[finite] = beaten / (n - 1)
    return out


def _resolve_weights(summary: dict[str, np.ndarray],
                     weights: dict[str, float] | None) -> dict[str, float]:
    resolved = default_weights()
    if weights:
        for name, w in weights.items():
            col = summary.get(name)
            numeric = col is not None and np.asarray(col).dtype.kind in "fiub"
            if name != "failure" and name not in COMPONENTS and not numeric:
                valid = ", ".join(["failure", *COMPONENTS])
                raise ValueError(f"unknown hardness weight {name!r}; valid: {valid} or a numeric "
                                 f"summary column")
            if not np.isfinite(w) or w < 0:
                raise ValueError(f"hardness weight {name!r} must be a number >= 0, got {w}")
            resolved[name] = float(w)
        if "failure" not in weights:   # keep "failures first" when only components were changed
            resolved["failure"] = 1.0 + sum(v for k, v in resolved.items() if k != "failure")
    return resolved


def hardness(summary: dict[str, np.ndarray], weights: dict[str, float] | None = None) -> Ranking:
    """Score and order every row of a summary table (RecordingReader.summary)."""
    ids = np.asarray(summary["id"], dtype=np.int64)
    m = ids.shape[0]
    w = _resolve_weights(summary, weights)
    success = np.asarray(summary.get("success", np.ones(m, bool)), dtype=bool)
    components = {"failure": (~success).astype(np.float64)}
    for name in w:
        if name == "failure":
            continue
        col = summary.get(name)
        components[name] = np.zeros(m) if col is None else \
            percentile_component(col, COMPONENTS.get(name, +1))
    score = np.zeros(m, dtype=np.float64)
    for name, comp in components.items():
        score += w.get(name, 0.0) * comp
    order = np.lexsort((ids, -score))
    return Ranking(order=order, score=score, components=components, weights=w)


def hardest(summary: dict[str, np.ndarray], k: int = 20,
            weights: dict[str, float] | None = None) -> np.ndarray:
    """Row indices of the k hardest rollouts, hardest first (fewer when the file has fewer)."""
    return hardness(summary, weights).top(k)
