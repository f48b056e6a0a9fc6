"""Frame hardness, aggregates and the heat-map grid of a scan (numpy only; see docs/scan.md).

Per-frame metrics (columns of the scan file, shape [F, P] for P policies; written by
planners/frame_metrics.py) and the direction in which each is "harder":

    demo_dist_nearest  +  distance from the demonstrated chunk to the nearest sample
    demo_dist_mean     +  ... to the mean sample
    sample_modes       .  clusters of the N samples
    data_modes         .  clusters of the K neighbours' chunks (the local data modes)
    coverage           -  share of the major local data modes the samples reach
    missed_share       +  largest share of neighbours held by a data mode the samples miss
    averaging          +  averaging score of the samples against the local data modes, [0, 1]
    off_data_share     +  share of samples far from every local data mode
    spread             +  mean per-coordinate standard deviation of the samples
    nonfinite          +  samples holding NaN/inf
    collapsed, averaged, off_data, invalid   flags (0/1) set by the verdict (off_data: most
                       samples reach no local data mode and do not sit between two)
    latency_ms         .  wall time of the planner call (machine-dependent, never ranked)

Frame hardness (one score per frame and policy; higher = look first):

    score = 4 * flagged + 2 * c(demo_dist_nearest) + 1 * c(spread)

flagged is 1 when the frame is collapsed, averaged, off its data or invalid; c(.) is the frame's percentile
among the scanned frames (recordings.ranking.percentile_component: 0 = easiest, 1 = hardest;
NaN counts 0). 4 > 2 + 1, so every flagged frame ranks above every clean frame: collapse and
averaging first, then distance to the demonstration, then disagreement. Ties: (episode, frame).

Two policies A, B on the same frames (same noise): change columns (shape [F]) say where B lost a
local data mode A reached (modes_lost > 0; < 0: gained), moved away from the demonstration
(demo_dist_change, B - A) or started averaging (averaging_started: +1 started, -1 stopped).
Change score = 4 * (modes_lost > 0 or averaging_started > 0 or B newly invalid)
+ 2 * c(|demo_dist_change|) + 1 * c(|spread_change|): the comparison queue's order.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from recordings.ranking import percentile_component

# name -> (direction: +1 higher is harder, -1 lower is harder, 0 not ranked; unit; meaning)
METRICS: dict[str, tuple[int, str, str]] = {
    "demo_dist_nearest": (+1, "norm. action", "demonstrated chunk to nearest sample"),
    "demo_dist_mean": (+1, "norm. action", "demonstrated chunk to mean sample"),
    "sample_modes": (0, "count", "modes among the samples"),
    "data_modes": (0, "count", "local data modes (neighbours)"),
    "coverage": (-1, "share", "major local data modes reached"),
    "missed_share": (+1, "share", "largest local data mode missed"),
    "averaging": (+1, "score", "averaging against local data modes"),
    "off_data_share": (+1, "share", "samples away from every local mode"),
    "spread": (+1, "norm. action", "sample spread (mean std)"),
    "nonfinite": (+1, "count", "non-finite samples"),
    "collapsed": (+1, "flag", "collapsed (missed a major local mode)"),
    "averaged": (+1, "flag", "averaging between local modes"),
    "off_data": (+1, "flag", "samples leave the local data"),
    "invalid": (+1, "flag", "no finite sample"),
    "latency_ms": (0, "ms", "planner latency"),
}
FLAGS = ("collapsed", "averaged", "off_data", "invalid")
CHANGE_COLUMNS = ("modes_lost", "modes_gained", "demo_dist_change", "spread_change",
                  "averaging_started")
NONDETERMINISTIC = ("latency_ms",)
WEIGHTS = {"flagged": 4.0, "demo_dist_nearest": 2.0, "spread": 1.0}
WORST_KEPT = 100


def _policy(frames: Mapping[str, np.ndarray], name: str, policy: int) -> np.ndarray:
    values = np.asarray(frames[name])
    return values[:, policy] if values.ndim == 2 else values


def flagged(frames: Mapping[str, np.ndarray], policy: int = 0) -> np.ndarray:
    """[F] bool: collapsed, averaged, off_data or invalid for this policy."""
    n = len(frames["episode"])
    out = np.zeros(n, dtype=bool)
    for flag in FLAGS:
        if flag in frames:
            out |= _policy(frames, flag, policy) > 0
    return out


def _order(score: np.ndarray, frames: Mapping[str, np.ndarray]) -> np.ndarray:
    return np.lexsort((np.asarray(frames["frame"]), np.asarray(frames["episode"]), -score))


def hardness(frames: Mapping[str, np.ndarray], policy: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(score [F], order [F] hardest first) for one policy; see the module docstring."""
    score = WEIGHTS["flagged"] * flagged(frames, policy)
    for name in ("demo_dist_nearest", "spread"):
        if name in frames:
            score = score + WEIGHTS[name] * percentile_component(_policy(frames, name, policy), +1)
    return score, _order(score, frames)


