"""Mode analysis of one batch of plans (numpy + scikit-learn).

    analyze_modes(plans [N,H,D], *, x0_estimates [S,N,H,D] | None, labels, data_shares,
                  mode_refs, seed) -> ModeAnalysis

- Clusters: KMeans over a downsampled, per-dimension range-scaled path (positions only)
  projected on its dominant
  principal axes; k in 2..max_clusters chosen by silhouette (k = 1 below SILHOUETTE_MIN), then
  clusters with no density valley between them are merged (one elongated mode cut in pieces is
  one mode), so k = 1 is allowed. Deterministic for a seed. Each cluster: share, representative plan (the
  member nearest the centroid), majority ground-truth label when labels are given.
- Normalized entropy H / log M of the sample shares over M modes (the data's modes when known,
  else the clusters); 0 when M = 1.
- Ground truth (labels: [N] strings or a callable plan [H,D] -> str, e.g. scene.label_mode;
  data_shares: {mode: share of the training data}): coverage = data modes hit / data modes
  present, sample shares vs data shares.
- Commit step per sample from the x0-estimates: the 1-based solver step k from which every
  x0-estimate (steps k..S) lies nearest the sample's final cluster.
- Averaging score in [0, 1] (needs mode_refs {mode: [H,D] reference plan}): per plan, where it
  sits on the segment between its two nearest reference modes, 1 at the midpoint, 0 at a
  mode or off the segment; averaged over plans.
- Verdict: "averaging" | "collapsed" | "multimodal" | "unimodal-as-data", plus "unimodal" when
  there is no data to compare with and "invalid" when no plan is finite; `reason` says why.
"""
from __future__ import annotations

import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

SILHOUETTE_MIN = 0.4        # below this, a k >= 2 split is not considered at all
VALLEY_MAX = 0.5            # two clusters are separate modes only if the sample density between
                            # them falls below this fraction of the lower of their two peaks
MAJOR_DATA_SHARE = 0.10     # a data mode this common must not vanish ...
COLLAPSE_SHARE = 0.02       # ... i.e. get fewer than this share of samples
AVERAGING_MIN = 0.5         # averaging score (or off-mode share) that means "plans between modes"
BETWEEN_FULL = 0.3          # a plan this far (share of the modes' separation) from both modes is fully between
WAYPOINTS = 6               # waypoints kept from each plan for clustering
POSITION_DIMS = 3           # action dims that are positions (x, y, z); the rest (gripper) is ignored

Labels = Sequence[str] | np.ndarray | Callable[[np.ndarray], str]


@dataclass
class ModeCluster:
    """One cluster of final plans: share of the finite samples, member indices, the
    representative plan [H, D] (action units) and its majority ground-truth label ("" if none)."""
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
    silhouette: float                     # of the chosen k (nan when k = 1)
    entropy: float                        # H / log M in [0, 1]
    entropy_modes: int                    # M
    labels: list[str] | None = None       # [N] ground-truth labels ("" = no mode / non-finite)
    label_shares: dict[str, float] = field(default_factory=dict)
    data_shares: dict[str, float] = field(default_factory=dict)
    coverage: float | None = None
    modes_hit: list[str] = field(default_factory=list)
    modes_missed: list[str] = field(default_factory=list)
    off_mode_share: float | None = None   # share of samples whose label is no data mode
    commit_step: np.ndarray | None = None  # [N] int 1..S (0 for non-finite), None without a chain
    averaging_score: float | None = None
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
        """JSON-ready dict (no per-sample arrays except commit-step statistics)."""
        commit = None
        if self.commit_step is not None and self.num_valid:
            valid = self.commit_step[~self.nonfinite]
            commit = {"median": float(np.median(valid)), "min": int(valid.min()), "max": int(valid.max())}
        return {
            "num_samples": self.num_samples, "num_valid": self.num_valid,
            "nonfinite_samples": int(self.nonfinite.sum()),
            "clusters": [{"index": c.index, "share": round(c.share, 4), "count": c.count, "label": c.label}
                         for c in self.clusters],
            "silhouette": None if not np.isfinite(self.silhouette) else round(float(self.silhouette), 4),
            "entropy": round(self.entropy, 4), "entropy_modes": self.entropy_modes,
            "label_shares": {k: round(v, 4) for k, v in self.label_shares.items()},
            "data_shares": {k: round(v, 4) for k, v in self.data_shares.items()},
            "coverage": self.coverage, "modes_hit": self.modes_hit, "modes_missed": self.modes_missed,
            "off_mode_share": self.off_mode_share, "commit_step": commit,
            "averaging_score": None if self.averaging_score is None else round(self.averaging_score, 4),
            "verdict": self.verdict, "reason": self.reason, "analysis_ms": round(self.elapsed_ms, 2),
        }


