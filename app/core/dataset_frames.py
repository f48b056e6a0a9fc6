"""A policy's view of a recorded data set, frame by frame: shared by the dataset scan
(app/core/scan/work.py) and the dataset-conditioned inspector (app/core/inspector/dataset_source.py).

    obs = frame_observation(ds, spec, episode, t)       {feature: [To, *shape]} under the policy's names
    demo, mask = demonstrated_chunk(ds, episode, t, H, start)  [H, D] actions t-start..t-start+H-1,
                                                        mask [H] (step exists)
    local = LocalData(ds, spec_or_keys, horizon, start) nearest recorded frames + their chunks

start is the planner's PlannerSpec.action_start (To - 1 for LeRobot and diffusion_policy): their
plans cover the observed steps too, so plans[start] lines up with the action recorded at frame t
(what will run), plans[0] with frame t - start; a chunk starting at t would be off by `start`.

Feature-name mapping: a policy feature is found in the data as a feature of the same name, or (its
flat values) as a run of named dimensions inside another feature, spelt "<name>.<i>" (planscope's
LeRobot export: ee_pos.0..2 in observation.state) or "<name>.x/y/z/w" (what LeRobot's own recorders
write in info.json features[...]["names"]); recordings.dataset.Dataset.resolve and
dimension_names. Images only by their own name. Anything else is one DatasetError naming the
policy's feature, the spellings looked for and the data set's features with their names.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from recordings.dataset import Dataset, DatasetError


def _size(feature: Any) -> int:
    return int(np.prod(feature.shape)) if feature.shape else 1


def state_spec(spec: Any) -> list[tuple[str, int]]:
    """The (name, flat size) of every non-image feature of a planner spec, in spec order."""
    return [(f.name, _size(f)) for f in spec.features if f.kind != "image"]


def check_policy_features(ds: Dataset, spec: Any, who: str) -> None:
    """Raise DatasetError (one line naming both sides) unless every feature of the policy maps
    onto the data set."""
    images = [f.name for f in spec.features if f.kind == "image"]
    if images:
        ds.require(images, who)
    ds.resolve(state_spec(spec), who)


def frame_observation(ds: Dataset, spec: Any, episode: int, t: int) -> dict[str, np.ndarray]:
    """The policy's observation history at frame t of an episode: {feature: [To, *shape]} (float32
    for state features, images as stored), clamped at the episode start as LeRobot pads."""
    to = max(int(spec.n_obs_steps), 1)
    obs: dict[str, np.ndarray] = {}
    states = state_spec(spec)
    if states:
        flat, _ = ds.flat_history(episode, t, states, to)          # [To, sum of sizes]
        start = 0
        by_name = {f.name: f for f in spec.features}
        for name, size in states:
            shape = tuple(by_name[name].shape) or (1,)
            obs[name] = flat[:, start:start + size].reshape(to, *shape).astype(np.float32)
            start += size
    images = [f.name for f in spec.features if f.kind == "image"]
    if images:
        window = ds.history(episode, t, images, to)
        obs.update({k: window[k] for k in images})
    return {f.name: obs[f.name] for f in spec.features}


def demonstrated_chunk(ds: Dataset, episode: int, t: int, horizon: int, start: int = 0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(the `horizon` actions of the episode from frame t - start [H, D] float32, aligned with a
    plan whose executed part begins at index `start`; mask [H] True where the step exists in the
    episode; outside it the edge action is repeated, as LeRobot pads)."""
    key = ds.action_key
    if key is None:
        raise DatasetError(f"{ds.path}: the data set has no action feature")
    w = ds.window(episode, t, {key: range(-start, horizon - start)})
    return (np.asarray(w[key], np.float32).reshape(horizon, -1),
            ~np.asarray(w[f"{key}_is_pad"], bool))


