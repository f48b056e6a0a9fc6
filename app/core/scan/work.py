"""The per-frame work of a scan, run in a worker process (or Ray task, or this process).

    context = scan_context(config)      built once per process: data set, policies, local data
    result = scan_job(job, config)      JobResult: one row per frame, failures for frames that raised

A frame (episode e, frame t): the policy's observation history at t is read from the data under
the policy's own feature names; the demonstrated chunk is actions[t : t+H] of episode e (padded
steps past its end masked); the local data are the action chunks of the K frames nearest to
(e, t) in the data's normalised state space, one per other episode (the demonstration itself
must not vote on what the data does there, and a neighbour's adjacent frames are not new modes); every policy samples N plans with the same initial noise
(from frame_seed), and planners.frame_metrics measures them.
"""
from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.scan.config import FrameJob, ScanConfig, column_spec, frame_seed
from recordings.scan_ranking import CHANGE_COLUMNS

_CONTEXTS: dict[ScanConfig, "ScanContext"] = {}


@dataclass
class JobResult:
    """rows: column -> [F, ...] for the frames that were scanned (scan-file columns);
    failures: {episode, frame, error} for frames that raised."""
    job: FrameJob
    rows: dict[str, np.ndarray]
    failures: list[dict[str, Any]] = field(default_factory=list)


def short_error(exc: BaseException) -> str:
    return traceback.format_exception_only(type(exc), exc)[-1].strip()[:500]


