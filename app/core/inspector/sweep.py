"""Solver sweep (Qt-free): same observation and seed, steps in STEPS for each solver; which is the
fewest number of steps that keeps the distribution of modes?

"Keeps the distribution" = against the reference (every solver at the most steps, pooled, so
the reference is not one noisy batch): the total-variation distance of the mode shares (no-mode
share included) stays within the tolerance, no mode the reference has (>= 5 %) vanishes (< 2 %),
and the feasible fraction is not lower by more than the tolerance. Tolerances grow with sampling
noise for small N: TV <= max(0.10, 1.5 / sqrt(N)), feasible >= ref - max(0.05, 2 sd).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from app.core.analysis import analyse

STEPS = (1, 2, 4, 8, 16, 32, 100)
TV_TOLERANCE = 0.10
FEASIBLE_TOLERANCE = 0.05


@dataclass
class SweepPoint:
    """One (solver, steps) run. shares [M] per mode, none_share: plans in no mode; feasible:
    fraction feasible (nan when the scene cannot check); ms: wall time of the plan() call."""
    solver: str
    steps: int
    shares: np.ndarray
    none_share: float
    feasible: float
    ms: float
    tv: float = float("nan")
    keeps: bool = False


@dataclass
class SweepResult:
    names: list[str]
    points: list[SweepPoint] = field(default_factory=list)
    reference: tuple[str, int] | None = None   # ("all solvers" or a solver, steps)
    fewest: dict[str, int | None] = field(default_factory=dict)   # solver -> fewest steps that keep
    cancelled: bool = False
    num_samples: int = 0
    tv_tolerance: float = 0.10

    def series(self, solver: str) -> list[SweepPoint]:
        return sorted((p for p in self.points if p.solver == solver), key=lambda p: p.steps)

    @property
    def solvers(self) -> list[str]:
        return list(dict.fromkeys(p.solver for p in self.points))

    def answer(self) -> str:
        """One line: the fewest steps per solver that keep the distribution."""
        if not self.points or self.reference is None:
            return "no sweep yet"
        parts = []
        best: tuple[float, str, int] | None = None
        for solver in self.solvers:
            steps = self.fewest.get(solver)
            if steps is None:
                parts.append(f"{solver}: none of {', '.join(str(p.steps) for p in self.series(solver))}")
                continue
            point = next(p for p in self.series(solver) if p.steps == steps)
            parts.append(f"{solver}: {steps} steps ({point.ms:.0f} ms)")
            if best is None or point.ms < best[0]:
                best = (point.ms, solver, steps)
        ref = f"vs {self.reference[0]} at {self.reference[1]} steps"
        head = (f"Fewest steps that keep the distribution: {best[1]} with {best[2]} steps"
                if best else "No setting keeps the distribution")
        return f"{head} ({ref}, TV ≤ {self.tv_tolerance:.2f}) — " + "; ".join(parts)


def tv_distance(a: np.ndarray, b: np.ndarray) -> float:
    return 0.5 * float(np.abs(np.asarray(a) - np.asarray(b)).sum())


def score(result: SweepResult) -> SweepResult:
    """Fill tv / keeps / fewest against the pooled reference (every solver at the most steps)."""
    if not result.points:
        return result
    top = max(p.steps for p in result.points)
    refs = [p for p in result.points if p.steps == top]
    solvers = sorted({p.solver for p in refs})
    result.reference = (solvers[0] if len(solvers) == 1 else "all solvers", top)
    ref_shares = np.mean([p.shares for p in refs], axis=0)
    ref_none = float(np.mean([p.none_share for p in refs]))
    feas = [p.feasible for p in refs if np.isfinite(p.feasible)]
    ref_feasible = float(np.mean(feas)) if feas else float("nan")
    n = max(result.num_samples, 1)
    result.tv_tolerance = max(TV_TOLERANCE, 1.5 / np.sqrt(n))
    feasible_tol = FEASIBLE_TOLERANCE
    if np.isfinite(ref_feasible):
        feasible_tol = max(FEASIBLE_TOLERANCE, 2 * np.sqrt(ref_feasible * (1 - ref_feasible) / n))
    ref_dist = np.append(ref_shares, ref_none)
    for p in result.points:
        p.tv = tv_distance(np.append(p.shares, p.none_share), ref_dist)
        lost_mode = bool(np.any((ref_shares >= 0.05) & (p.shares < 0.02)))
        feasible_ok = not np.isfinite(ref_feasible) or p.feasible >= ref_feasible - feasible_tol
        p.keeps = p.tv <= result.tv_tolerance and feasible_ok and not lost_mode
    for solver in result.solvers:
        series = result.series(solver)
        # the fewest steps from which every larger step count also keeps it (no lucky dips)
        fewest = None
        for p in reversed(series):
            if not p.keeps:
                break
            fewest = p.steps
        result.fewest[solver] = fewest
    return result


def run_sweep(planner: Any, scene: Any, obs: Any, *, num_samples: int, seed: int,
              temperature: float = 1.0, solvers: Sequence[str] = ("ddpm", "ddim", "dpmpp"),
              steps: Sequence[int] = STEPS, data_shares: dict | None = None,
              progress: Callable[[int, int, SweepResult], None] | None = None,
              cancelled: Callable[[], bool] = lambda: False) -> SweepResult:
    """Sample every (solver, steps) once with the same seed; progress(done, total, partial).
    obs: the planner's dict observation (planners.protocol.observation_from_frames). Modes and
    feasibility are the scene's (app.core.analysis.analyse)."""
    names = list(getattr(scene, "modes", ()) or ())

    def read(batch: Any) -> tuple[np.ndarray, float, float]:
        analysed = analyse(batch, scene, data_shares, chain_labels=False)
        summary, feas = analysed.summary, analysed.feasibility
        shares = summary.shares if summary is not None else np.zeros(0)
        none = float(np.mean(summary.labels < 0)) if summary is not None else 0.0
        return (np.asarray(shares, float), none,
                feas.fraction_feasible if feas is not None else float("nan"))
    return _sweep(names, lambda solver, s: _plan(planner, obs, num_samples, seed, solver, s,
                                                 temperature, cancelled),
                  read, num_samples, solvers, steps, progress, cancelled)


