"""Mode analysis of one batch of plans (numpy + scikit-learn). docs/mode-analysis.md explains
every number and verdict.

    analyze_modes(plans [N,H,D], *, x0_estimates [S,N,H,D] | None, labels, data_shares, modes,
                  mode_refs, obs, obs_range, seed) -> ModeAnalysis

- Modes: with ground-truth labels (labels: [N] strings or a callable plan [H,D] -> str, e.g.
  scene.label_mode), one row per data mode (0 plans included), per other known mode (`modes`,
  e.g. scene.modes) and the no-mode row; each share of the finite plans with its Wilson 95 %
  interval (planners.mode_verdicts). Labels that decide only part of the mode (a rows=2 plan
  that ends before the second row: "L") make the whole reading compare on that part, and say so.
- Clusters: with labels they ARE the label groups (the count never contradicts the labels);
  without labels, KMeans on the plan shapes (planners.mode_clusters). `shape_clusters` is the
  unsupervised count either way.
- Reference (data_shares: {mode: share} or a DataReference naming its source): coverage = data
  modes hit / data modes, entropy H / log M over the data's modes.
- Commit step per sample from the x0-estimates (1-based solver step from which every estimate
  lies nearest the sample's final cluster).
- Averaging (needs mode_refs {mode: [H,D] reference plan}): per plan a signed position on the
  scale from the data's most common mode (0) to its second (1), a betweenness in [0, 1], the
  averaging score (mean betweenness) and the median position of the plans that sit between.
- Out of distribution: obs [F] outside obs_range (ObsRange of the training observations).
- Verdict and one-line reason: planners.mode_verdicts.verdict.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from planners.mode_clusters import (POSITION_DIMS, SILHOUETTE_MIN, VALLEY_MAX, WAYPOINTS,  # noqa: F401
                                    cluster, commit_steps, feature_scale, features, one_thread,
                                    projection, valley_ratio)
from planners.mode_reference import DataReference, ObsRange
from planners.mode_verdicts import (AVERAGING_MIN, COLLAPSE_SHARE, INTERVAL, MAJOR_DATA_SHARE,  # noqa: F401
                                    NO_MODE_MAX, SKEW_MARGIN, ModeShare, averaging_positions, coarsen,
                                    share_rows, verdict)

Labels = Sequence[str] | np.ndarray | Callable[[np.ndarray], str]


@dataclass
class ModeCluster:
    """One cluster of final plans: share of the finite samples, member indices, the
    representative plan [H, D] (action units, the member nearest the centroid) and its label
    (the label group's own with labels; else "")."""
    index: int
    share: float
    count: int
    members: np.ndarray
    representative: np.ndarray
    label: str = ""


@dataclass
class ModeAnalysis:
    """Result of analyze_modes (see module doc). Shares are fractions of the finite samples."""
    num_samples: int
    num_valid: int
    nonfinite: np.ndarray                 # [N] bool
    assignment: np.ndarray                # [N] int cluster index, -1 for non-finite samples
    clusters: list[ModeCluster]
    silhouette: float                     # of the shape clustering (nan when k = 1)
    entropy: float                        # H / log M in [0, 1]
    entropy_modes: int                    # M
    labels: list[str] | None = None       # [N] labels as compared ("" = no mode / non-finite)
    label_shares: dict[str, float] = field(default_factory=dict)
    data_shares: dict[str, float] = field(default_factory=dict)
    reference: str = ""                   # what the data shares came from (named in the reason)
    modes: list[ModeShare] = field(default_factory=list)   # every data / known / seen mode
    no_mode: ModeShare | None = None      # the plans with no mode
    coverage: float | None = None
    modes_hit: list[str] = field(default_factory=list)
    modes_missed: list[str] = field(default_factory=list)
    off_mode_share: float | None = None   # share of samples whose label is no data mode
    resolution_note: str = ""             # set when plans were compared on part of the mode
    clusters_from: str = "plan shapes"    # "labels" | "plan shapes"
    shape_clusters: int = 1               # unsupervised KMeans count on the plan shapes
    commit_step: np.ndarray | None = None  # [N] int 1..S (0 for non-finite), None without a chain
    averaging_score: float | None = None
    averaging_pair: tuple[str, str] | None = None    # (mode at 0, mode at 1) of the signed scale
    averaging_position: float | None = None          # median position of the plans between modes
    averaging_positions: np.ndarray | None = None    # [N] per plan (NaN off the scale / non-finite)
    between_share: float | None = None               # share of finite plans between two modes
    between_no_mode: float | None = None             # ... of the no-mode plans
    out_of_range: list[str] = field(default_factory=list)   # observation features outside training
    verdict: str = ""
    reason: str = ""
    elapsed_ms: float = 0.0

    @property
    def num_clusters(self) -> int:
        return len(self.clusters)

    @property
    def shares(self) -> list[float]:
        return [c.share for c in self.clusters]

    def summary(self) -> dict:
        """JSON-ready dict (no per-sample arrays except commit-step statistics and a histogram
        of the averaging positions)."""
        commit = None
        if self.commit_step is not None and self.num_valid:
            valid = self.commit_step[~self.nonfinite]
            commit = {"median": float(np.median(valid)), "min": int(valid.min()), "max": int(valid.max())}
        averaging = None
        if self.averaging_score is not None:
            pos = self.averaging_positions
            pos = pos[np.isfinite(pos)] if pos is not None else np.zeros(0)
            hist = np.histogram(np.clip(pos, -0.25, 1.25), bins=12, range=(-0.25, 1.25))[0] if pos.size else []
            averaging = {"score": _round(self.averaging_score), "pair": list(self.averaging_pair or ()),
                         "position": _round(self.averaging_position), "between_share": _round(self.between_share),
                         "between_no_mode": _round(self.between_no_mode),
                         "position_histogram": {"range": [-0.25, 1.25], "counts": [int(c) for c in hist]}}
        return {
            "num_samples": self.num_samples, "num_valid": self.num_valid,
            "nonfinite_samples": int(self.nonfinite.sum()),
            "clusters": [{"index": c.index, "share": round(c.share, 4), "count": c.count, "label": c.label}
                         for c in self.clusters],
            "clusters_from": self.clusters_from, "shape_clusters": self.shape_clusters,
            "silhouette": None if not np.isfinite(self.silhouette) else round(float(self.silhouette), 4),
            "entropy": round(self.entropy, 4), "entropy_modes": self.entropy_modes,
            "reference": self.reference, "interval": INTERVAL,
            "modes": [m.to_json() for m in self.modes],
            "no_mode": None if self.no_mode is None else self.no_mode.to_json(),
            "label_shares": {k: round(v, 4) for k, v in self.label_shares.items()},
            "data_shares": {k: round(v, 4) for k, v in self.data_shares.items()},
            "coverage": self.coverage, "modes_hit": self.modes_hit, "modes_missed": self.modes_missed,
            "off_mode_share": self.off_mode_share, "resolution_note": self.resolution_note,
            "commit_step": commit, "averaging_score": _round(self.averaging_score), "averaging": averaging,
            "out_of_range": self.out_of_range, "skew_margin": SKEW_MARGIN,
            "verdict": self.verdict, "reason": self.reason, "analysis_ms": round(self.elapsed_ms, 2),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def analyze_modes(plans: np.ndarray, *, x0_estimates: np.ndarray | None = None, labels: Labels | None = None,
                  data_shares: Mapping[str, float] | DataReference | None = None,
                  mode_refs: Mapping[str, np.ndarray] | None = None, seed: int = 0,
                  max_clusters: int = 4, modes: Sequence[str] = (), data_source: str = "",
                  obs: np.ndarray | None = None, obs_range: ObsRange | None = None) -> ModeAnalysis:
    """Analyse final plans [N, H, D] (action units). See the module docstring for every field.

    data_shares: the reference ({mode: share}, or a DataReference whose source is then named);
    data_source: the name when a plain mapping is given; modes: every mode the labeller knows
    (listed even with 0 plans); obs [F] and obs_range: the observation and the training range."""
    start = time.perf_counter()
    if isinstance(data_shares, DataReference):
        data_source, data_shares = data_source or data_shares.source, data_shares.shares
    plans = np.asarray(plans, dtype=np.float64)
    n = plans.shape[0]
    nonfinite = ~np.isfinite(plans).reshape(n, -1).all(axis=1)
    valid_idx = np.flatnonzero(~nonfinite)
    refs = {str(k): np.asarray(v, dtype=np.float64) for k, v in (mode_refs or {}).items()}
    scale = feature_scale(plans[valid_idx], list(refs.values()))
    feats = features(plans[valid_idx], scale)
    with one_thread():
        project = projection(feats, seed)
        shape_assign, shape_centroids, silhouette = cluster(project(feats), seed, max_clusters)
    data = {str(k): float(v) for k, v in (data_shares or {}).items()}
    label_list = _labels(labels, plans, nonfinite)
    note = ""
    if label_list is not None:
        valid_labels, data, modes, note = coarsen([label_list[i] for i in valid_idx], data,
                                                  [str(m) for m in modes])
        for i, lab in zip(valid_idx, valid_labels):
            label_list[i] = lab
        if note:
            refs = _coarse_refs(refs, data)
        assign_valid, centroids = _label_groups(valid_labels, project(feats))
    else:
        assign_valid, centroids = shape_assign, shape_centroids
    assignment = np.full(n, -1, dtype=np.int64)
    assignment[valid_idx] = assign_valid
    result = ModeAnalysis(num_samples=n, num_valid=len(valid_idx), nonfinite=nonfinite, assignment=assignment,
                          clusters=_make_clusters(plans, valid_idx, assign_valid, project(feats), centroids,
                                                  label_list),
                          silhouette=silhouette, entropy=0.0, entropy_modes=1, labels=label_list,
                          data_shares=data, reference=data_source, resolution_note=note,
                          clusters_from="labels" if label_list is not None else "plan shapes",
                          shape_clusters=int(len(shape_centroids)))
    if label_list is not None:
        _ground_truth(result, [label_list[i] for i in valid_idx], list(modes))
    result.entropy, result.entropy_modes = _entropy(result)
    if x0_estimates is not None and np.shape(x0_estimates)[0] > 0 and len(valid_idx):
        result.commit_step = commit_steps(x0_estimates, assignment, centroids, scale, project)
    if len(refs) >= 2 and len(valid_idx):
        _averaging(result, feats, refs, scale, valid_idx)
    if obs is not None and obs_range is not None:
        result.out_of_range = obs_range.outside(obs)
    result.verdict, result.reason = verdict(result)
    result.elapsed_ms = (time.perf_counter() - start) * 1000.0
    return result


def preload() -> None:
    """Import scikit-learn's pieces now (about a second, once), so the first analysis a user
    waits for, or a timing, does not pay for the import."""
    import sklearn.cluster  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import threadpoolctl  # noqa: F401


def _labels(labels: Labels | None, plans: np.ndarray, nonfinite: np.ndarray) -> list[str] | None:
    if labels is None:
        return None
    if callable(labels):
        return ["" if bad else str(labels(p)) for p, bad in zip(plans, nonfinite)]
    out = [str(x) for x in labels]
    if len(out) != len(plans):
        raise ValueError(f"labels has {len(out)} entries for {len(plans)} plans")
    return ["" if bad else lab for lab, bad in zip(out, nonfinite)]


def _label_groups(labels: list[str], feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clusters = label groups, largest first: (assignment [M], centroids [k, P] in `feats`' space)."""
    if not labels:
        return np.zeros(0, dtype=np.int64), np.zeros((1, feats.shape[1]))
    order = [lab for lab, _ in Counter(labels).most_common()]
    index = {lab: i for i, lab in enumerate(order)}
    assign = np.array([index[lab] for lab in labels], dtype=np.int64)
    centroids = np.stack([feats[assign == c].mean(axis=0) for c in range(len(order))])
    return assign, centroids


def _make_clusters(plans, valid_idx, assign, feats, centroids, labels) -> list[ModeCluster]:
    clusters = []
    m = max(len(valid_idx), 1)
    for c in range(len(centroids)):
        local = np.flatnonzero(assign == c)
        if not len(local):
            continue
        nearest = local[np.argmin(((feats[local] - centroids[c]) ** 2).sum(axis=1))]
        members = valid_idx[local]
        label = ""
        if labels is not None:
            label = Counter(labels[i] for i in members).most_common(1)[0][0]
        clusters.append(ModeCluster(index=c, share=len(local) / m, count=len(local), members=members,
                                    representative=plans[valid_idx[nearest]].astype(np.float32), label=label))
    return clusters


def _ground_truth(result: ModeAnalysis, labels: list[str], modes: list[str]) -> None:
    counts = Counter(labels)
    m = max(len(labels), 1)
    result.label_shares = {k: counts[k] / m for k in sorted(counts)}
    result.modes, result.no_mode = share_rows(labels, result.data_shares, modes)
    data_modes = [k for k, v in result.data_shares.items() if v > 0]
    if data_modes:
        result.modes_hit = [k for k in data_modes if counts.get(k, 0) > 0]
        result.modes_missed = [k for k in data_modes if counts.get(k, 0) == 0]
        result.coverage = len(result.modes_hit) / len(data_modes)
        result.off_mode_share = sum(v for k, v in result.label_shares.items() if k not in data_modes)


def _entropy(result: ModeAnalysis) -> tuple[float, int]:
    """H / log M over the data's modes when known (off-mode samples excluded), else clusters."""
    data_modes = [k for k, v in result.data_shares.items() if v > 0]
    if result.labels is not None and data_modes:
        shares = np.array([result.label_shares.get(k, 0.0) for k in data_modes])
        m = len(data_modes)
    else:
        shares = np.array(result.shares)
        m = len(shares)
    total = shares.sum()
    if m < 2 or total <= 0:
        return 0.0, max(m, 1)
    p = shares[shares > 0] / total
    return max(0.0, float(-(p * np.log(p)).sum() / np.log(m))), m   # never -0.0


def _coarse_refs(refs: dict[str, np.ndarray], data: dict[str, float]) -> dict[str, np.ndarray]:
    """Reference plans of the modes averaged per compared prefix (LL, LR -> L)."""
    groups: dict[str, list[np.ndarray]] = {}
    for mode, plan in refs.items():
        key = next((g for g in data if mode.startswith(g)), mode)
        groups.setdefault(key, []).append(plan)
    return {k: np.mean(v, axis=0) for k, v in groups.items()}


def _averaging(result: ModeAnalysis, feats: np.ndarray, refs: dict[str, np.ndarray],
               scale: np.ndarray, valid_idx: np.ndarray) -> None:
    """Signed positions, betweenness and the averaging score against the reference plans. The
    scale runs from the data's most common mode (0) to its second (1); without data shares
    from the first reference to the second."""
    names = list(refs)
    ranked = sorted((m for m in result.data_shares if m in refs and result.data_shares[m] > 0),
                    key=lambda m: -result.data_shares[m])
    pair_names = (ranked + [m for m in names if m not in ranked])[:2]
    ref_feats = [features(refs[m][None], scale)[0] for m in names]
    position, between_score, between = averaging_positions(
        feats, ref_feats, (names.index(pair_names[0]), names.index(pair_names[1])))
    result.averaging_pair = (pair_names[0], pair_names[1])
    result.averaging_score = float(between_score.mean())
    result.between_share = float(between.mean())
    inside = position[between & np.isfinite(position)]
    result.averaging_position = float(np.median(inside)) if inside.size else None
    full = np.full(result.num_samples, np.nan)
    full[valid_idx] = position
    result.averaging_positions = full
    if result.labels is not None and result.data_shares:
        data_modes = {k for k, v in result.data_shares.items() if v > 0}
        off = np.array([result.labels[i] not in data_modes for i in valid_idx])
        result.between_no_mode = float(between[off].mean()) if off.any() else 0.0


def averaging_score(feats: np.ndarray, refs: list[np.ndarray]) -> float | None:
    """Mean betweenness of plans (features [M, F]) against reference modes (list of [F]): for
    the two references nearest a plan, min(lam, 1-lam) / BETWEEN_FULL clipped to [0, 1] (lam = 0
    at one, 1 at the other); 0 when the plan lies farther from that segment than half the modes'
    separation. See planners.mode_verdicts.averaging_positions."""
    if len(refs) < 2 or not len(feats):
        return None
    return float(averaging_positions(feats, refs, (0, 1))[1].mean())
