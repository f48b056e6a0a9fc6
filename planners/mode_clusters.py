"""Clustering of final plans by shape (numpy + scikit-learn), used by planners.modes.

Features: a downsampled, per-dimension range-scaled path (positions only) projected on its
dominant principal axes; KMeans with k in 2..max_clusters chosen by silhouette (k = 1 below
SILHOUETTE_MIN), then clusters with no density valley between them merged (one elongated mode
cut in pieces is one mode). Deterministic for a seed. Commit steps: the 1-based solver step
from which every x0-estimate lies nearest the sample's final cluster.
"""
from __future__ import annotations

import warnings

import numpy as np

SILHOUETTE_MIN = 0.4        # below this, a k >= 2 split is not considered at all
VALLEY_MAX = 0.5            # two clusters are separate modes only if the sample density between
                            # them falls below this fraction of the lower of their two peaks
WAYPOINTS = 6               # waypoints kept from each plan for clustering
POSITION_DIMS = 3           # action dims that are positions (x, y, z); the rest (gripper) is ignored


def one_thread():
    from threadpoolctl import threadpool_limits
    return threadpool_limits(1)


def feature_scale(plans: np.ndarray, refs: list[np.ndarray]) -> np.ndarray:
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


def features(plans: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """[..., H, D] -> [..., WAYPOINTS * D']: evenly spaced waypoints of the position dimensions
    (the first POSITION_DIMS), divided by the scale. The gripper command is left out: a mode is
    where the hand goes; when it opens differs with the phase of the episode, not the mode."""
    h, d = plans.shape[-2], min(plans.shape[-1], POSITION_DIMS)
    idx = np.unique(np.linspace(0, h - 1, min(WAYPOINTS, h)).round().astype(int))
    sub = plans[..., idx, :d] / scale[:d]
    return sub.reshape(*plans.shape[:-2], len(idx) * d)


def projection(feats: np.ndarray, seed: int):
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


def cluster(feats: np.ndarray, seed: int, max_clusters: int) -> tuple[np.ndarray, np.ndarray, float]:
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


def commit_steps(x0_estimates: np.ndarray, assignment: np.ndarray, centroids: np.ndarray,
                 scale: np.ndarray, project=None) -> np.ndarray:
    """[N] 1-based step k from which the x0-estimates [S, N, H, D] stay nearest the sample's final
    cluster (assignment [N], -1 = non-finite -> 0; centroids [k, P] in the space `project`
    maps features into). S when even the last estimate disagrees."""
    x0 = np.asarray(x0_estimates, dtype=np.float64)
    s_total, n = x0.shape[:2]
    feats = features(x0, scale)                                          # [S, N, F]
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


