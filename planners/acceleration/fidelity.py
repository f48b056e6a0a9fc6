"""Fidelity check: may this policy sample in reduced precision? Run once per loaded policy.

The same seeds are sampled in float32 and in the reduced precision (bfloat16 / float16), same
solver and steps, at a few observations. The check passes when
  - every reduced-precision plan is finite;
  - mode shares agree: the float32 and reduced plans are clustered together (planners.modes'
    clustering, so both sets share the clusters), and every cluster's reduced-precision share lies
    inside the 95 % Wilson interval of its float32 share;
  - the mean waypoint deviation |plan_float32 - plan_reduced|, per action dimension as a fraction
    of that dimension's range (the action normalizer's max - min), averaged over samples,
    waypoints and dimensions, is below MAX_DEVIATION (2 % of the action range).
When it fails the policy stays in float32 and `reason` says which rule failed with the numbers.
The report is cached on disk with the calibrations, keyed by the weights' fingerprint, the
precision, the check's settings and the machine (torch, CPU ISA, device).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from planners.acceleration.calibration import SCHEMA, write_json_atomic

MAX_DEVIATION = 0.02          # of the action range, mean over samples, waypoints and dimensions
CHECK_SAMPLES = 64            # plans per observation and precision
CHECK_VERSION = 1             # bump when the rules change: cached reports are then re-checked

SampleFn = Callable[[str, int, int], np.ndarray]   # (precision, observation index, seed) -> plans [N, H, D]


@dataclass
class FidelityReport:
    """Outcome of one check. shares: per cluster (float32 share, reduced share, low, high) with the
    float32 share's 95 % interval; deviation: mean waypoint deviation / action range."""
    passed: bool
    precision: str
    reason: str
    deviation: float
    shares: list[tuple[float, float, float, float]] = field(default_factory=list)
    num_samples: int = 0
    observations: int = 0
    solver: str = ""
    steps: int = 0
    from_cache: bool = False

    def to_json(self) -> dict:
        payload = asdict(self)
        payload.pop("from_cache")
        return payload

    @classmethod
    def from_json(cls, payload: dict) -> "FidelityReport":
        payload = dict(payload)
        payload["shares"] = [tuple(float(v) for v in row) for row in payload.get("shares", [])]
        return cls(**payload, from_cache=True)


def compare_plans(plans32: Sequence[np.ndarray], plans_reduced: Sequence[np.ndarray], action_range: np.ndarray,
                  precision: str, *, seed: int = 0) -> FidelityReport:
    """Apply the rules of the module doc to paired plan sets, one pair [N, H, D] per observation
    (action units); action_range [D] > 0."""
    from planners.mode_verdicts import wilson
    from planners.modes import analyze_modes

    scale = np.maximum(np.asarray(action_range, dtype=np.float64), 1e-12)
    n_total = sum(len(p) for p in plans32)
    for a, b in zip(plans32, plans_reduced):
        if not np.isfinite(b).all():
            bad = int((~np.isfinite(b).reshape(len(b), -1).all(axis=1)).sum())
            return FidelityReport(False, precision, f"float32: {precision} gave {bad} non-finite plans of {len(b)} "
                                  f"where float32 gave {int((~np.isfinite(a).reshape(len(a), -1).all(axis=1)).sum())}",
                                  float("nan"), num_samples=n_total, observations=len(plans32))
    deviation = float(np.mean(np.concatenate([
        (np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)) / scale).reshape(-1)
        for a, b in zip(plans32, plans_reduced)])))
    rows, worst = [], None
    for a, b in zip(plans32, plans_reduced):
        n = len(a)
        assignment = analyze_modes(np.concatenate([a, b]), seed=seed).assignment
        for cluster in sorted(set(assignment[assignment >= 0].tolist())):
            k32, kr = int((assignment[:n] == cluster).sum()), int((assignment[n:] == cluster).sum())
            lo, hi = wilson(k32, n)
            rows.append((k32 / n, kr / n, lo, hi))
            if not lo <= kr / n <= hi and worst is None:
                worst = rows[-1]
    limit = f"{MAX_DEVIATION:.0%}"
    if worst is not None:
        reason = (f"float32: {precision} moved a mode's share from {worst[0]:.0%} to {worst[1]:.0%}, outside "
                  f"float32's 95% interval {worst[2]:.0%}-{worst[3]:.0%} (same seeds)")
    elif not deviation < MAX_DEVIATION:
        reason = (f"float32: {precision} plans deviate from float32's by {deviation:.1%} of the action range "
                  f"on average (limit {limit})")
    else:
        reason = (f"{precision}: same seeds as float32 give mode shares inside float32's 95% intervals and a "
                  f"mean waypoint deviation of {deviation:.2%} of the action range (limit {limit})")
    return FidelityReport(worst is None and deviation < MAX_DEVIATION, precision, reason, deviation, rows,
                          num_samples=n_total, observations=len(plans32))


def run_check(sample: SampleFn, num_observations: int, action_range: np.ndarray, precision: str, *,
              seeds: Sequence[int] = (0,)) -> FidelityReport:
    """Sample every (observation, seed) in float32 and in `precision` and compare (module doc)."""
    plans32, reduced = [], []
    for obs_index in range(num_observations):
        for seed in seeds:
            plans32.append(np.asarray(sample("float32", obs_index, seed)))
            reduced.append(np.asarray(sample(precision, obs_index, seed)))
    return compare_plans(plans32, reduced, action_range, precision)


def fidelity_key(weights_key: str, precision: str, settings: dict, signature: dict) -> str:
    machine = {k: v for k, v in signature.items() if k != "threads"}   # numerics do not depend on threads
    text = json.dumps({"schema": SCHEMA, "check": CHECK_VERSION, "weights": weights_key, "precision": precision,
                       "settings": settings, "limit": MAX_DEVIATION, **machine}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def read_report(directory: Path, key: str) -> FidelityReport | None:
    try:
        payload = json.loads((directory / f"fidelity-{key}.json").read_text())
        if payload.pop("key", None) != key:
            return None
        return FidelityReport.from_json(payload)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_report(directory: Path, key: str, report: FidelityReport) -> None:
    write_json_atomic(directory / f"fidelity-{key}.json", {"key": key, **report.to_json()})