def change_score(frames: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(score [F], order [F]) of how much policy B changed against A (two-policy scans)."""
    lost = np.asarray(frames["modes_lost"]) > 0
    started = np.asarray(frames["averaging_started"]) > 0
    newly_invalid = np.zeros_like(lost)
    if "invalid" in frames and np.ndim(frames["invalid"]) == 2:
        inv = np.asarray(frames["invalid"]) > 0
        newly_invalid = inv[:, 1] & ~inv[:, 0]
    score = WEIGHTS["flagged"] * (lost | started | newly_invalid)
    score = score + 2.0 * percentile_component(np.abs(frames["demo_dist_change"]), +1)
    score = score + 1.0 * percentile_component(np.abs(frames["spread_change"]), +1)
    return score, _order(score, frames)


def num_policies(frames: Mapping[str, np.ndarray]) -> int:
    for name in METRICS:
        if name in frames and np.ndim(frames[name]) == 2:
            return int(np.shape(frames[name])[1])
    return 1


def _scores(frames: Mapping[str, np.ndarray], scores: dict | None, policy: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """hardness(frames, policy), computed once per summary (scores: a cache dict or None)."""
    if scores is None:
        return hardness(frames, policy)
    if policy not in scores:
        scores[policy] = hardness(frames, policy)
    return scores[policy]


def episode_table(frames: Mapping[str, np.ndarray], scores: dict | None = None
                  ) -> dict[str, np.ndarray]:
    """Per scanned episode (rows sorted by (episode, frame)): frames, flag counts [E, P], mean of
    every metric [E, P], the hardest frame and its score [E, P]."""
    ep = np.asarray(frames["episode"])
    if not len(ep):
        return {"episode": np.zeros(0, np.int64), "frames": np.zeros(0, np.int64)}
    starts = np.flatnonzero(np.r_[True, ep[1:] != ep[:-1]])
    counts = np.diff(np.r_[starts, len(ep)])
    out: dict[str, np.ndarray] = {"episode": ep[starts].astype(np.int64),
                                  "frames": counts.astype(np.int64)}
    p_count = num_policies(frames)
    for name in METRICS:
        if name not in frames or name in NONDETERMINISTIC:
            continue
        cols = []
        for p in range(p_count):
            v = _policy(frames, name, p).astype(np.float64)
            finite = np.isfinite(v)
            total = np.add.reduceat(np.where(finite, v, 0.0), starts)
            n = np.add.reduceat(finite.astype(np.int64), starts)
            cols.append(total if name in FLAGS else
                        np.where(n > 0, total / np.maximum(n, 1), np.nan))
        key = name if name in FLAGS else f"mean_{name}"
        out[key] = np.stack(cols, axis=1)
    worst_frame, worst_score = [], []
    frame = np.asarray(frames["frame"])
    for p in range(p_count):
        score, _ = _scores(frames, scores, p)
        # argmax per segment (highest score, earliest frame on ties), vectorised: sort by
        # (episode segment, -score, row) and take each segment's first
        seg = np.repeat(np.arange(len(starts)), counts)
        order = np.lexsort((np.arange(len(score)), -score, seg))
        best = order[np.r_[0, np.cumsum(counts)[:-1]]]
        worst_frame.append(frame[best])
        worst_score.append(score[best])
    out["worst_frame"] = np.stack(worst_frame, axis=1).astype(np.int64)
    out["worst_score"] = np.stack(worst_score, axis=1)
    return out


def worst_table(frames: Mapping[str, np.ndarray], k: int = WORST_KEPT,
                scores: dict | None = None) -> dict[str, np.ndarray]:
    """The k hardest frames per policy (queue "hardness"), and, for two policies, the k that
    changed most (queue "change"): queue, policy, rank, row, episode, frame, score."""
    rows: list[tuple[str, int, int, int, float]] = []
    for p in range(num_policies(frames)):
        score, order = _scores(frames, scores, p)
        rows += [("hardness", p, r, int(i), float(score[i])) for r, i in enumerate(order[:k])]
    if "modes_lost" in frames:
        score, order = change_score(frames)
        rows += [("change", 1, r, int(i), float(score[i])) for r, i in enumerate(order[:k])]
    idx = np.asarray([r[3] for r in rows], dtype=np.int64)
    return {"queue": np.asarray([r[0] for r in rows], dtype=str),
            "policy": np.asarray([r[1] for r in rows], dtype=np.int64),
            "rank": np.asarray([r[2] for r in rows], dtype=np.int64),
            "row": idx,
            "episode": np.asarray(frames["episode"])[idx].astype(np.int64),
            "frame": np.asarray(frames["frame"])[idx].astype(np.int64),
            "score": np.asarray([r[4] for r in rows], dtype=np.float64)}


def dataset_table(frames: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One row per policy: frames scanned, flag counts and shares, mean / median / p90 of each
    metric over finite values."""
    p_count = num_policies(frames)
    n = len(frames["episode"])
    out: dict[str, np.ndarray] = {"policy": np.arange(p_count, dtype=np.int64),
                                  "frames": np.full(p_count, n, dtype=np.int64)}
    for name in METRICS:
        if name not in frames or name in NONDETERMINISTIC:
            continue
        stats = {"mean": [], "median": [], "p90": []}
        for p in range(p_count):
            v = _policy(frames, name, p).astype(np.float64)
            v = v[np.isfinite(v)]
            stats["mean"].append(v.mean() if len(v) else np.nan)
            stats["median"].append(np.median(v) if len(v) else np.nan)
            stats["p90"].append(np.percentile(v, 90) if len(v) else np.nan)
        if name in FLAGS:
            out[name] = np.round(np.nan_to_num(np.asarray(stats["mean"])) * n).astype(np.int64)
            out[f"{name}_share"] = np.asarray(stats["mean"])
        else:
            for stat, values in stats.items():
                out[f"{stat}_{name}"] = np.asarray(values)
    return out


def summary_tables(frames: Mapping[str, np.ndarray], header: Mapping[str, Any] | None = None
                   ) -> dict[str, dict[str, np.ndarray]]:
    """What a merged scan file stores besides its frames: dataset, episodes, worst."""
    scores: dict = {}
    return {"dataset": dataset_table(frames), "episodes": episode_table(frames, scores),
            "worst": worst_table(frames, scores=scores)}


def summary_json(frames: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The deterministic summary (no latency) as plain JSON types: equal for equal scans."""
    def plain(table: dict[str, np.ndarray]) -> dict[str, Any]:
        return {k: np.round(np.asarray(v, dtype=np.float64), 9).tolist()
                if np.asarray(v).dtype.kind == "f" else np.asarray(v).tolist()
                for k, v in table.items()}
    return {name: plain(table) for name, table in summary_tables(frames).items()}


def heat_grid(episode: np.ndarray, frame: np.ndarray, values: np.ndarray, every: int = 1
              ) -> tuple[np.ndarray, np.ndarray]:
    """(grid [E, T] float32, episodes [E]): value of each scanned frame at row = its episode's
    position, column = frame // every; NaN where nothing was scanned. Rows sorted by (episode,
    frame). Vectorised: 10 M frames take well under a second."""
    episode = np.asarray(episode)
    if not len(episode):
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
    new = np.r_[True, episode[1:] != episode[:-1]]
    row = np.cumsum(new) - 1
    col = np.asarray(frame) // max(1, int(every))
    grid = np.full((int(row[-1]) + 1, int(col.max()) + 1), np.nan, dtype=np.float32)
    grid[row, col] = values
    return grid, episode[new].astype(np.int64)
