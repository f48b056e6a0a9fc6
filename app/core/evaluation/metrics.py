"""Per-rollout metrics computed from the closed-loop trace (no simulator needed).

Metric keys (all floats, NaN where undefined), stored in the rollout's `metrics` and the file's
summary table:
    success               1.0 / 0.0
    num_steps             control steps executed (10 Hz)
    contacts              unsafe contact events (arm or gripper hitting something it must not)
    contact_events        all contact events, safe ones included
    min_clearance         metres; smallest clearance the scene reported (NaN if it reports none)
    replans               planner calls
    mode_switches         times the executed sample's mode changed between consecutive replans
    plan_exec_gap         metres; mean |planned waypoint xyz - end-effector xyz reached| over
                          executed steps (how far execution fell behind or off the plan)
    plan_exec_gap_max     metres; worst single step
    time_to_success       seconds from reset to the first success event (NaN if none)
    latency_ms_mean / latency_ms_max   wall time of one replan (sampling N plans), ms
    infeasible_executed   replans whose executed sample failed the scene's feasibility check
    mode_disagreement     mean over replans of the share of samples in another mode than the
                          executed one (0 = all agree)
    between_modes         replans where the executed sample sat between modes (its label is not
                          one of the scene's modes, e.g. the averaged path of a regression policy)
    nonfinite_plans       non-finite values in sampled plans (should be 0)
    share_<mode>, share_other   mode mix of the N samples at the first replan
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def is_unsafe(event) -> bool:
    """True for a contact the task forbids. Scenes report every new touching pair as a plain
    "contact" event (the fingers closing on the mug, the mug resting on the table: expected), and
    a contact that breaks the task's rules with detail["violation"] (the reason) or
    detail["unsafe"] = True; only those count as unsafe."""
    if event.kind != "contact":
        return False
    return bool(event.detail.get("violation")) or bool(event.detail.get("unsafe", False))


@dataclass
class RolloutTrace:
    """What metrics and failure labels need from one rollout.

    actions [T, D] applied actions; ee_positions [T+1, 3] metres (before each step, then after the
    last) or None; replan_steps [R]; executed_chunks R x [k, D]; sample_labels R x N labels."""
    actions: np.ndarray
    ee_positions: np.ndarray | None
    events: list
    success: bool
    replan_steps: list[int]
    executed_chunks: list[np.ndarray]
    executed_labels: list[str]
    sample_labels: list[list[str]]
    executed_feasible: list[bool]
    latencies_ms: list[float]
    nonfinite: int = 0
    modes: tuple[str, ...] = ()
    control_hz: float = 10.0
    clearances: list[float] = field(default_factory=list)


def _plan_execution_gap(trace: RolloutTrace) -> tuple[float, float]:
    if trace.ee_positions is None or not trace.executed_chunks:
        return math.nan, math.nan
    gaps = []
    last = trace.ee_positions.shape[0] - 1
    for step, chunk in zip(trace.replan_steps, trace.executed_chunks):
        for k in range(chunk.shape[0]):
            t = step + k + 1          # position reached after executing waypoint k
            if t > last:
                break
            gaps.append(float(np.linalg.norm(chunk[k, :3] - trace.ee_positions[t])))
    if not gaps:
        return math.nan, math.nan
    return float(np.mean(gaps)), float(np.max(gaps))


def _clearances(trace: RolloutTrace) -> list[float]:
    out = list(trace.clearances)
    for event in trace.events:
        value = event.detail.get("clearance") if hasattr(event, "detail") else None
        if isinstance(value, (int, float)):
            out.append(float(value))
    return out


def compute_metrics(trace: RolloutTrace) -> dict[str, float]:
    """The metric dict of one rollout (see the module docstring for keys and units)."""
    contacts = [e for e in trace.events if e.kind == "contact"]
    success_steps = [e.step for e in trace.events if e.kind == "success"]
    switches = sum(1 for a, b in zip(trace.executed_labels, trace.executed_labels[1:]) if a != b)
    disagreement = [float(np.mean([lab != ex for lab in labels])) if labels else 0.0
                    for ex, labels in zip(trace.executed_labels, trace.sample_labels)]
    gap_mean, gap_max = _plan_execution_gap(trace)
    clear = _clearances(trace)
    lat = np.asarray(trace.latencies_ms, dtype=np.float64)
    modes = set(trace.modes)
    metrics = {
        "success": 1.0 if trace.success else 0.0,
        "num_steps": float(trace.actions.shape[0]),
        "contacts": float(sum(is_unsafe(e) for e in contacts)),
        "contact_events": float(len(contacts)),
        "min_clearance": float(min(clear)) if clear else math.nan,
        "replans": float(len(trace.replan_steps)),
        "mode_switches": float(switches),
        "plan_exec_gap": gap_mean,
        "plan_exec_gap_max": gap_max,
        "time_to_success": (min(success_steps) + 1) / trace.control_hz if success_steps else math.nan,
        "latency_ms_mean": float(lat.mean()) if lat.size else math.nan,
        "latency_ms_max": float(lat.max()) if lat.size else math.nan,
        "infeasible_executed": float(sum(not f for f in trace.executed_feasible)),
        "mode_disagreement": float(np.mean(disagreement)) if disagreement else 0.0,
        "between_modes": float(sum(1 for lab in trace.executed_labels if modes and lab not in modes)),
        "nonfinite_plans": float(trace.nonfinite),
    }
    metrics.update(first_replan_shares(trace))
    return metrics


def first_replan_shares(trace: RolloutTrace) -> dict[str, float]:
    """share_<mode> for each scene mode, and share_other: the mode mix of the samples the planner
    drew from the reset observation (comparable with the training data's mode shares)."""
    if not trace.sample_labels or not trace.modes:
        return {}
    labels = trace.sample_labels[0]
    out = {f"share_{m}": sum(lab == m for lab in labels) / len(labels) for m in trace.modes}
    out["share_other"] = sum(lab not in trace.modes for lab in labels) / len(labels)
    return out