def analyze_modes(plans: np.ndarray, *, x0_estimates: np.ndarray | None = None, labels: Labels | None = None,
                  data_shares: Mapping[str, float] | None = None,
                  mode_refs: Mapping[str, np.ndarray] | None = None, seed: int = 0,
                  max_clusters: int = 4) -> ModeAnalysis:
    """Analyse final plans [N, H, D] (action units). See the module docstring for every field."""
    start = time.perf_counter()
    plans = np.asarray(plans, dtype=np.float64)
    n = plans.shape[0]
    nonfinite = ~np.isfinite(plans).reshape(n, -1).all(axis=1)
    valid_idx = np.flatnonzero(~nonfinite)
    refs = {k: np.asarray(v, dtype=np.float64) for k, v in (mode_refs or {}).items()}
    scale = _feature_scale(plans[valid_idx], list(refs.values()))
    feats = _features(plans[valid_idx], scale)
    with _one_thread():
        project = _projection(feats, seed)
        assign_valid, centroids, silhouette = _cluster(project(feats), seed, max_clusters)
    assignment = np.full(n, -1, dtype=np.int64)
    assignment[valid_idx] = assign_valid
    label_list = _labels(labels, plans, nonfinite)
    clusters = _make_clusters(plans, valid_idx, assign_valid, project(feats), centroids, label_list)
    result = ModeAnalysis(num_samples=n, num_valid=len(valid_idx), nonfinite=nonfinite, assignment=assignment,
                          clusters=clusters, silhouette=silhouette, entropy=0.0, entropy_modes=max(1, len(clusters)),
                          labels=label_list, data_shares={str(k): float(v) for k, v in (data_shares or {}).items()})
    if label_list is not None:
        _ground_truth(result, label_list, valid_idx)
    result.entropy, result.entropy_modes = _entropy(result)
    if x0_estimates is not None and np.shape(x0_estimates)[0] > 0 and len(valid_idx):
        result.commit_step = commit_steps(x0_estimates, assignment, centroids, scale, project)
    if refs and len(valid_idx):
        result.averaging_score = averaging_score(feats, [_features(r[None], scale)[0] for r in refs.values()])
    result.verdict, result.reason = _verdict(result)
    result.elapsed_ms = (time.perf_counter() - start) * 1000.0
    return result


def preload() -> None:
    """Import scikit-learn's pieces now (about a second, once), so the first analysis a user
    waits for, or a timing, does not pay for the import."""
    import sklearn.cluster  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import threadpoolctl  # noqa: F401


def _one_thread():
    from threadpoolctl import threadpool_limits
    return threadpool_limits(1)


