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
    obs: the planner's dict observation (planners.protocol.observation_from_frames)."""
    from planners.protocol import run_planner

    names = list(getattr(scene, "modes", ()) or ())
    result = SweepResult(names=names, num_samples=int(num_samples))
    total = len(solvers) * len(steps)
    for solver in solvers:
        for s in steps:
            if cancelled():
                result.cancelled = True
                return score(result)
            t0 = time.perf_counter()
            batch = run_planner(planner, obs, num_samples, seed=seed, solver=solver, steps=int(s),
                                temperature=temperature, cancel=cancelled)
            ms = (time.perf_counter() - t0) * 1000.0
            if batch.cancelled:
                result.cancelled = True
                return score(result)
            analysed = analyse(batch, scene, data_shares, chain_labels=False)
            summary, feas = analysed.summary, analysed.feasibility
            shares = summary.shares if summary is not None else np.zeros(0)
            none = float(np.mean(summary.labels < 0)) if summary is not None else 0.0
            result.points.append(SweepPoint(solver, int(s), np.asarray(shares, float), none,
                                            feas.fraction_feasible if feas is not None else float("nan"),
                                            ms))
            if progress is not None:
                snapshot = score(result)
                progress(len(result.points), total,
                         SweepResult(names, list(snapshot.points), snapshot.reference,
                                     dict(snapshot.fewest), num_samples=result.num_samples,
                                     tv_tolerance=snapshot.tv_tolerance))
    return score(result)
