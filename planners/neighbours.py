"""K nearest recorded frames in a policy's normalised observation space (the data's local
distribution at a state, when no scene can label modes).

    index = NeighbourIndex.from_dataset(ds, ["observation.state"], normalize=policy_normalize,
                                        n_obs_steps=2, action_key="action")
    near = index.query_frame(episode=3, t=10, k=64)           # Neighbours (excludes frame itself)
    chunks, pad = index.chunks(near.rows[0], horizon=16)      # [k, 16, D] demonstrated chunks

The index is built once over every frame (SciPy's cKDTree — SciPy comes with scikit-learn — on
[M, F] float64 points, built unbalanced with sliding-midpoint splits, which builds 1 M points ~3x
faster than the median-balanced tree and answers as fast; exact neighbours; `build_seconds` and
`nbytes` say what the build cost). An observation with history To is the
concatenation of frames t-To+1..t, clamped at the episode start as LeRobot pads, so a frame's point
is exactly what the policy sees there. The action column is kept in memory so the chunks of the
K neighbours are one gather, clamped at episode ends (with is_pad) like the data set's windows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from recordings.dataset import Dataset, DatasetError

Normalize = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Neighbours:
    """Query result, nearest first. distances [Q, k] (normalised units); rows [Q, k] global frame
    rows; episodes [Q, k], frames [Q, k] (frame index inside its episode)."""
    distances: np.ndarray
    rows: np.ndarray
    episodes: np.ndarray
    frames: np.ndarray


class NeighbourIndex:
    """Exact K-nearest-neighbour index over every frame of a data set.

    points: [M, F] observation vectors, already in the policy's normalised space; episode_starts:
    [E] first row of each episode (rows are in episode order); actions: optional [M, D]."""

    def __init__(self, points: np.ndarray, episode_starts: np.ndarray, *,
                 actions: np.ndarray | None = None, leaf_size: int = 32) -> None:
        from scipy.spatial import cKDTree
        points = np.ascontiguousarray(points, dtype=np.float64)
        if points.ndim != 2 or not len(points):
            raise DatasetError(f"neighbour index needs [M, F] points, got shape {points.shape}")
        if not np.all(np.isfinite(points)):
            bad = int(np.argmax(~np.isfinite(points).all(axis=1)))
            raise DatasetError(f"neighbour index: frame row {bad} has non-finite observation "
                               f"values")
        self.starts = np.asarray(episode_starts, dtype=np.int64)
        self.ends = np.append(self.starts[1:], len(points))
        self.episode_of_row = np.repeat(np.arange(len(self.starts)), self.ends - self.starts)
        self.actions = None if actions is None else np.asarray(actions)
        t0 = time.perf_counter()
        self._tree = cKDTree(points, leafsize=leaf_size, balanced_tree=False,
                             compact_nodes=False)
        self.build_seconds = time.perf_counter() - t0
        self.dim = points.shape[1]

    @property
    def size(self) -> int:
        return int(len(self.episode_of_row))

    @property
    def nbytes(self) -> int:
        """Memory held by the index (tree arrays incl. its copy of the points, row maps,
        actions)."""
        # the tree's copy of the points and its permutation, plus its nodes (~72 bytes each)
        tree = self._tree.data.nbytes + self._tree.indices.nbytes + 72 * self._tree.size
        extra = self.episode_of_row.nbytes + self.starts.nbytes + self.ends.nbytes
        return int(tree + extra + (self.actions.nbytes if self.actions is not None else 0))

    @classmethod
    def from_dataset(cls, ds: Dataset, keys: Sequence[str] | Sequence[tuple[str, int]], *,
                     normalize: Normalize | None = None,
                     n_obs_steps: int = 1, action_key: str | None = None,
                     leaf_size: int = 32) -> "NeighbourIndex":
        """Build over every frame of ds: the policy's observation keys (feature names, or a
        planscope (key, size) spec found through Dataset.resolve; concatenated in order,
        [M, sum of sizes] per step), with history n_obs_steps, mapped by `normalize` (the
        policy's own normaliser; [..., F] -> [..., F])."""
        if action_key:
            ds.require([action_key])
        if all(isinstance(k, str) for k in keys):
            ds.require(keys)
            flat = np.concatenate([ds.column(k).reshape(ds.num_frames, -1).astype(np.float32)
                                   for k in keys], axis=1)
        else:                                    # a (key, size) flat-observation spec
            flat = ds.flat_column(keys)
        # rows in column() order are the episodes back to back
        starts = np.concatenate([[0], np.cumsum([e.length for e in ds.episodes])[:-1]])
        if normalize is not None:
            flat = np.asarray(normalize(flat), dtype=np.float32)
        points = _with_history(flat, starts, n_obs_steps)
        actions = ds.column(action_key).reshape(ds.num_frames, -1) if action_key else None
        index = cls(points, starts, actions=actions, leaf_size=leaf_size)
        index.keys, index.n_obs_steps, index._points = list(keys), n_obs_steps, points
        return index

    def query(self, x: np.ndarray, k: int) -> Neighbours:
        """K nearest frames of each query point x [F] or [Q, F] (normalised, history included)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != self.dim:
            raise DatasetError(f"neighbour query of size {x.shape[1]}, the index holds "
                               f"observations of size {self.dim}")
        k = min(int(k), self.size)
        dist, rows = self._tree.query(x, k=k)
        dist, rows = dist.reshape(len(x), k), rows.reshape(len(x), k).astype(np.int64)
        episodes = self.episode_of_row[rows]
        return Neighbours(dist, rows, episodes, rows - self.starts[episodes])

    def query_frame(self, episode: int, t: int, k: int, *, exclude_self: bool = True
                    ) -> Neighbours:
        """The K nearest frames to frame t of an episode (built with from_dataset), without the
        frame itself when exclude_self."""
        row = int(self.starts[episode]) + int(t)
        near = self.query(self._points[row], k + int(exclude_self))
        if not exclude_self:
            return near
        keep = near.rows[0] != row
        idx = np.flatnonzero(keep)[:k]
        return Neighbours(near.distances[:, idx], near.rows[:, idx], near.episodes[:, idx],
                          near.frames[:, idx])

    def chunks(self, rows: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """Demonstrated action chunks starting at each row: ([n, horizon, D], is_pad [n, horizon]),
        clamped at the episode end (last action repeated, is_pad True) as LeRobot windows are."""
        if self.actions is None:
            raise DatasetError("neighbour index was built without an action column")
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        want = rows[:, None] + np.arange(horizon)[None, :]
        end = self.ends[self.episode_of_row[rows]][:, None]
        return self.actions[np.minimum(want, end - 1)], want >= end


def _with_history(flat: np.ndarray, starts: np.ndarray, n_obs_steps: int) -> np.ndarray:
    """[M, F] per-frame vectors -> [M, To * F]: frames t-To+1..t, clamped at the episode start."""
    if n_obs_steps <= 1:
        return flat
    rows = np.arange(len(flat))
    first = np.repeat(starts, np.diff(np.append(starts, len(flat))))
    parts = [flat[np.maximum(rows - lag, first)] for lag in range(n_obs_steps - 1, -1, -1)]
    return np.concatenate(parts, axis=1)


__all__ = ["NeighbourIndex", "Neighbours"]
