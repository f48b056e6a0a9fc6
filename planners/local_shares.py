"""Local data-mode shares with their uncertainty: how much the K nearest recorded frames speak
for one query state (planners.frame_metrics builds the local modes with these).

    w = state_weights(distances [K])                 Gaussian weights by state distance
    shares, note = conditional_fit(groups, states [K,F], query [F], w)   shares at the query
    lower = wilson_lower(shares [M], effective n)    one-sided lower confidence bounds
"""
from __future__ import annotations

import numpy as np

CREDIBLE_Z = 1.645      # a missed mode must be credibly major: its one-sided 95 % lower bound
Z95 = 1.959964          # two-sided 95 % intervals of the data's shares
MODE_FIT_C = (1.0, 10.0, 100.0)   # inverse L2 strengths tried for the mode-on-state fit
                        # (standardised features), the best by CV log-loss is used: weak ones let
                        # a state that decides the mode read near 0/1; the CV test rejects chance
MODE_FIT_MIN_GAIN = 0.1  # nats per (weighted) neighbour the fit's CV log-loss must beat the constant
                        # shares by. Best-of-3 on 64 neighbours finds chance gains: mug_grasp,
                        # 300 demos, K=64, 30 episodes: at frame 0 (grasp drawn independently of the
                        # state) 6/30 fits "won" by 0.01-0.06 and read a 50/50 state as 80/20; where
                        # the hand's motion decides the grasp (frames 2-5) every gain is 0.46-0.69


def wilson_lower(share: np.ndarray, n: float, z: float = CREDIBLE_Z) -> np.ndarray:
    """One-sided Wilson lower confidence bound of proportions `share` observed on n (effective)
    draws; 0 when n <= 0."""
    p = np.clip(np.asarray(share, np.float64), 0.0, 1.0)
    if not np.isfinite(n) or n <= 0:
        return np.zeros_like(p)
    centre = p + z * z / (2 * n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.clip((centre - half) / (1 + z * z / n), 0.0, 1.0)


def conditional_shares(groups: list[np.ndarray], states: np.ndarray, query: np.ndarray,
                       weights: np.ndarray, seed: int = 0) -> np.ndarray | None:
    """conditional_fit's shares alone (None where the state does not predict the mode)."""
    return conditional_fit(groups, states, query, weights, seed)[0]


def conditional_fit(groups: list[np.ndarray], states: np.ndarray, query: np.ndarray,
                    weights: np.ndarray, seed: int = 0) -> tuple[np.ndarray | None, str]:
    """[M] mode shares at the query state [F] predicted from the K neighbours' states [K, F] by an
    L2 logistic regression of mode membership (groups: member indices per mode), or None when
    the states do not predict the mode on held-out neighbours (5-fold CV log-loss not better
    than the constant shares' by MODE_FIT_MIN_GAIN nats) or there is too little to fit; and a
    note saying which, with the CV log-losses per neighbour (what the verdict's reason quotes).

    Why: neighbours are chosen by a distance that weighs every feature alike, so a small motion
    that decides the mode (mug_grasp: 2-9 mm of hand motion towards a side, which with the mug's
    pose predicts the grasp in 100 % of 300 demonstrations) is drowned by features that vary a
    lot (the mug's placement) and the neighbourhood shows both modes although the state does not
    leave them open. The fit reads that dependence where it exists; the CV test keeps chance fits
    (the first frame, where nothing predicts the grasp) from inventing one."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    k = len(states)
    y = np.full(k, -1)
    for j, g in enumerate(groups):
        y[g] = j
    keep = y >= 0
    counts = np.bincount(y[keep], minlength=len(groups))
    folds = int(min(5, counts.min())) if len(counts) >= 2 else 0
    if folds < 2:
        return None, "plain neighbour shares (too few neighbours per mode to test a state fit)"
    x = np.asarray(states, np.float64)[keep]
    w = np.asarray(weights, np.float64)[keep]
    y = y[keep]
    varying = x.std(axis=0) > 1e-9
    if not varying.any():
        return None, "plain neighbour shares (the neighbours' states do not vary)"
    mu, sd = x[:, varying].mean(0), x[:, varying].std(0)
    x = (x[:, varying] - mu) / sd
    q = ((np.asarray(query, np.float64)[varying] - mu) / sd)[None]
    eps = 1e-6
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y))
    if any(len(np.unique(y[train])) < len(groups) for train, _ in splits):
        return None, "plain neighbour shares (too few neighbours per mode to test a state fit)"
    loss_const = 0.0
    for train, test in splits:
        const = np.bincount(y[train], weights=w[train], minlength=len(groups))
        loss_const -= float((w[test] * np.log(const[y[test]] / const.sum() + eps)).sum())
    per = max(float(w.sum()), 1e-12)
    best_c, best_loss = None, loss_const - MODE_FIT_MIN_GAIN * per
    for c in MODE_FIT_C:
        loss = 0.0
        for train, test in splits:
            fit = LogisticRegression(C=c, max_iter=1000).fit(x[train], y[train],
                                                             sample_weight=w[train])
            p = fit.predict_proba(x[test])[np.arange(len(test)), y[test]]
            loss -= float((w[test] * np.log(p + eps)).sum())
        if loss < best_loss:
            best_c, best_loss = c, loss
    if best_c is None:
        return None, (f"plain neighbour shares: the state does not predict the mode on held-out "
                      f"neighbours ({folds}-fold CV log-loss {loss_const / per:.2f} for the "
                      f"constant shares, no fit better by {MODE_FIT_MIN_GAIN} or more)")
    fit = LogisticRegression(C=best_c, max_iter=1000).fit(x, y, sample_weight=w)
    return fit.predict_proba(q)[0], (
        f"shares read at this state: the state predicts the mode ({folds}-fold CV log-loss "
        f"{best_loss / per:.2f} vs {loss_const / per:.2f} for the constant shares)")


def state_weights(distances_to_query: np.ndarray) -> np.ndarray:
    """[K] Gaussian kernel weights of neighbours at state distances d [K] from the query, with
    the median distance as bandwidth: exp(-d^2 / (2 median^2)).

    Neighbours are near, not at, the query. Where the state already decides the mode (the hand
    has started towards one side), the other side's demonstrations are the farther neighbours;
    weighting by distance keeps them from reading as a mode the policy "missed", while at states
    the data leaves open (every episode's start) the weights are nearly equal."""
    d = np.asarray(distances_to_query, np.float64)
    h = float(np.median(d)) if len(d) else 0.0
    if not np.isfinite(h) or h <= 1e-12:
        return np.ones(len(d))
    return np.exp(-0.5 * (d / h) ** 2)