def _feature_scale(plans: np.ndarray, refs: list[np.ndarray]) -> np.ndarray:
    """[D] per-action-dimension range over every plan and waypoint (so metres and the 0..1
    gripper weigh alike); floored so a constant dimension does not amplify rounding noise."""
    pool = [p.reshape(-1, p.shape[-1]) for p in ([plans] if len(plans) else []) + refs]
    if not pool:
        return np.ones(plans.shape[-1])
    stacked = np.concatenate(pool)
    span = stacked.max(axis=0) - stacked.min(axis=0)
    # Floor at a tenth of the widest dimension: a dimension that is constant in the plans (its
    # range is only sampling noise) must not be blown up to the weight of a real movement.
    return np.maximum(span, 0.1 * max(float(span.max()), 1e-6))


def _features(plans: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """[..., H, D] -> [..., WAYPOINTS * D']: evenly spaced waypoints of the position dimensions
    (the first POSITION_DIMS), divided by the scale. The gripper command is left out: a mode is
    where the hand goes; when it opens differs with the phase of the episode, not the mode."""
    h, d = plans.shape[-2], min(plans.shape[-1], POSITION_DIMS)
    idx = np.unique(np.linspace(0, h - 1, min(WAYPOINTS, h)).round().astype(int))
    sub = plans[..., idx, :d] / scale[:d]
    return sub.reshape(*plans.shape[:-2], len(idx) * d)


def _projection(feats: np.ndarray, seed: int):
    """A function mapping features [..., F] onto their dominant principal axes [..., P].

    Clustering there, not in all F dimensions, keeps dimensions that carry only sampling noise
    from diluting the separation between modes (silhouette falls as noise dimensions add up).
    Kept: axes whose variance is at least a tenth of the first axis' (at most 4)."""
    from sklearn.decomposition import PCA

    if len(feats) < 4 or float(feats.var(axis=0).sum()) < 1e-18:
        return lambda x: x
    pca = PCA(n_components=min(4, feats.shape[1], len(feats) - 1), random_state=seed).fit(feats)
    var = pca.explained_variance_
    keep = max(1, int(np.sum(var >= 0.1 * max(float(var[0]), 1e-18))))
    mean, axes = pca.mean_, pca.components_[:keep]
    return lambda x: (x - mean) @ axes.T


def _cluster(feats: np.ndarray, seed: int, max_clusters: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(assignment [M], centroids [k, P], silhouette) with k chosen automatically (k = 1 allowed).
    `feats` are already projected (see _projection)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    m = len(feats)
    one = (np.zeros(m, dtype=np.int64), feats.mean(axis=0, keepdims=True) if m else np.zeros((1, feats.shape[1])),
           float("nan"))
    if m < 4 or np.ptp(feats, axis=0).max() < 1e-6:
        return one
    best = None
    # One thread: for a few hundred points, OpenMP start-up costs more than the work (10x here).
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")   # duplicate points (e.g. a deterministic policy) are fine
        for k in range(2, min(max_clusters, m - 1) + 1):
            km = KMeans(n_clusters=k, n_init=2, random_state=seed, max_iter=100).fit(feats)
            if len(np.unique(km.labels_)) < k:
                continue
            score = float(silhouette_score(feats, km.labels_))
            if best is None or score > best[0] + 1e-9:
                best = (score, km)
    if best is None or best[0] < SILHOUETTE_MIN:
        return one
    labels = _merge_without_valley(feats, best[1].labels_, best[1].cluster_centers_)
    k = int(labels.max()) + 1
    if k == 1:
        return one
    # Order clusters by size (largest first) so indices are stable across equivalent runs.
    order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
    remap = np.empty_like(order)
    remap[order] = np.arange(k)
    labels = remap[labels].astype(np.int64)
    centroids = np.stack([feats[labels == c].mean(axis=0) for c in range(k)])
    score = float(silhouette_score(feats, labels)) if k != best[1].n_clusters else best[0]
    return labels, centroids, score


def _merge_without_valley(feats: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Merge every pair of KMeans clusters with no density valley between them.

    KMeans (and silhouette) happily cut one elongated or curved mode into pieces; two real modes
    have few samples between them. For each pair, the members are projected on the line through
    the two centroids (0 at one, 1 at the other) and a Gaussian kernel density is compared:
    minimum between 0.2 and 0.8 vs the lower of the two peaks. Returns labels 0..k'-1."""
    k = len(centroids)
    parent = list(range(k))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a in range(k):
        for b in range(a + 1, k):
            if valley_ratio(feats[labels == a], feats[labels == b], centroids[a], centroids[b]) >= VALLEY_MAX:
                parent[root(b)] = root(a)
    roots = sorted({root(i) for i in range(k)})
    return np.array([roots.index(root(int(c))) for c in labels], dtype=np.int64)


def valley_ratio(pa: np.ndarray, pb: np.ndarray, ca: np.ndarray, cb: np.ndarray) -> float:
    """Density at the emptiest point between two clusters / the lower cluster peak (0 = a clean
    gap, ~1 = no dip). pa, pb: member features [Ma, P], [Mb, P]; ca, cb: centroids [P]."""
    axis = cb - ca
    length2 = float(axis @ axis)
    if length2 <= 0 or not len(pa) or not len(pb):
        return 1.0
    sa, sb = (pa - ca) @ axis / length2, (pb - ca) @ axis / length2      # 0 at ca, 1 at cb
    s = np.concatenate([sa, sb])
    spread = np.sqrt(0.5 * (sa.var() + sb.var()))
    h = max(1.06 * spread * len(s) ** -0.2, 0.02)                          # Silverman, within-cluster
    grid = np.linspace(-0.25, 1.25, 61)
    density = np.exp(-0.5 * ((grid[:, None] - s[None, :]) / h) ** 2).sum(axis=1)
    peak_a = density[grid <= 0.5].max()
    peak_b = density[grid >= 0.5].max()
    valley = density[(grid >= 0.2) & (grid <= 0.8)].min()
    return float(valley / max(min(peak_a, peak_b), 1e-12))


def _labels(labels: Labels | None, plans: np.ndarray, nonfinite: np.ndarray) -> list[str] | None:
    if labels is None:
        return None
    if callable(labels):
        return ["" if bad else str(labels(p)) for p, bad in zip(plans, nonfinite)]
    out = [str(x) for x in labels]
    if len(out) != len(plans):
        raise ValueError(f"labels has {len(out)} entries for {len(plans)} plans")
    return ["" if bad else lab for lab, bad in zip(out, nonfinite)]


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


def _ground_truth(result: ModeAnalysis, labels: list[str], valid_idx: np.ndarray) -> None:
    counts = Counter(labels[i] for i in valid_idx)
    m = max(len(valid_idx), 1)
    result.label_shares = {k: counts[k] / m for k in sorted(counts)}
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


def commit_steps(x0_estimates: np.ndarray, assignment: np.ndarray, centroids: np.ndarray,
                 scale: np.ndarray, project=None) -> np.ndarray:
    """[N] 1-based step k from which the x0-estimates [S, N, H, D] stay nearest the sample's final
    cluster (assignment [N], -1 = non-finite -> 0; centroids [k, P] in the space `project`
    maps features into). S when even the last estimate disagrees."""
    x0 = np.asarray(x0_estimates, dtype=np.float64)
    s_total, n = x0.shape[:2]
    feats = _features(x0, scale)                                          # [S, N, F]
    if project is not None:
        feats = project(np.nan_to_num(feats, nan=1e9, posinf=1e9, neginf=-1e9))
    d2 = ((feats[:, :, None, :] - centroids[None, None]) ** 2).sum(-1)   # [S, N, k]
    d2 = np.where(np.isfinite(d2), d2, np.inf)
    nearest = d2.argmin(axis=-1)                                          # [S, N]
    mismatch = nearest != assignment[None, :]
    any_bad = mismatch.any(axis=0)
    last_bad = s_total - 1 - np.argmax(mismatch[::-1], axis=0)            # last step index that disagrees
    commit = np.where(any_bad, np.minimum(last_bad + 2, s_total), 1)
    return np.where(assignment < 0, 0, commit).astype(np.int64)


def averaging_score(feats: np.ndarray, refs: list[np.ndarray]) -> float | None:
    """Mean 'betweenness' of plans (features [M, F]) relative to reference modes (list of [F]).

    For the two references a, b nearest a plan p: lam = <p-a, b-a>/|b-a|^2 (0 at a, 1 at b);
    betweenness = min(lam, 1-lam) / BETWEEN_FULL clipped to [0, 1]: 0 on a mode, 1 once the plan
    is BETWEEN_FULL of the modes' separation away from both (a plan 1.8 cm off the centre of
    modes 7.4 cm apart still hits the mug); 0 when p lies farther from the segment than half the
    modes' separation (it is somewhere else, not between them)."""
    if len(refs) < 2 or not len(feats):
        return None
    r = np.stack(refs)
    d2 = ((feats[:, None, :] - r[None]) ** 2).sum(-1)
    two = np.argsort(d2, axis=1)[:, :2]
    a, b = r[two[:, 0]], r[two[:, 1]]
    ab = b - a
    denom = np.maximum((ab ** 2).sum(-1), 1e-12)
    lam = ((feats - a) * ab).sum(-1) / denom
    perp = np.linalg.norm(feats - (a + lam[:, None] * ab), axis=-1)
    between = np.clip(np.minimum(lam, 1.0 - lam) / BETWEEN_FULL, 0.0, 1.0)
    between = np.where(perp <= 0.5 * np.sqrt(denom), between, 0.0)
    return float(between.mean())


def _verdict(r: ModeAnalysis) -> tuple[str, str]:
    if r.num_valid == 0:
        return "invalid", f"all {r.num_samples} plans hold NaN/inf values"
    bad = f" ({int(r.nonfinite.sum())} non-finite plans ignored)" if r.nonfinite.any() else ""
    data_modes = {k: v for k, v in r.data_shares.items() if v > 0}
    if r.averaging_score is not None and r.averaging_score >= AVERAGING_MIN:
        return "averaging", f"plans sit between the data's modes (averaging score {r.averaging_score:.2f}){bad}"
    if r.averaging_score is None and r.off_mode_share is not None and r.off_mode_share >= AVERAGING_MIN:
        return "averaging", f"{r.off_mode_share:.0%} of plans match none of the data's modes{bad}"
    if r.labels is not None and data_modes:
        for mode, share in sorted(data_modes.items(), key=lambda kv: -kv[1]):
            got = r.label_shares.get(mode, 0.0)
            if share >= MAJOR_DATA_SHARE and got < COLLAPSE_SHARE:
                return "collapsed", (f"mode {mode!r} holds {share:.0%} of the data but {got:.1%} of "
                                     f"samples{bad}")
        hit = [m for m in data_modes if r.label_shares.get(m, 0.0) > 0]
        if len(data_modes) == 1:
            return "unimodal-as-data", f"the data has one mode ({next(iter(data_modes))!r}) and so do the plans{bad}"
        shares = ", ".join(f"{m} {r.label_shares.get(m, 0.0):.0%} (data {s:.0%})" for m, s in data_modes.items())
        return "multimodal", f"{len(hit)} of {len(data_modes)} data modes present: {shares}{bad}"
    if r.num_clusters >= 2:
        shares = ", ".join(f"{c.share:.0%}" for c in r.clusters)
        return "multimodal", f"{r.num_clusters} well-separated clusters ({shares}){bad}"
    if len(data_modes) == 1:
        return "unimodal-as-data", f"one cluster, and the data has one mode{bad}"
    if len(data_modes) >= 2:
        return "collapsed", f"one cluster, but the data has {len(data_modes)} modes{bad}"
    return "unimodal", f"one cluster; no data modes given to compare with{bad}"
