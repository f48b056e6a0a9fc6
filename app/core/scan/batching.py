"""Sampling a scan job's frames in batches: F frames x N plans in one sampler call.

    per_call = frames_per_call(settings, device, num_samples)       the rule below
    results = sample_frames(ctx, planner, episode, frames, per_call)  [(PlanBatch | error, ms)]

A diffusion planner that offers `plan_frames` (planscope's own, the LeRobot and diffusion_policy
adapters on their global-condition path; planners/frame_batch.py) samples F frames' N plans in
one call, one model forward of F*N rows per solver step; each frame keeps the noise of its own
(seed, episode, frame), so its plans equal the unbatched ones up to float rounding and 1 worker,
N workers and Ray still write the same file. Other planners (regression, the probe, plugins)
sample one frame at a time. A batched call that raises is re-run one frame at a time, so a bad
frame is reported as that frame's failure and the others are scanned.

How many frames per call (F), the rule, on the same code path for CPU and CUDA:
- `--frames-per-call K` (ScanSettings.frames_per_call) > 0: K.
- CPU: F = max(1, CPU_ROWS_PER_CALL // N) (16 frames at N=32, one whole job), at most the job's
  frames (FRAMES_PER_JOB = 16). Measured on the shipped checkpoint (`planscope bench scan` prints
  the sampling cost per frame for F = 1, 2, 4, 8, 16; docs/scan.md): on the least loaded of four
  runs F=4 / 8 / 16 were 2.28x / 2.60x / 2.71x F=1 (the gain flattens past ~256-512 rows per
  forward); under heavier load the larger F were noisier (1.15x-1.79x).
- CUDA: jobs carry CUDA_FRAMES_PER_JOB frames; the first call of a process runs F_0 (the CPU
  rule) frames and measures its peak memory per frame; after that F = the memory bound
  floor(CUDA_MEMORY_FRACTION x free memory / bytes per frame), capped at CUDA_FRAMES_PER_JOB.
"""
from __future__ import annotations

import math
import time
from typing import Any, Sequence

import numpy as np

CPU_ROWS_PER_CALL = 512
CUDA_FRAMES_PER_JOB = 256
CUDA_MEMORY_FRACTION = 0.5


def is_cuda(device: str) -> bool:
    return str(device).startswith("cuda")


def frames_per_call(setting: int, device: str, num_samples: int) -> int:
    """F before any measurement (module doc): the setting, else the rows-per-call rule."""
    if setting > 0:
        return int(setting)
    return max(1, CPU_ROWS_PER_CALL // max(1, int(num_samples)))


def batchable(planner: Any) -> bool:
    """A planner that samples several observations in one call (planners/frame_batch.py)."""
    return getattr(planner.spec, "kind", "") == "diffusion" and hasattr(planner, "plan_frames") \
        and bool(getattr(planner, "plans_frames", True))


class CudaBudget:
    """The CUDA memory bound on F: bytes per frame measured on the first batched call."""

    def __init__(self) -> None:
        self.bytes_per_frame: float | None = None

    def limit(self, first: int) -> int:
        if self.bytes_per_frame is None:
            return first
        import torch
        free, _total = torch.cuda.mem_get_info()
        return max(1, min(CUDA_FRAMES_PER_JOB,
                          math.floor(CUDA_MEMORY_FRACTION * free / self.bytes_per_frame)))

    def measure(self, run, frames: int):
        """Run `run()` (a batched call of `frames` frames) and record its peak bytes per frame."""
        import torch
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        out = run()
        torch.cuda.synchronize()
        peak = max(1, torch.cuda.max_memory_allocated() - base)
        self.bytes_per_frame = max(self.bytes_per_frame or 0.0, peak / max(1, frames))
        return out


def sample_frames(ctx: Any, planner: Any, episode: int, frames: Sequence[Any], per_call: int,
                  budget: CudaBudget | None = None) -> list[tuple[Any, float]]:
    """(PlanBatch or the exception it raised, latency in ms per frame) for each prepared frame
    (objects with .frame, .seed, .noise), in order; per_call frames per sampler call; budget:
    this planner's CUDA memory bound (None on the CPU)."""
    out: list[tuple[Any, float]] = []
    lo = 0
    while lo < len(frames):
        size = per_call if budget is None else budget.limit(per_call)
        group = frames[lo:lo + size]
        lo += len(group)
        if len(group) > 1 and batchable(planner):
            batches = _batched(ctx, planner, episode, group, budget)
            if batches is not None:
                out.extend(batches)
                continue
        for item in group:        # one frame at a time (or isolating a failed batch)
            out.append(_single(ctx, planner, episode, item))
    return out


def _batched(ctx, planner, episode: int, group, budget) -> list[tuple[Any, float]] | None:
    from planners.boundary import check_plan_batch
    s = ctx.config.settings
    try:
        observations = [ctx.observation(planner, episode, item.frame) for item in group]

        def run():
            return planner.plan_frames(
                observations, s.num_samples, seeds=[item.seed for item in group],
                solver=s.solver or None, steps=s.steps or None, temperature=s.temperature,
                initial_noise=np.stack([item.noise for item in group]))

        start = time.perf_counter()
        batches = budget.measure(run, len(group)) if budget is not None and \
            budget.bytes_per_frame is None else run()
        ms = (time.perf_counter() - start) * 1000.0 / len(group)
        return [(check_plan_batch(b, planner.spec, s.num_samples), ms) for b in batches]
    except Exception:  # noqa: BLE001 - re-run one frame at a time: the failure gets its frame
        return None


def _single(ctx, planner, episode: int, item) -> tuple[Any, float]:
    try:
        obs = ctx.observation(planner, episode, item.frame)
        start = time.perf_counter()
        batch = ctx.sample(planner, obs, item.seed, item.noise)
        return batch, (time.perf_counter() - start) * 1000.0
    except Exception as exc:  # noqa: BLE001 - becomes this frame's failure
        return exc, float("nan")
