"""The per-frame work of a scan, run in a worker process (or Ray task, or this process).

    context = scan_context(config)      built once per process: data set, policies, local data
    result = scan_job(job, config)      JobResult: one row per frame, failures for frames that raised

A frame (episode e, frame t): the policy's observation history at t is read from the data under
the policy's own feature names; the demonstrated chunk is actions[t : t+H] of episode e (padded
steps past its end masked); the local data are the action chunks of the K frames nearest to
(e, t) in the data's normalised state space, one per other episode (the demonstration itself
must not vote on what the data does there, and a neighbour's adjacent frames are not new modes); every policy samples N plans with the same initial noise
(planners.frame_metrics.frame_noise), and planners.frame_metrics measures them.
"""
from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from app.core.dataset_frames import (LocalData, check_policy_features,  # noqa: F401 (re-export)
                                     demonstrated_chunk, frame_observation, state_spec)
from app.core.scan.config import FrameJob, ScanConfig, ScanConfigError, column_spec
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


class ScanContext:
    """Data set, policies and local data of one scan, in one process."""

    def __init__(self, config: ScanConfig) -> None:
        from planners.loading import load_planner
        from recordings.dataset import open_dataset

        self.config = config
        self.ds = open_dataset(config.data)
        self.planners = [load_planner(p, device=config.settings.device) for p in config.policies]
        for planner, label in zip(self.planners, config.labels):   # names both sides
            check_policy_features(self.ds, planner.spec, f"policy {label!r} ({planner.spec.name})")
        spec = self.planners[0].spec
        self.horizon, self.action_dim = int(spec.horizon), int(spec.action_dim)
        self.keys = list(dict.fromkeys(f.name for p in self.planners for f in p.spec.features))
        self.history = max(int(p.spec.n_obs_steps) for p in self.planners)
        # plans[action_start] is the step that runs at the frame (To - 1 for LeRobot and
        # diffusion_policy): the demonstrated and neighbour chunks are aligned to it
        self.action_start = int(getattr(spec, "action_start", 0))
        self.local = LocalData(self.ds, state_spec(spec), self.horizon, self.action_start) \
            if config.settings.neighbours > 0 else None
        actions = self.local.actions if self.local is not None else \
            np.asarray(self.ds.column(self.ds.action_key), np.float32)
        self.mode_of_episode = [e.mode for e in self.ds.episodes]
        if config.data_shares:
            present = sorted({m for m in self.mode_of_episode if m})
            if not present:
                raise ScanConfigError(f"{config.data}: --data-shares needs episodes with mode "
                                      f"labels to name the local modes; this data set has none")
            unknown = [m for m, _ in config.data_shares if m not in present]
            if unknown:
                raise ScanConfigError(f"--data-shares names mode(s) {', '.join(unknown)} that "
                                      f"{os.path.basename(config.data)} does not have (its "
                                      f"modes: {', '.join(present)})")
        # the data's min-max normalisation (2 / range; 1 for a constant dimension), the space
        # the policies were trained in
        from planners.normalizer import MinMaxNormalizer
        self.action_scale = MinMaxNormalizer.fit(actions).scale.astype(np.float64)
        # frames per sampler call and, on CUDA, each policy's memory bound (scan/batching.py)
        from app.core.scan.batching import CudaBudget, frames_per_call, is_cuda
        s = config.settings
        self.per_call = frames_per_call(s.frames_per_call, s.device, s.num_samples)
        self.cuda_budgets = [CudaBudget() for _ in self.planners] if is_cuda(s.device) else []

    def observation(self, planner, episode: int, frame: int) -> dict[str, np.ndarray]:
        """The policy's observation history at (episode, frame), [To, ...] per feature."""
        return frame_observation(self.ds, planner.spec, episode, frame)

    def demo(self, episode: int, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """(demonstrated chunk [H, D], mask [H] True where the step exists in the episode)."""
        return demonstrated_chunk(self.ds, episode, frame, self.horizon, self.action_start)

    def sample(self, planner, obs, seed: int, noise: np.ndarray):
        from planners.boundary import run_planner
        s = self.config.settings
        return run_planner(planner, obs, s.num_samples, seed=seed, solver=s.solver or None,
                           steps=s.steps or None, temperature=s.temperature,
                           initial_noise=noise if planner.spec.kind == "diffusion" else None)

    def mode_names(self, local) -> list[str]:
        """Each local mode's name: the recorded mode label most of its neighbours carry."""
        eps = self.local.episode_of[self.local.last_rows]
        names = []
        for g in local.groups:
            labels = [self.mode_of_episode[e] for e in eps[g] if self.mode_of_episode[e]]
            names.append(max(sorted(set(labels)), key=labels.count) if labels else "")
        return names

    def frame_row(self, episode: int, frame: int) -> dict[str, np.ndarray]:
        """Every column of one frame (one value per policy for metrics); raises what failed."""
        rows, errors = self.frame_rows(episode, [frame])
        if errors:
            raise errors[0][1]
        return rows[0]

    def frame_rows(self, episode: int, frames: Sequence[int]
                   ) -> tuple[list[dict[str, np.ndarray]], list[tuple[int, BaseException]]]:
        """Every column of each frame that could be scanned, in order, and (frame, error) for
        the others. Each policy samples the frames in batches (app/core/scan/batching.py)."""
        from app.core.scan.batching import sample_frames
        prepared, errors = [], []
        for frame in frames:
            try:
                prepared.append(self.prepare(episode, frame))
            except Exception as exc:  # noqa: BLE001 - one bad frame must not end the job
                errors.append((frame, exc))
        sampled = [sample_frames(self, planner, episode, prepared, self.per_call,
                                 self.cuda_budgets[i] if self.cuda_budgets else None)
                   for i, planner in enumerate(self.planners)]
        rows = []
        for k, item in enumerate(prepared):
            results = [per_planner[k] for per_planner in sampled]
            failed = next((r for r, _ in results if isinstance(r, BaseException)), None)
            if failed is not None:
                errors.append((item.frame, failed))
                continue
            try:
                row = self.measure(item, [(r.plans, ms) for r, ms in results])
            except Exception as exc:  # noqa: BLE001
                errors.append((item.frame, exc))
                continue
            row["episode"], row["frame"] = np.asarray(episode), np.asarray(item.frame)
            rows.append(row)
        errors.sort(key=lambda e: e[0])
        return rows, errors

    def prepare(self, episode: int, frame: int) -> "PreparedFrame":
        """What a frame's sampling and metrics need before any policy runs: its seed and noise,
        the demonstrated chunk and the local data modes."""
        from planners.frame_metrics import frame_local_modes, frame_noise, with_given_shares
        s = self.config.settings
        # the inspector's noise and local modes too (planners.frame_metrics: one reading)
        seed, noise = frame_noise(s.seed, episode, frame, s.num_samples, self.horizon,
                                  self.action_dim)
        demo, mask = self.demo(episode, frame)
        neighbours, weights = self.local.nearest(episode, frame, s.neighbours) if self.local \
            else (None, None)
        # the neighbours' and this frame's states: where they predict the mode, the shares are
        # read at this state (planners.frame_metrics.conditional_shares)
        states = query = None
        if self.local is not None and len(self.local.last_rows):
            states = self.local.states[self.local.last_rows]
            query = self.local.states[self.local.starts[episode] + frame]
        local = frame_local_modes(neighbours, weights, action_scale=self.action_scale,
                                  states=states, query=query, seed=s.seed)
        if self.config.data_shares and self.local is not None:
            local = with_given_shares(local, self.mode_names(local), dict(self.config.data_shares))
        return PreparedFrame(frame, seed, noise, demo, mask, local)

    def measure(self, item: "PreparedFrame", sampled: list[tuple[np.ndarray, float]]
                ) -> dict[str, np.ndarray]:
        """The frame's row from each policy's (plans [N, H, D], latency ms)."""
        from planners.frame_metrics import compare, frame_metrics
        s = self.config.settings
        metrics, plans = [], []
        for samples, latency in sampled:
            plans.append(np.asarray(samples, np.float32))
            metrics.append(frame_metrics(plans[-1], item.demo, item.local,
                                         action_scale=self.action_scale, demo_mask=item.mask,
                                         latency_ms=latency, seed=s.seed))
        row: dict[str, np.ndarray] = {}
        for name in metrics[0].columns():
            row[name] = np.asarray([m.columns()[name] for m in metrics])
        if len(metrics) == 2:
            row.update({k: np.asarray(v) for k, v in compare(*metrics).items()
                        if k in CHANGE_COLUMNS})
        if s.keep_plans:
            row["plans"] = np.stack(plans)
            row["demo"] = item.demo
        return row


@dataclass
class PreparedFrame:
    """One frame before sampling: seed and initial noise [N, H, D] (normalised), demonstrated
    chunk [H, D] with its mask [H], the local data modes."""
    frame: int
    seed: int
    noise: np.ndarray
    demo: np.ndarray
    mask: np.ndarray
    local: Any


def one_torch_thread() -> None:
    """One intra-op thread per worker process: N workers use N cores (the in-process backend
    keeps the caller's setting, `--threads`)."""
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    from planners.threads import limit_native_threads
    limit_native_threads(1)      # numpy/scipy/sklearn's OpenMP and BLAS pools too


def scan_context(config: ScanConfig) -> ScanContext:
    ctx = _CONTEXTS.get(config)
    if ctx is None:
        _CONTEXTS.clear()          # one scan per process at a time: free the previous one
        ctx = _CONTEXTS[config] = ScanContext(config)
    return ctx


def drop_contexts() -> None:
    """Forget this process's scan contexts (the parent, once its workers hold their own)."""
    _CONTEXTS.clear()


def empty_rows(config: ScanConfig, ctx: ScanContext) -> dict[str, np.ndarray]:
    s = config.settings
    spec = column_spec(len(config.policies), keep_plans=s.keep_plans,
                       num_samples=s.num_samples, horizon=ctx.horizon, action_dim=ctx.action_dim)
    spec = {"episode": ("int64", ()), "frame": ("int64", ()), **spec}
    return {k: np.zeros((0, *shape), dtype) for k, (dtype, shape) in spec.items()}


def scan_job(job: FrameJob, config: ScanConfig) -> JobResult:
    """Scan every frame of one job; a frame that raises becomes a failure, the rest go on."""
    ctx = scan_context(config)
    scanned, errors = ctx.frame_rows(job.episode, job.frames)
    failures: list[dict[str, Any]] = [
        {"episode": job.episode, "frame": frame, "error": short_error(exc),
         "worker": f"pid{os.getpid()}"} for frame, exc in errors]
    if not scanned:
        return JobResult(job, empty_rows(config, ctx), failures)
    return JobResult(job, {k: np.stack([r[k] for r in scanned]) for k in scanned[0]}, failures)