class LocalData:
    """Nearest recorded frames of the whole data set and their action chunks (brute force over
    the normalised state of every frame: [M, F] floats, exact and deterministic).

    states: the non-image features the first policy reads (their current frame), each dimension
    mapped from its data range to [-1, 1]; actions: every frame's action [M, D]."""

    def __init__(self, ds, keys: list[str], horizon: int) -> None:
        eps = ds.episodes
        self.lengths = np.asarray([e.length for e in eps], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.episode_of = np.repeat(np.arange(len(eps)), self.lengths)
        cols = [np.asarray(ds.column(k), dtype=np.float64).reshape(len(self.episode_of), -1)
                for k in keys]
        x = np.concatenate(cols, axis=1) if cols else np.zeros((len(self.episode_of), 0))
        lo, hi = x.min(axis=0), x.max(axis=0)
        half = np.where(hi - lo > 1e-9, (hi - lo) / 2, 1.0)
        self.states = ((x - (hi + lo) / 2) / half).astype(np.float32)
        self.actions = np.asarray(ds.column(ds.action_key), dtype=np.float32)
        self.horizon = horizon

    def chunks(self, rows: np.ndarray) -> np.ndarray:
        """[len(rows), H, D] action chunks starting at global rows, held at the episode's end."""
        ep = self.episode_of[rows]
        last = self.starts[ep] + self.lengths[ep] - 1
        idx = np.minimum(rows[:, None] + np.arange(self.horizon)[None], last[:, None])
        return self.actions[idx]

    def nearest(self, episode: int, frame: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """([k', H, D] chunks, [k'] state distances) at the frames nearest to (episode, frame),
        at most one per other episode (its most similar frame), nearest first, ties by row.

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
            return np.zeros((0, self.horizon, self.actions.shape[1]), np.float32), np.zeros(0)
        eps = np.argpartition(best, k - 1)[:k]
        eps = eps[np.lexsort((eps, best[eps]))]
        rows = np.asarray([self.starts[e] + int(np.argmin(d[self.starts[e]:self.starts[e]
                                                              + self.lengths[e]]))
                           for e in eps], dtype=np.int64)
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
        if k < 4 or states.shape[1] == 0:
            return chunks
        x = (states - states.mean(axis=0)).astype(np.float64)        # [K, F]
        y = chunks.reshape(k, -1).astype(np.float64)                  # [K, H*D]
        y = y - y.mean(axis=0)
        lam = 0.1 * max(float((x ** 2).sum()) / x.shape[1], 1e-9)    # ridge: scale-aware
        b = np.linalg.solve(x.T @ x + lam * np.eye(x.shape[1]), x.T @ y)   # [F, H*D]
        moved = chunks.reshape(k, -1) + (query[None] - states).astype(np.float64) @ b
        return moved.reshape(chunks.shape).astype(np.float32)


class ScanContext:
    """Data set, policies and local data of one scan, in one process."""

    def __init__(self, config: ScanConfig) -> None:
        from planners.loading import load_planner
        from recordings.dataset import open_dataset

        _one_torch_thread()
        self.config = config
        self.ds = open_dataset(config.data)
        self.planners = [load_planner(p, device=config.settings.device) for p in config.policies]
        for planner, label in zip(self.planners, config.labels):   # names both sides
            self.ds.require([f.name for f in planner.spec.features],
                            f"policy {label!r} ({planner.spec.name})")
        spec = self.planners[0].spec
        self.horizon, self.action_dim = int(spec.horizon), int(spec.action_dim)
        self.keys = list(dict.fromkeys(f.name for p in self.planners for f in p.spec.features))
        self.history = max(int(p.spec.n_obs_steps) for p in self.planners)
        state_keys = [f.name for f in spec.features if f.kind != "image"]
        self.local = LocalData(self.ds, state_keys, self.horizon) \
            if config.settings.neighbours > 0 else None
        actions = self.local.actions if self.local is not None else \
            np.asarray(self.ds.column(self.ds.action_key), np.float32)
        # the data's min-max normalisation (2 / range; 1 for a constant dimension), the space
        # the policies were trained in
        from planners.normalizer import MinMaxNormalizer
        self.action_scale = MinMaxNormalizer.fit(actions).scale.astype(np.float64)

    def observation(self, planner, episode: int, frame: int) -> dict[str, np.ndarray]:
        """The policy's observation history at (episode, frame), [To, ...] per feature."""
        spec = planner.spec
        names = [f.name for f in spec.features]
        window = self.ds.history(episode, frame, names, int(spec.n_obs_steps))
        obs = {}
        for f in spec.features:
            value = window[f.name]
            obs[f.name] = value if f.kind == "image" else value.astype(np.float32)
        return obs

    def demo(self, episode: int, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """(demonstrated chunk [H, D], mask [H] True where the step exists in the episode)."""
        key = self.ds.action_key
        w = self.ds.window(episode, frame, {key: range(self.horizon)})
        return np.asarray(w[key], np.float32), ~np.asarray(w[f"{key}_is_pad"], bool)

    def sample(self, planner, obs, seed: int, noise: np.ndarray):
        from planners.boundary import run_planner
        s = self.config.settings
        return run_planner(planner, obs, s.num_samples, seed=seed, solver=s.solver or None,
                           steps=s.steps or None, temperature=s.temperature,
                           initial_noise=noise if planner.spec.kind == "diffusion" else None)

    def frame_row(self, episode: int, frame: int) -> dict[str, np.ndarray]:
        """Every column of one frame (one value per policy for metrics)."""
        from planners.frame_metrics import compare, frame_metrics, local_modes, state_weights
        s = self.config.settings
        seed = frame_seed(s.seed, episode, frame)
        noise = np.random.default_rng(seed).standard_normal(
            (s.num_samples, self.horizon, self.action_dim)).astype(np.float32)
        demo, mask = self.demo(episode, frame)
        neighbours, weights = self.local.nearest(episode, frame, s.neighbours) if self.local \
            else (None, None)
        local = local_modes(neighbours, action_scale=self.action_scale, seed=s.seed,
                            weights=None if weights is None else state_weights(weights))
        metrics, plans = [], []
        for planner in self.planners:
            obs = self.observation(planner, episode, frame)
            start = time.perf_counter()
            batch = self.sample(planner, obs, seed, noise)
            latency = (time.perf_counter() - start) * 1000.0
            plans.append(np.asarray(batch.plans, np.float32))
            metrics.append(frame_metrics(plans[-1], demo, local, action_scale=self.action_scale,
                                         demo_mask=mask, latency_ms=latency, seed=s.seed))
        row: dict[str, np.ndarray] = {}
        for name in metrics[0].columns():
            row[name] = np.asarray([m.columns()[name] for m in metrics])
        if len(metrics) == 2:
            row.update({k: np.asarray(v) for k, v in compare(*metrics).items()
                        if k in CHANGE_COLUMNS})
        if s.keep_plans:
            row["plans"] = np.stack(plans)
            row["demo"] = demo
        return row


def _one_torch_thread() -> None:
    """One intra-op thread per worker: N workers use N cores, and results do not depend on the
    machine's core count."""
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass


def scan_context(config: ScanConfig) -> ScanContext:
    ctx = _CONTEXTS.get(config)
    if ctx is None:
        _CONTEXTS.clear()          # one scan per process at a time: free the previous one
        ctx = _CONTEXTS[config] = ScanContext(config)
    return ctx


def empty_rows(config: ScanConfig, ctx: ScanContext) -> dict[str, np.ndarray]:
    s = config.settings
    spec = column_spec(len(config.policies), keep_plans=s.keep_plans,
                       num_samples=s.num_samples, horizon=ctx.horizon, action_dim=ctx.action_dim)
    spec = {"episode": ("int64", ()), "frame": ("int64", ()), **spec}
    return {k: np.zeros((0, *shape), dtype) for k, (dtype, shape) in spec.items()}


def scan_job(job: FrameJob, config: ScanConfig) -> JobResult:
    """Scan every frame of one job; a frame that raises becomes a failure, the rest go on."""
    ctx = scan_context(config)
    rows: list[dict[str, np.ndarray]] = []
    failures: list[dict[str, Any]] = []
    for frame in job.frames:
        try:
            row = ctx.frame_row(job.episode, frame)
        except Exception as exc:  # noqa: BLE001 - one bad frame must not end the scan
            failures.append({"episode": job.episode, "frame": frame, "error": short_error(exc),
                             "worker": f"pid{os.getpid()}"})
            continue
        row["episode"], row["frame"] = np.asarray(job.episode), np.asarray(frame)
        rows.append(row)
    if not rows:
        return JobResult(job, empty_rows(config, ctx), failures)
    return JobResult(job, {k: np.stack([r[k] for r in rows]) for k in rows[0]}, failures)
