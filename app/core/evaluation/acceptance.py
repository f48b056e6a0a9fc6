"""The acceptance rule: is the candidate (last policy) better than the baseline (first policy)?

ACCEPT when both hold, on the rollouts both policies ran (same seed, same perturbation cell;
failed-to-run pairs left out):
  1. improvement >= min_improvement, where improvement is measured in the metric's good direction:
     - success: candidate success rate - baseline success rate (absolute; 0.10 = 10 points);
     - any other metric: relative change of its mean, (cand - base) / |base| (sign flipped for
       metrics where lower is better, e.g. contacts, time_to_success);
  2. the candidate does not increase unsafe events (total unsafe contacts over the panel <= the
     baseline's).
The rule is the point estimate, as the team's rule states it; the 95 % intervals printed with it
(Wilson per rate, paired bootstrap for the difference) say how far to trust it, and the decision
notes when the difference's interval includes zero.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.core.evaluation.failure_labels import FAILED_TO_RUN
from app.core.evaluation.stats import paired_bootstrap, wilson

# metric -> +1 higher is better, -1 lower is better
METRICS: dict[str, int] = {"success": +1, "contacts": -1, "min_clearance": +1,
                           "time_to_success": -1, "plan_exec_gap": -1, "mode_switches": -1}


@dataclass
class Decision:
    accept: bool
    metric: str
    baseline: str
    candidate: str
    pairs: int
    baseline_value: float
    candidate_value: float
    baseline_ci: tuple[float, float]
    candidate_ci: tuple[float, float]
    improvement: float
    improvement_ci: tuple[float, float]
    min_improvement: float
    baseline_unsafe: int
    candidate_unsafe: int
    baseline_unsafe_rate: float
    candidate_unsafe_rate: float
    reasons: list[str]
    significant: bool

    @property
    def verdict(self) -> str:
        return "ACCEPT" if self.accept else "REJECT"

    @property
    def unsafe_change(self) -> int:
        return self.candidate_unsafe - self.baseline_unsafe


def paired_values(columns: dict, baseline: str, candidate: str,
                  metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(baseline values, candidate values, baseline unsafe, candidate unsafe) over matching
    (seed, perturbation) pairs, [P] each, in a fixed order."""
    policy = np.asarray(columns["policy"])
    label = np.asarray(columns["failure_label"])
    keys = list(zip(np.asarray(columns["seed"]).tolist(),
                    np.asarray(columns["perturbation"]).tolist()))
    values = (np.asarray(columns["success"], dtype=np.float64) if metric == "success"
              else np.asarray(columns.get(metric, np.full(len(keys), math.nan)), np.float64))
    unsafe = np.nan_to_num(np.asarray(columns.get("contacts", np.zeros(len(keys))), np.float64))
    index: dict[tuple[str, object], int] = {}
    for i, (p, k, lab) in enumerate(zip(policy, keys, label)):
        if lab != FAILED_TO_RUN:
            index[(str(p), k)] = i
    pairs = sorted(k for (p, k) in index if p == baseline and (candidate, k) in index)
    b = np.array([index[(baseline, k)] for k in pairs], dtype=np.int64)
    c = np.array([index[(candidate, k)] for k in pairs], dtype=np.int64)
    return values[b], values[c], unsafe[b], unsafe[c]