def run_frame_sweep(planner: Any, inspection: Any, *, num_samples: int, seed: int,
                    temperature: float = 1.0, solvers: Sequence[str] = ("ddpm", "ddim", "dpmpp"),
                    steps: Sequence[int] = STEPS,
                    progress: Callable[[int, int, SweepResult], None] | None = None,
                    cancelled: Callable[[], bool] = lambda: False) -> SweepResult:
    """The sweep at a RECORDED frame: `inspection` (app.core.inspector.dataset_source.
    DatasetInspection, the reading the inspector holds there) gives the recorded observation
    history and the local data modes (the K nearest frames' chunks, the Modes dock's reading);
    every (solver, steps) samples that observation from the frame's own noise
    (planners.frame_metrics.frame_noise, as `sample --data` and the scan) and each plan is read
    against those local modes (planners.frame_metrics.label_samples). No scene: feasibility nan."""
    from app.core.inspector.frame_source import mode_names
    from planners.frame_metrics import frame_noise, label_samples

    local = inspection.local
    spec = planner.spec
    horizon, dim = int(spec.horizon), int(spec.action_dim)
    frame_seed, noise = frame_noise(int(seed), int(inspection.episode), int(inspection.frame),
                                    int(num_samples), horizon, dim)
    initial = noise if getattr(spec, "kind", "") == "diffusion" else None
    scale = inspection.action_scale if inspection.action_scale is not None else np.ones(dim)

    def read(batch: Any) -> tuple[np.ndarray, float, float]:
        plans = np.asarray(batch.plans, np.float64)
        labels = label_samples(plans, local, scale)
        finite = np.isfinite(plans).reshape(len(plans), -1).all(axis=1)
        valid = max(int(finite.sum()), 1)
        shares = np.array([sum(1 for lab, ok in zip(labels, finite) if ok and lab == m) / valid
                           for m in local.names], float)
        return shares, float(max(0.0, 1.0 - shares.sum())), float("nan")
    return _sweep(mode_names(inspection),
                  lambda solver, s: _plan(planner, inspection.obs, num_samples, frame_seed, solver,
                                          s, temperature, cancelled, initial),
                  read, num_samples, solvers, steps, progress, cancelled)


def _plan(planner: Any, obs: Any, num: int, seed: int, solver: str, steps: int,
          temperature: float, cancelled: Callable[[], bool], initial_noise: Any = None) -> Any:
    from planners.protocol import run_planner
    kwargs = {} if initial_noise is None else {"initial_noise": initial_noise}
    return run_planner(planner, obs, num, seed=seed, solver=solver, steps=int(steps),
                       temperature=temperature, cancel=cancelled, **kwargs)


def _sweep(names: list[str], plan: Callable[[str, int], Any],
           read: Callable[[Any], tuple[np.ndarray, float, float]], num_samples: int,
           solvers: Sequence[str], steps: Sequence[int],
           progress: Callable[[int, int, SweepResult], None] | None,
           cancelled: Callable[[], bool]) -> SweepResult:
    """The sweep's loop: plan(solver, steps) -> batch, read(batch) -> (shares [M], no-mode
    share, feasible fraction); scored against the pooled reference as it goes."""
    result = SweepResult(names=list(names), num_samples=int(num_samples))
    total = len(solvers) * len(steps)
    for solver in solvers:
        for s in steps:
            if cancelled():
                result.cancelled = True
                return score(result)
            t0 = time.perf_counter()
            batch = plan(solver, int(s))
            ms = (time.perf_counter() - t0) * 1000.0
            if batch.cancelled:
                result.cancelled = True
                return score(result)
            shares, none, feasible = read(batch)
            result.points.append(SweepPoint(solver, int(s), shares, none, feasible, ms))
            if progress is not None:
                snapshot = score(result)
                progress(len(result.points), total,
                         SweepResult(list(names), list(snapshot.points), snapshot.reference,
                                     dict(snapshot.fewest), num_samples=result.num_samples,
                                     tv_tolerance=snapshot.tv_tolerance))
    return score(result)
