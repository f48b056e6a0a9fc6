"""Which local data mode a plan belongs to, and when the neighbours are too few for any reading (planners.frame_metrics uses these).

    reach = chunk_reach(chunks [K,H,D], scale [D])          the data's own chunk-to-chunk scale
    j, d = nearest_chunk(plans [N,H,D], chunks, member [K], scale)   each plan's nearest data chunk
    groups = merge_close(groups, chunks, scale)             clusters closer than MIN_MODE_GAP: one
    reason = unsupported(demo_distance)                     '' or why the neighbours miss this state
    reason = too_few(K)                                     'only 2 nearest frames ...' or ''

Why nearest chunks and not only mode means. Past the first frames the neighbours of a frame are
other demonstrations at *similar* states, not the same one: their chunks are the same grasp at
slightly different phases (the gripper closes a step or two earlier or later, the hand is a few
mm further along) and at other placements. A mode's mean chunk is then an average of phases that
no demonstration performs, its members lie 0.1-0.37 normalised units from it, and the radius
capped at 0.45 x the gap to the other mode (0.09 there) left even the mode's own members outside
it: on a 40-episode mug_grasp export the shipped policy's plans sat 0.04 from the demonstrated
chunk and 0.08-0.19 from a neighbour's chunk, and read `no-mode` with 100 % of plans in no mode.
A plan that lies as close to some neighbour's chunk as the neighbours' chunks lie to each other
(NN_REACH x the 90th percentile of each chunk's distance to its nearest other chunk) does what
the data does there; it belongs to that chunk's mode. A plan between two well-separated modes is
far from every chunk compared with that scale, so averaging still reads as averaging.
"""
from __future__ import annotations

import numpy as np

NN_REACH = 1.5          # a plan within this many data nearest-neighbour distances (90th
                        # percentile of each chunk's distance to its nearest other chunk) of a
                        # neighbour's chunk is in that chunk's mode
NN_QUANTILE = 0.9
MIN_MODE_GAP = 0.15     # local modes whose mean chunks lie closer (normalised units, 7.5 % of the
                        # data's range) are one mode (merge_close)
DEMO_SUPPORT = 0.25     # a reading needs a neighbour's chunk within this distance (normalised
                        # units, an 8th of the data's range; under the 0.31-0.42 between two
                        # grasps) of the demonstrated chunk: else no neighbour does what the data
                        # does at this frame and the "local" modes are other states' (20-episode
                        # mug_grasp export: 0.09-0.67; 40 episodes: 0.02-0.29; paired 200: <= 0.10)
MIN_NEIGHBOURS = 8      # fewer neighbours: no reading (verdict "no-reading"). Below 8 one odd
                        # neighbour is more than 12 % of the data (a "major" mode on its own), and
                        # a second mode that every neighbour misses can still hold more than a
                        # third of the data (one-sided 95 % bound 1 - 0.05^(1/K): K = 8 -> 31 %,
                        # K = 2 -> 78 %); 2 neighbours read "one mode" and judged the policy on it


def merge_close(groups: list[np.ndarray], chunks: np.ndarray, scale: np.ndarray
                ) -> list[np.ndarray]:
    """The clusters of neighbour chunks [K,H,D] (groups: member indices) with every pair whose
    mean chunks lie closer than MIN_MODE_GAP (normalised units) merged into one, largest first.

    Why: the clustering scales the chunks by their own range, so where every neighbour does
    nearly the same thing (the lift after the grasp, 40-episode mug_grasp export) it splits them
    by the placement or the phase: 'modes' 0.086-0.108 apart, of which the state fit then gave
    one 0-5 % and the policy, following its demonstration, read `collapsed`. The two grasps at a
    first frame lie 0.31-0.42 apart (paired data, K = 64: 0.41-0.42)."""
    groups = [np.asarray(g, np.int64) for g in groups]
    while len(groups) > 1:
        means = [np.asarray(chunks, np.float64)[g].mean(axis=0) for g in groups]
        d = pairwise(np.stack(means), np.stack(means), scale)
        np.fill_diagonal(d, np.inf)
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        if not d[i, j] < MIN_MODE_GAP:
            break
        merged = np.sort(np.concatenate([groups[i], groups[j]]))
        groups = [g for k, g in enumerate(groups) if k not in (i, j)] + [merged]
    return sorted(groups, key=len, reverse=True)


def _dist(plans: np.ndarray, ref: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """[N] RMS-over-horizon distance (normalised units) of plans [N,H,D] to ref [H,D]
    (planners.frame_metrics.distances without a mask)."""
    diff = (plans - ref[None]) * scale
    return np.sqrt(((diff ** 2).sum(-1)).mean(-1))


def pairwise(a: np.ndarray, b: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """[len(a), len(b)] distances between chunks a [N,H,D] and b [K,H,D] (normalised units)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    return np.stack([_dist(a, c, scale) for c in b], axis=1)


def chunk_reach(chunks: np.ndarray, scale: np.ndarray) -> float:
    """NN_REACH x the NN_QUANTILE quantile of each finite chunk's distance to its nearest other
    chunk [K,H,D] (normalised units): how far apart the data's own chunks lie here. 0 with fewer
    than 2 finite chunks."""
    ok = np.isfinite(chunks).reshape(len(chunks), -1).all(axis=1)
    c = np.asarray(chunks, np.float64)[ok]
    if len(c) < 2:
        return 0.0
    d = pairwise(c, c, scale)
    np.fill_diagonal(d, np.inf)
    return NN_REACH * float(np.quantile(d.min(axis=1), NN_QUANTILE))


def nearest_chunk(plans: np.ndarray, chunks: np.ndarray, member: np.ndarray,
                  scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mode index [N] of each plan's nearest data chunk (-1: none), its distance [N]; inf for a
    non-finite plan) among chunks [K,H,D] whose mode indices are member [K] (-1 = in no mode)."""
    n = len(plans)
    keep = np.asarray(member) >= 0
    if not keep.any():
        return np.full(n, -1), np.full(n, np.inf)
    d = pairwise(np.asarray(plans, np.float64), np.asarray(chunks, np.float64)[keep], scale)
    d = np.where(np.isfinite(d), d, np.inf)
    j = d.argmin(axis=1)
    return np.asarray(member)[keep][j], d[np.arange(n), j]


def too_few(num_neighbours: int) -> str:
    """The reason of verdict "no-reading" when 0 < K < MIN_NEIGHBOURS ('only 2 nearest frames to
    compare with (needs >= 10)'), else ''."""
    if 0 < num_neighbours < MIN_NEIGHBOURS:
        return (f"only {num_neighbours} nearest frame"
                f"{'s' * (num_neighbours != 1)} to compare with (needs >= {MIN_NEIGHBOURS})")
    return ""


def unsupported(demo_distance: float) -> str:
    """The reason of verdict "no-reading" when the neighbours' nearest chunk lies farther than
    DEMO_SUPPORT from the demonstrated chunk (demo_distance, normalised units), else ''."""
    if not np.isfinite(demo_distance) or demo_distance <= DEMO_SUPPORT:
        return ""
    return (f"no neighbour does what the data does here: the nearest frames' closest chunk lies "
            f"{demo_distance:.2f} from the demonstrated chunk (needs <= {DEMO_SUPPORT}, "
            f"normalised action units); the data is too sparse at this state")