def decide_columns(columns: dict, baseline: str, candidate: str, *, metric: str = "success",
                   min_improvement: float = 0.10) -> Decision:
    """Apply the rule to summary columns (policy, seed, perturbation, success, failure_label,
    contacts and the metric)."""
    if metric not in METRICS:
        raise ValueError(f"unknown acceptance metric {metric!r}; valid: {', '.join(METRICS)}")
    direction = METRICS[metric]
    base, cand, ub, uc = paired_values(columns, baseline, candidate, metric)
    pairs = int(base.size)
    reasons: list[str] = []
    if metric == "success":
        bv, cv = float(base.mean()) if pairs else math.nan, float(cand.mean()) if pairs else math.nan
        bci, cci = wilson(int(base.sum()), pairs), wilson(int(cand.sum()), pairs)
        improvement = cv - bv
        lo, hi = paired_bootstrap(base, cand)
        improvement_ci = (lo, hi)
    else:
        bv, cv = float(np.nanmean(base)) if pairs else math.nan, \
            float(np.nanmean(cand)) if pairs else math.nan
        bci = cci = (math.nan, math.nan)
        scale = abs(bv) if bv and math.isfinite(bv) else math.nan
        improvement = direction * (cv - bv) / scale
        lo, hi = paired_bootstrap(base, cand)
        improvement_ci = tuple(sorted((direction * lo / scale, direction * hi / scale)))
    b_unsafe, c_unsafe = int(ub.sum()), int(uc.sum())
    ok_metric = pairs > 0 and math.isfinite(improvement) and improvement >= min_improvement - 1e-12
    ok_safety = c_unsafe <= b_unsafe
    if pairs == 0:
        reasons.append("no rollouts that both policies ran")
    elif not ok_metric:
        reasons.append(f"{metric} improved by {_fmt(improvement, metric)}, "
                       f"needs >= {_fmt(min_improvement, metric)}")
    if not ok_safety:
        reasons.append(f"unsafe events increased ({b_unsafe} -> {c_unsafe})")
    significant = bool(math.isfinite(improvement_ci[0]) and improvement_ci[0] > 0)
    return Decision(accept=ok_metric and ok_safety, metric=metric, baseline=baseline,
                    candidate=candidate, pairs=pairs, baseline_value=bv, candidate_value=cv,
                    baseline_ci=bci, candidate_ci=cci, improvement=improvement,
                    improvement_ci=(float(improvement_ci[0]), float(improvement_ci[1])),
                    min_improvement=min_improvement, baseline_unsafe=b_unsafe,
                    candidate_unsafe=c_unsafe,
                    baseline_unsafe_rate=float((ub > 0).mean()) if pairs else math.nan,
                    candidate_unsafe_rate=float((uc > 0).mean()) if pairs else math.nan,
                    reasons=reasons, significant=significant)


def decide(summary, *, metric: str = "success", min_improvement: float = 0.10) -> Decision:
    """The rule on an EvalSummary: candidate = last policy, baseline = first."""
    if len(summary.policies) < 2:
        raise ValueError("the acceptance rule needs two policies (baseline first, candidate last)")
    return decide_columns(summary.columns, summary.policies[0], summary.policies[-1],
                          metric=metric, min_improvement=min_improvement)


def _fmt(x: float, metric: str) -> str:
    if not math.isfinite(x):
        return "n/a"
    if metric == "success":
        return f"{100 * x:+.1f} points"
    return f"{100 * x:+.1f} %"


def _rate(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.1f}%"


def format_decision(d: Decision) -> str:
    """Multi-line text: the verdict first, then the numbers behind it."""
    if d.metric == "success":
        values = (f"  success: baseline {d.baseline} {_rate(d.baseline_value)} "
                  f"[95% CI {_rate(d.baseline_ci[0])}, {_rate(d.baseline_ci[1])}]  ->  "
                  f"candidate {d.candidate} {_rate(d.candidate_value)} "
                  f"[{_rate(d.candidate_ci[0])}, {_rate(d.candidate_ci[1])}]")
    else:
        values = (f"  {d.metric}: baseline {d.baseline} {d.baseline_value:.4g}  ->  "
                  f"candidate {d.candidate} {d.candidate_value:.4g}")
    lines = [
        f"{d.verdict}: {d.candidate} over {d.baseline} on {d.metric} "
        f"({d.pairs} paired rollouts, same seeds and perturbations)",
        values,
        f"  improvement {_fmt(d.improvement, d.metric)} [95% bootstrap CI "
        f"{_fmt(d.improvement_ci[0], d.metric)}, {_fmt(d.improvement_ci[1], d.metric)}], "
        f"required >= {_fmt(d.min_improvement, d.metric)}"
        + ("" if d.significant else "  (interval includes zero: not significant)"),
        f"  unsafe events: {d.baseline_unsafe} -> {d.candidate_unsafe} "
        f"(change {d.unsafe_change:+d}; rollouts with one: {_rate(d.baseline_unsafe_rate)} -> "
        f"{_rate(d.candidate_unsafe_rate)})",
    ]
    if d.reasons:
        lines.append("  reason: " + "; ".join(d.reasons))
    return "\n".join(lines)