class LocalData:
    """Nearest recorded frames of the whole data set and their action chunks (brute force over
    the normalised state of every frame: [M, F] floats, exact and deterministic).

    states: the non-image features the policy reads (their current frame; a spec's (name, size)
    pairs are found through Dataset.resolve, plain names as features), each dimension mapped from
    its data range to [-1, 1]; actions: every frame's action [M, D]; start: the planner's
    action_start (a chunk at frame t holds actions t-start .. t-start+H-1, held at the edges)."""

    def __init__(self, ds: Dataset, keys: Sequence[str] | Sequence[tuple[str, int]],
                 horizon: int, start: int = 0) -> None:
        eps = ds.episodes
        self.lengths = np.asarray([e.length for e in eps], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.episode_of = np.repeat(np.arange(len(eps)), self.lengths)
        m = len(self.episode_of)
        keys = list(keys)
        if keys and not isinstance(keys[0], str):
            x = np.asarray(ds.flat_column(keys), np.float64).reshape(m, -1)
        else:
            cols = [np.asarray(ds.column(k), dtype=np.float64).reshape(m, -1) for k in keys]
            x = np.concatenate(cols, axis=1) if cols else np.zeros((m, 0))
        lo, hi = (x.min(axis=0), x.max(axis=0)) if m else (np.zeros(x.shape[1]),) * 2
        half = np.where(hi - lo > 1e-9, (hi - lo) / 2, 1.0)
        self.states = ((x - (hi + lo) / 2) / half).astype(np.float32)
        self.actions = np.asarray(ds.column(ds.action_key), dtype=np.float32).reshape(m, -1)
        self.horizon = horizon
        self.start = int(start)
        self.last_rows = np.zeros(0, np.int64)   # rows of the last nearest() answer

    def chunks(self, rows: np.ndarray) -> np.ndarray:
        """[len(rows), H, D] action chunks at global rows (from row - start), held at the
        episode's edges."""
        ep = self.episode_of[rows]
        last = self.starts[ep] + self.lengths[ep] - 1
        idx = np.clip(rows[:, None] + np.arange(-self.start, self.horizon - self.start)[None],
                      self.starts[ep][:, None], last[:, None])
        return self.actions[idx]

    def locate(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(episode [n], frame [n]) of global rows."""
        rows = np.asarray(rows, np.int64)
        ep = self.episode_of[rows]
        return ep, rows - self.starts[ep]

    def nearest(self, episode: int, frame: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """([k', H, D] chunks, [k'] state distances) at the frames nearest to (episode, frame),
        at most one per other episode (its most similar frame), nearest first, ties by row;
        their rows are kept in last_rows.

        One frame per episode: the frames just before and after a neighbour's best match are
        the same demonstration shifted by a step, and would otherwise show up as extra "modes"."""
        row = self.starts[episode] + frame
        d = ((self.states - self.states[row]) ** 2).sum(axis=1)
        nonempty = self.lengths > 0
        best = np.full(len(self.lengths), np.inf)
        best[nonempty] = np.minimum.reduceat(d, self.starts[nonempty])
        best[episode] = np.inf
        k = min(k, int(np.isfinite(best).sum()))
        if k <= 0:
            self.last_rows = np.zeros(0, np.int64)
            return np.zeros((0, self.horizon, self.actions.shape[1]), np.float32), np.zeros(0)
        eps = np.argpartition(best, k - 1)[:k]
        eps = eps[np.lexsort((eps, best[eps]))]
        rows = np.asarray([self.starts[e] + int(np.argmin(d[self.starts[e]:self.starts[e]
                                                              + self.lengths[e]]))
                           for e in eps], dtype=np.int64)
        self.last_rows = rows
        return (self.adjust(self.chunks(rows), self.states[rows], self.states[row]),
                np.sqrt(best[eps]))

    @staticmethod
    def adjust(chunks: np.ndarray, states: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Chunks [K, H, D] moved to the query state [F] by a local linear fit (ridge) of chunk on
        state over the K neighbours: chunk + (query - state) @ B.

        Neighbours are near, not at, the query state: where the action depends smoothly on the
        state (a reach towards an object placed a few cm elsewhere) their chunks differ by more
        than the modes do. The fit removes that smooth part; a mode chosen independently of the
        state (left or right of the handle) is not linear in it and stays (regression
        adjustment, as in approximate Bayesian computation)."""
        k = len(chunks)
        varying = states.std(axis=0) > 1e-6      # features that vary among the neighbours
        mean = states.mean(axis=0)
        x = (states - mean)[:, varying].astype(np.float64)             # [K, F']
        q = (query - mean)[varying].astype(np.float64)                 # [F']
        # at least 3 neighbours per fitted slope (+4): with fewer, the fit also absorbs the
        # modes by chance correlation (8 neighbours of 2 varying features lost a 50/50 split)
        if x.shape[1] == 0 or k < 3 * x.shape[1] + 4:
            return chunks
        y = chunks.reshape(k, -1).astype(np.float64)                  # [K, H*D]
        y = y - y.mean(axis=0)
        lam = 0.1 * max(float((x ** 2).sum()) / x.shape[1], 1e-9)    # ridge: scale-aware
        b = np.linalg.solve(x.T @ x + lam * np.eye(x.shape[1]), x.T @ y)   # [F, H*D]
        moved = chunks.reshape(k, -1) + (q[None] - x) @ b
        return moved.reshape(chunks.shape).astype(np.float32)


__all__ = ["LocalData", "check_policy_features", "demonstrated_chunk", "frame_observation",
           "state_spec"]
