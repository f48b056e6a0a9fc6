"""Turn a PlanBatch into what the inspector draws: modes, feasibility, per-step chain statistics.

Qt-free and run on the worker thread (the scene's check_plan and the clustering cost tens of ms).
Ground-truth mode labels come from the scene (`label_mode`), the verdict, clusters and commit steps
from planners.modes when it is available; the labels-only path below is what remains when a
scene knows no modes or a plugin planner's batch has no chain.

Shapes: plans [N, H, D] (x, y, z metres, gripper), chain [S+1, N, H, D], x0_estimates [S, N, H, D].
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from app.state.inspector import (UNLABELLED, ChainStats, Feasibility, ModeSummary, SampleResult)
from recordings.plan_batch import PlanBatch

MIN_CLUSTER_SHARE = 0.02  # a "mode" in the per-step count holds at least 2 % of the samples
STEP_LABEL_SAMPLES = 128  # samples labelled at every chain step for the per-step mode count


def label_paths(scene: Any, paths: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """[N] index into `names` of scene.label_mode(path) per path; UNLABELLED for "" / unknown /
    non-finite paths. paths [N, H, D]."""
    index = {name: i for i, name in enumerate(names)}
    out = np.full(len(paths), UNLABELLED, dtype=np.int64)
    for n, path in enumerate(paths):
        if np.isfinite(path[:, :3]).all():
            out[n] = index.get(scene.label_mode(path), UNLABELLED)
    return out


def feasibility_of(scene: Any, plans: np.ndarray) -> Feasibility:
    """Run the scene's feasibility check on every plan [N, H, D]. Non-finite plans are infeasible
    at waypoint 0 without asking the scene (PyBullet's IK would choke on NaN)."""
    n = len(plans)
    finite = np.isfinite(plans.reshape(n, -1)).all(axis=1)
    feasible = np.zeros(n, dtype=bool)
    bad = np.zeros(n, dtype=np.int64)
    hit = ["non-finite"] * n
    rows = np.flatnonzero(finite)
    if hasattr(scene, "check_plans"):
        checks = scene.check_plans(plans[rows]) if rows.size else []
    else:
        checks = [scene.check_plan(plans[r]) for r in rows]
    for r, check in zip(rows, checks):
        feasible[r] = bool(check.feasible)
        bad[r] = -1 if check.feasible else max(check.first_bad_waypoint, 0)
        hit[r] = next((c for c in check.collides_with if c), "") if not check.feasible else ""
    return Feasibility(feasible=feasible, bad_waypoint=bad, collides_with=hit)


def normalized_entropy(shares: np.ndarray) -> float:
    """H(shares) / log M over the M modes; 0 for a single mode."""
    shares = np.asarray(shares, dtype=np.float64)
    if len(shares) < 2 or shares.sum() <= 0:
        return 0.0
    p = shares[shares > 0] / shares.sum()
    return float(-(p * np.log(p)).sum() / np.log(len(shares)))


def commit_steps(step_labels: np.ndarray, final: np.ndarray) -> np.ndarray:
    """step_labels [S, N], final [N] -> [N] the first step k (1..S) after which every later
    x0-estimate (and the final plan) has the final mode; -1 when the final plan has no mode."""
    s, n = step_labels.shape
    agrees = np.concatenate([step_labels, final[None]], axis=0) == final[None]   # [S+1, N]
    # walking back from the end, the last disagreement + 1 is where the sample stops changing
    tail_ok = np.flip(np.cumprod(np.flip(agrees, axis=0), axis=0), axis=0).astype(bool)
    first = np.where(tail_ok.any(axis=0), tail_ok.argmax(axis=0), s)
    return np.where(final >= 0, np.clip(first + 1, 1, s), -1).astype(np.int64)


def summary_from_labels(names: Sequence[str], labels: np.ndarray, data_shares: dict[str, float] | None,
                        step_labels: np.ndarray | None = None, verdict: str = "",
                        reason: str = "") -> ModeSummary:
    """Shares, entropy and coverage from per-sample labels [N] (index into names, -1 = none)."""
    m = len(names)
    shares = np.array([(labels == i).mean() if len(labels) else 0.0 for i in range(m)])
    data = None
    coverage = None
    if data_shares:
        data = np.array([float(data_shares.get(name, 0.0)) for name in names])
        present = data >= 0.05
        coverage = float(((shares > MIN_CLUSTER_SHARE) & present).sum() / max(present.sum(), 1))
    commit = commit_steps(step_labels, labels) if step_labels is not None and len(step_labels) else None
    return ModeSummary(names=list(names), labels=labels, shares=shares, data_shares=data,
                       entropy=normalized_entropy(shares), coverage=coverage, verdict=verdict,
                       reason=reason, commit_step=commit, step_labels=step_labels)


def chain_stats(batch: PlanBatch, summary: ModeSummary | None) -> ChainStats | None:
    """spread_m [S+1]: mean distance (m) of x_t's end-effector waypoints from the batch mean at each
    chain index; clusters [S+1]: modes holding >= 2 % of the samples' x0-estimates at that step."""
    if not batch.has_chain:
        return None
    xyz = batch.chain[..., :3].astype(np.float64)                          # [S+1, N, H, 3]
    centre = np.nanmean(xyz, axis=1, keepdims=True)
    spread = np.nanmean(np.linalg.norm(xyz - centre, axis=-1), axis=(1, 2))
    s = batch.num_steps
    clusters = np.zeros(s + 1, dtype=np.int64)
    if summary is not None and summary.step_labels is not None:
        final = summary.labels
        subset = getattr(summary, "step_label_samples", None)
        if subset is not None:
            final = final[subset]
        rows = list(summary.step_labels) + [final]
        for k, labels in enumerate(rows[: s + 1]):
            counts = np.bincount(labels[labels >= 0], minlength=summary.num_modes)
            clusters[k] = int((counts >= MIN_CLUSTER_SHARE * len(labels)).sum())
    return ChainStats(spread_m=spread, clusters=clusters)


def analyse(batch: PlanBatch, scene: Any | None, data_shares: dict[str, float] | None = None,
            *, feasibility: bool = True, chain_labels: bool = True,
            mode_refs: dict[str, np.ndarray] | None = None) -> SampleResult:
    """Everything the views need for one final batch. scene may be None (clusters only, no
    feasibility). mode_refs {mode: [H, D]} are the modes' reference plans for the averaging
    score (default: the mean plan of each labelled mode in this batch)."""
    from planners.modes import analyze_modes

    names = list(getattr(scene, "modes", ()) or ()) if scene is not None else []
    label_idx = label_paths(scene, batch.plans, names) if names else None
    label_text = None
    if label_idx is not None:
        label_text = [names[i] if i >= 0 else "" for i in label_idx]
        if mode_refs is None:
            mode_refs = mode_references(batch.plans, label_idx, names)
    analysis = analyze_modes(batch.plans, x0_estimates=batch.x0_estimates if batch.has_chain else None,
                             labels=label_text, data_shares=data_shares or None,
                             mode_refs=mode_refs or None, seed=int(batch.seed))
    step_labels = None
    if names and batch.has_chain and chain_labels:
        # per-step mode counts: label at most STEP_LABEL_SAMPLES samples per step (a count of
        # modes holding >= 2 % needs no more, and S x N scene queries would cost seconds)
        subset = np.linspace(0, batch.num_samples - 1, min(batch.num_samples, STEP_LABEL_SAMPLES))
        subset = np.unique(subset.astype(np.int64))
        step_labels = np.full((batch.num_steps, batch.num_samples), UNLABELLED, dtype=np.int64)
        for k, x0 in enumerate(batch.x0_estimates):
            step_labels[k, subset] = label_paths(scene, x0[subset], names)
        step_labels = step_labels[:, subset]
        label_subset = subset
    else:
        label_subset = None
    if names:
        summary = summary_from_labels(names, label_idx, data_shares, None)
        summary.step_labels = step_labels
        summary.step_label_samples = label_subset
        if analysis.coverage is not None:
            summary.coverage = float(analysis.coverage)
    else:   # the scene knows no modes: the clusters are the modes
        names = [f"cluster {c.index + 1}" for c in analysis.clusters]
        summary = summary_from_labels(names, np.asarray(analysis.assignment), None, None)
    summary.entropy = float(analysis.entropy)
    summary.verdict, summary.reason = analysis.verdict, analysis.reason
    if analysis.commit_step is not None:
        commit = np.asarray(analysis.commit_step, dtype=np.int64)
        summary.commit_step = np.where((commit > 0) & (summary.labels >= 0), commit, -1)
    feas = feasibility_of(scene, batch.plans) if (scene is not None and feasibility) else None
    return SampleResult(batch=batch, summary=summary, feasibility=feas, stats=chain_stats(batch, summary))


def mode_references(plans: np.ndarray, labels: np.ndarray, names: Sequence[str],
                    min_count: int = 2) -> dict[str, np.ndarray]:
    """{mode: mean plan [H, D]} over the plans labelled with that mode (modes with >= min_count)."""
    refs = {}
    for i, name in enumerate(names):
        members = plans[labels == i]
        if len(members) >= min_count:
            refs[name] = members.mean(axis=0)
    return refs
