"""Label, check and analyse a PlanBatch: the one path the inspector, the evaluation runner and
`planscope sample` (app/core/sampling.py) use, so a plan means the same thing wherever it is
shown or recorded.

- `label_plans`: the scene's mode label per plan; a plan holding NaN/inf is NONFINITE ("nonfinite")
  everywhere (recordings, the GUI, the CLI's JSON) and is never handed to the scene.
- `check_plans`: the scene's feasibility check per plan (non-finite plans: infeasible at waypoint
  0, without asking the scene: PyBullet's IK would choke on NaN).
- `analyse`: labels, feasibility, the mode analysis (planners.modes: clusters, shares, entropy,
  coverage, commit steps, verdict) and per-step chain statistics, computed once.

Qt-free; the inspector runs it on its worker thread (check_plan and clustering cost tens of ms).
Shapes: plans [N, H, D] (x, y, z metres, gripper), chain [S+1, N, H, D], x0_estimates [S, N, H, D].
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from recordings.plan_batch import PlanBatch

NONFINITE = "nonfinite"   # the label of a plan holding NaN/inf (recordings use the same text)
UNLABELLED = -1           # mode index of a plan in no mode (averaging, between modes, non-finite)
MIN_CLUSTER_SHARE = 0.02  # a "mode" in the per-step count holds at least 2 % of the samples
STEP_LABEL_SAMPLES = 128  # samples labelled at every chain step for the per-step mode count


@dataclass
class ModeSummary:
    """Modes of one batch, as the views draw them.

    names [M]: mode names; labels [N]: index into names or UNLABELLED; shares [M]: fraction of
    samples per mode; data_shares [M] or None; entropy: H / log M in [0, 1]; coverage: modes hit /
    modes in the data (None when unknown); verdict: multimodal | collapsed | averaging |
    unimodal-as-data | "" and a one-line reason; commit_step [N]: solver step (1..S) after which the
    sample's mode stops changing (-1 unknown); step_labels [S, n] mode of the x0-estimate per
    step for the samples step_label_samples [n] (all N when None), or None."""
    names: list[str]
    labels: np.ndarray
    shares: np.ndarray
    data_shares: np.ndarray | None = None
    entropy: float = 0.0
    coverage: float | None = None
    verdict: str = ""
    reason: str = ""
    commit_step: np.ndarray | None = None
    step_labels: np.ndarray | None = None
    step_label_samples: np.ndarray | None = None   # [n] which samples step_labels' columns are
    low: np.ndarray | None = None         # [M] 95 % Wilson interval of each share (None: no labels)
    high: np.ndarray | None = None
    reference: str = ""                   # what data_shares came from (named in the reason)
    positions: np.ndarray | None = None   # [N] signed averaging position (NaN: not on the scale)
    pair: tuple[str, str] | None = None   # modes at 0 and 1 of that scale

    @property
    def num_modes(self) -> int:
        return len(self.names)


@dataclass
class Feasibility:
    """Per-plan feasibility from `scene.check_plan`: feasible [N] bool; bad_waypoint [N] int, the
    first infeasible waypoint (-1 when feasible); collides_with [N] body hit there ("" if none)."""
    feasible: np.ndarray
    bad_waypoint: np.ndarray
    collides_with: list[str]

    @property
    def fraction_feasible(self) -> float:
        return float(np.mean(self.feasible)) if self.feasible.size else 0.0


@dataclass
class ChainStats:
    """Per chain index k = 0..S (0 = noise): spread_m [S+1], mean distance (metres) of samples'
    end-effector paths from their mean; clusters [S+1], modes holding >= 2 % of samples."""
    spread_m: np.ndarray
    clusters: np.ndarray


@dataclass
class SampleResult:
    """Everything one sampling run produced, handed from the worker to the model at once."""
    batch: PlanBatch
    summary: ModeSummary | None = None
    feasibility: Feasibility | None = None
    stats: ChainStats | None = None
    labels: list[str] | None = None      # [N] label_plans' text; None: the scene knows no modes
    analysis: Any = None                 # planners.modes.ModeAnalysis
    timings_ms: dict[str, float] = field(default_factory=dict)   # label, analysis, check


def finite_plans(plans: np.ndarray) -> np.ndarray:
    """[N] bool: which plans [N, H, D] hold only finite values."""
    return np.isfinite(plans.reshape(len(plans), -1)).all(axis=1)


def label_plans(scene: Any, plans: np.ndarray) -> list[str]:
    """The scene's mode label of each plan [N, H, D] ("" when it is in no mode; the decided part,
    e.g. "L", for a plan too short to decide it all: scenes.registry.plan_labeller); NONFINITE
    for a plan holding NaN/inf, which the scene is never asked about."""
    from scenes.registry import plan_labeller
    label = plan_labeller(scene)
    return [label(plan) if ok else NONFINITE for plan, ok in zip(plans, finite_plans(plans))]


def label_indices(labels: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """[N] index into `names` of each text label; UNLABELLED for "", NONFINITE or unknown."""
    index = {name: i for i, name in enumerate(names)}
    return np.array([index.get(label, UNLABELLED) for label in labels], dtype=np.int64)


def check_plans(scene: Any, plans: np.ndarray) -> Feasibility:
    """The scene's feasibility check of every plan [N, H, D] (scene.check_plans when it has the
    batched form). Non-finite plans are infeasible at waypoint 0 and hit "non-finite"."""
    n = len(plans)
    finite = finite_plans(plans)
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


def analyse(batch: PlanBatch, scene: Any | None, data_shares: Any = None,
            *, feasibility: bool = True, chain_labels: bool = True,
            mode_refs: dict[str, np.ndarray] | None = None, obs: np.ndarray | None = None,
            obs_range: Any = None) -> SampleResult:
    """Everything the views, the CLI and the recordings need for one final batch, computed once.

    scene may be None (clusters only, no feasibility). mode_refs {mode: [H, D]} are the modes'
    reference plans for the averaging score (default: the mean plan of each labelled mode in this
    batch). chain_labels: label at most STEP_LABEL_SAMPLES samples' x0-estimates at every chain
    step (the per-step mode count of the chain view). data_shares: {mode: share} or a
    planners.mode_reference.DataReference; obs [F] and obs_range (ObsRange): the observation and
    the training range (out of distribution is said as such)."""
    from planners.modes import analyze_modes

    timings: dict[str, float] = {}
    names = list(getattr(scene, "modes", ()) or ()) if scene is not None else []
    t0 = time.perf_counter()
    labels = label_plans(scene, batch.plans) if names else None
    timings["label"] = (time.perf_counter() - t0) * 1e3
    label_idx = label_indices(labels, names) if labels is not None else None
    if label_idx is not None and mode_refs is None:
        mode_refs = mode_references(batch.plans, label_idx, names)
    analysis = analyze_modes(batch.plans, x0_estimates=batch.x0_estimates if batch.has_chain else None,
                             labels=labels, data_shares=data_shares or None, modes=names,
                             mode_refs=mode_refs or None, seed=int(batch.seed), obs=obs,
                             obs_range=obs_range)
    timings["analysis"] = float(analysis.elapsed_ms)
    if analysis.resolution_note:   # plans too short for the full mode: show the part compared
        names = [row.mode for row in analysis.modes]
        label_idx = label_indices(analysis.labels, names)
    step_labels = subset = None
    if names and batch.has_chain and chain_labels:
        # per-step mode counts: label at most STEP_LABEL_SAMPLES samples per step (a count of
        # modes holding >= 2 % needs no more, and S x N scene queries would cost seconds)
        subset = np.linspace(0, batch.num_samples - 1, min(batch.num_samples, STEP_LABEL_SAMPLES))
        subset = np.unique(subset.astype(np.int64))
        step_labels = np.stack([label_indices(label_plans(scene, x0[subset]), names)
                                for x0 in batch.x0_estimates]).reshape(batch.num_steps, len(subset))
    if not names:   # the scene knows no modes: the clusters are the modes
        names = [f"cluster {c.index + 1}" for c in analysis.clusters]
        label_idx = np.asarray(analysis.assignment, dtype=np.int64)
    summary = _mode_summary(names, label_idx, analysis.data_shares if labels is not None else None,
                            analysis, step_labels, subset)
    t0 = time.perf_counter()
    feas = check_plans(scene, batch.plans) if (scene is not None and feasibility) else None
    timings["check"] = (time.perf_counter() - t0) * 1e3
    return SampleResult(batch=batch, summary=summary, feasibility=feas,
                        stats=chain_stats(batch, summary), labels=labels, analysis=analysis,
                        timings_ms=timings)


def _mode_summary(names: list[str], labels: np.ndarray, data_shares: dict[str, float] | None,
                  analysis: Any, step_labels: np.ndarray | None,
                  step_label_samples: np.ndarray | None) -> ModeSummary:
    """The views' ModeSummary: shares from the labels, entropy, coverage, verdict and commit
    steps from planners.modes' analysis (one source for each number)."""
    shares = np.array([(labels == i).mean() if len(labels) else 0.0 for i in range(len(names))])
    data = None
    if data_shares:
        data = np.array([float(data_shares.get(name, 0.0)) for name in names])
    commit = None
    if analysis.commit_step is not None:
        commit = np.asarray(analysis.commit_step, dtype=np.int64)
        commit = np.where((commit > 0) & (labels >= 0), commit, -1)
    coverage = None if analysis.coverage is None else float(analysis.coverage)
    rows = {row.mode: row for row in analysis.modes}
    low = high = None
    if rows and all(name in rows for name in names):
        # the same shares as planners.modes (finite plans), with their intervals
        shares = np.array([rows[name].share for name in names])
        low = np.array([rows[name].low for name in names])
        high = np.array([rows[name].high for name in names])
    return ModeSummary(names=list(names), labels=labels, shares=shares, data_shares=data,
                       entropy=float(analysis.entropy), coverage=coverage,
                       verdict=analysis.verdict, reason=analysis.reason, commit_step=commit,
                       step_labels=step_labels, step_label_samples=step_label_samples,
                       low=low, high=high, reference=analysis.reference,
                       positions=analysis.averaging_positions, pair=analysis.averaging_pair)


def mode_references(plans: np.ndarray, labels: np.ndarray, names: Sequence[str],
                    min_count: int = 2) -> dict[str, np.ndarray]:
    """{mode: mean plan [H, D]} over the plans labelled with that mode (modes with >= min_count)."""
    refs = {}
    for i, name in enumerate(names):
        members = plans[labels == i]
        if len(members) >= min_count:
            refs[name] = members.mean(axis=0)
    return refs
