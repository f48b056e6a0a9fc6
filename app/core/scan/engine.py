"""Run a dataset scan end to end: validate, scan every frame on a backend, write one scan file.

    result = run_scan(config, "scan.h5", backend="local", workers=2)

Frames are written in job order whatever order the workers finish in (a reorder buffer), in
chunks of at least `chunk_rows` frames or every `chunk_seconds` (an injected clock), so a kill
loses at most the frames of the chunk being gathered and 1 worker, N workers and Ray give the
same file. Ctrl+C: workers stop, every finished frame is written, the file says partial and why;
`resume=True` scans only what is missing. A job whose worker died twice is recorded as failed
frames and the file says partial.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from app.core.scan.config import (FrameJob, ScanConfig, ScanConfigError, column_spec, make_jobs)
from recordings.errors import UserFacingError

BACKENDS = ("local", "ray")
Progress = Callable[[int, int], None]      # (frames done, frames total)


@dataclass
class ScanResult:
    path: str
    total: int                   # frames in the range
    skipped: int = 0             # already in the file (resume)
    written: int = 0             # frames written by this run
    failed: int = 0              # frames that could not be scanned
    partial: bool = False
    reason: str = ""
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def parse_episodes(text: str | None, count: int, data: str) -> tuple[int, int]:
    """'A:B' (B exclusive; either side may be empty) -> (first, stop) within the data set."""
    if not text:
        lo, hi = 0, count
    else:
        left, sep, right = text.partition(":")
        try:
            lo = int(left) if left.strip() else 0
            hi = (int(right) if right.strip() else count) if sep else lo + 1
        except ValueError:
            raise ScanConfigError(f"--episodes {text!r}: expected A:B (e.g. 0:100)") from None
    hi = min(hi, count)
    if lo < 0 or hi <= lo:
        raise ScanConfigError(f"--episodes {text or ''}: empty episode range ({data} has "
                              f"{count} episodes, 0..{count - 1})")
    return lo, hi


def check_output(path: str, resume: bool, force: bool = False) -> str:
    """The --out rule (app/commands/output.py states it for every command): existing folder,
    a file path, an existing file only with resume (finish it) or force (replace it)."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise ScanConfigError(f"--out {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise ScanConfigError(f"--out {path}: is a folder, expected a .h5 file path")
    if os.path.exists(path) and not (resume or force):
        raise ScanConfigError(f"--out {path}: file exists; pass --resume to finish it or --force "
                              f"to replace it, or choose another path")
    if os.path.isfile(path) and not _is_scan_file(path):
        # a scan replaces its --out at the start (the partial file is the crash-safe record),
        # so `--out demos.h5 --force` destroyed the recording even when the scan was cancelled
        raise ScanConfigError(f"--out {path}: is not a scan file (a recording or another file); "
                              f"--force and --resume apply to scan files only, choose another path")
    return path


def _is_scan_file(path: str) -> bool:
    from recordings.formats.scan_reader import is_scan_file
    return is_scan_file(path)


def validate(config: ScanConfig, calibrate: bool = True) -> dict[str, Any]:
    """Open the data and every policy here, so a mismatch is one line before any worker starts.
    Returns the scan file's header (policies, data provenance, settings) and facts for the run.
    calibrate=False: the one real frame sampled here never calibrates kernels (the workers' batch
    sizes are calibrated by app/core/scan/kernels.py instead)."""
    from app.core.scan.work import scan_context

    try:
        ctx = scan_context(config)     # cached: the in-process backend reuses it
    except FileNotFoundError as exc:
        raise ScanConfigError(str(exc)) from None
    ds, s = ctx.ds, config.settings
    if ds.action_key is None:
        raise ScanConfigError(f"{config.data}: the data set has no action feature to compare "
                              f"plans with")
    for planner, label in zip(ctx.planners, config.labels):
        spec = planner.spec
        d_data = ds.features[ds.action_key].shape[-1]
        if int(spec.action_dim) != d_data:
            raise ScanConfigError(f"policy {label!r} plans {spec.action_dim}-D actions but "
                                  f"{config.data}'s {ds.action_key} is {d_data}-D")
        if (int(spec.horizon), int(spec.action_dim)) != (ctx.horizon, ctx.action_dim):
            raise ScanConfigError(f"policies {config.labels[0]!r} and {label!r} plan chunks of "
                                  f"different shapes ({ctx.horizon}x{ctx.action_dim} vs "
                                  f"{spec.horizon}x{spec.action_dim}); compare policies of one "
                                  f"action space")
        if int(getattr(spec, "action_start", 0)) != ctx.action_start:
            raise ScanConfigError(f"policies {config.labels[0]!r} and {label!r} start executing at "
                                  f"different plan steps ({ctx.action_start} vs {spec.action_start}: "
                                  f"one demonstrated chunk cannot line up with both)")
    lo, hi = s.episodes[0], s.episodes[1] if s.episodes[1] is not None else len(ds.episodes)
    eps = ds.episodes[lo:hi]
    longest = max((e.length for e in eps), default=0)
    if longest < ctx.history:
        raise ScanConfigError(f"{config.data}: episodes {lo}:{hi} have at most {longest} frames, "
                              f"fewer than the policies' observation history of {ctx.history}")
    first = next(e for e in eps if e.length >= ctx.history)
    from app.core.scan.kernels import no_calibration
    with contextlib.nullcontext() if calibrate else no_calibration(ctx.planners):
        ctx.frame_row(first.index, ctx.history - 1)    # one real frame: bad solver/steps fail here
    header = {
        "policies": [{"label": label, "ref": str(ref), "name": p.spec.name, "kind": p.spec.kind,
                      "library": getattr(p.spec, "library", ""), "horizon": ctx.horizon,
                      "action_dim": ctx.action_dim, "n_obs_steps": int(p.spec.n_obs_steps),
                      "num_parameters": int(p.spec.num_parameters)}
                     for label, ref, p in zip(config.labels, config.policies, ctx.planners)],
        "data": {"path": os.path.abspath(config.data), "format": ds.format_name,
                 "episodes": len(ds.episodes), "frames": ds.num_frames,
                 "action_key": ds.action_key, "fps": ds.fps},
        "settings": s.to_json(),
    }
    if config.data_shares:        # judged against these, not the neighbours' shares
        header["data"]["shares"] = dict(config.data_shares)
        header["data"]["shares_source"] = config.shares_source
    lengths = {e.index: e.length for e in eps if e.length >= ctx.history}
    return {"header": header, "lengths": lengths, "horizon": ctx.horizon,
            "action_dim": ctx.action_dim, "skipped_short": len(eps) - len(lengths)}


def make_backend(config: ScanConfig, backend: str, workers: int, ray_address: str | None):
    from app.core.scan import backends
    if backend == "ray":
        return backends.RayBackend(config, address=ray_address)
    if backend != "local":
        raise ScanConfigError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if workers <= 0:
        return backends.InProcessBackend(config)
    return backends.ProcessBackend(config, workers)


def run_scan(config: ScanConfig, out: str, *, backend: str = "local", workers: int = 1,
             ray_address: str | None = None, resume: bool = False, chunk_rows: int = 512,
             chunk_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic,
             progress: Progress | None = None, backend_obj=None,
             force: bool = False, notice: Callable[[str], None] | None = None) -> ScanResult:
    """Scan config's frames into `out` (see module docstring). backend_obj overrides the backend
    (tests inject one); force replaces an existing file (atomically, at the first chunk);
    notice(line): one-off work the user waits for before the first frame (kernel calibration)."""
    from app.core import worker_pool
    from app.core.scan import kernels
    from recordings.formats.scan_file import ScanWriter

    out = check_output(out, resume, force)
    runner = backend_obj or make_backend(config, backend, workers, ray_address)
    # workers elsewhere: validate with the workers' one torch thread (their calibration cache
    # keys) and without calibrating; the workers' batch sizes are calibrated once, below
    in_process = isinstance(runner, worker_pool.InProcessBackend)
    from app.core.scan.batching import is_cuda
    # this process, local workers and a local Ray instance read this machine's cache; CUDA
    # batches by measured memory (its batch sizes are not known in advance)
    precalibrate = not ray_address and not is_cuda(config.settings.device)
    threads = contextlib.nullcontext() if in_process else kernels.torch_threads(1)
    with threads:
        facts = validate(config, calibrate=not precalibrate)
    s = config.settings
    spec = column_spec(len(config.policies), keep_plans=s.keep_plans, num_samples=s.num_samples,
                       horizon=facts["horizon"], action_dim=facts["action_dim"])
    runner.start()
    start = clock()
    writer = ScanWriter(out, columns=spec, header=facts["header"], mode="a" if resume else "w",
                        resume_keys=("policies", "data", "settings"))
    done = writer.done_keys
    total = sum(len(range(0, n, s.every)) for n in facts["lengths"].values())
    from app.core.scan.batching import CUDA_FRAMES_PER_JOB, is_cuda
    from app.core.scan.config import FRAMES_PER_JOB
    # longer jobs on CUDA, so one call can batch as many frames as its memory holds
    jobs = make_jobs(facts["lengths"], s.every, done,
                     per_job=CUDA_FRAMES_PER_JOB if is_cuda(s.device) else FRAMES_PER_JOB)
    result = ScanResult(path=out, total=total, skipped=len(done))
    buffer = _ChunkBuffer(writer, chunk_rows, chunk_seconds, clock)
    try:
        if precalibrate:
            _calibrate_for_jobs(config, jobs, notice, workers=not in_process)
        pending: dict[int, Any] = {}
        next_index = 0
        for outcome in runner.run(jobs):
            pending[outcome.job.index] = outcome
            while next_index in pending:          # write in job order
                _take(pending.pop(next_index), buffer, result)
                next_index += 1
            if progress is not None:
                progress(result.skipped + result.written, total)
        buffer.flush()
    except KeyboardInterrupt:
        buffer.flush()
        result.partial = True
        result.reason = (f"interrupted (Ctrl+C) after {result.skipped + result.written} of "
                         f"{total} frames")
        writer.close(partial=True, reason=result.reason)
        result.seconds = clock() - start
        return result
    except BaseException:
        buffer.flush_quietly()
        writer.__exit__(*__import__("sys").exc_info())
        raise
    if result.failed:
        result.partial = True
        result.reason = (f"{result.failed} of {total} frames could not be scanned "
                         f"({result.failures[0]})")
        if not result.written and not result.skipped:
            result.reason = f"no frame could be scanned: {result.reason}"
    writer.close(partial=result.partial, reason=result.reason)
    result.seconds = clock() - start
    return result


def _calibrate_for_jobs(config: ScanConfig, jobs, notice, workers: bool) -> None:
    """Calibrate here, once, every batch size the jobs will use (app/core/scan/kernels.py); for
    workers with their one torch thread, then free this process's policies (the workers load
    their own and read the cache)."""
    from app.core.scan import kernels, work
    from app.core.scan.batching import batchable

    ctx = work.scan_context(config)
    s = config.settings
    with kernels.torch_threads(1) if workers else contextlib.nullcontext():
        for planner, label in zip(ctx.planners, config.labels):
            rows = kernels.worker_rows(jobs, ctx.per_call, s.num_samples, batchable(planner))
            kernels.calibrate_for_jobs([planner], [label], rows, notice)
    if workers:
        work.drop_contexts()


def _take(outcome, buffer: "_ChunkBuffer", result: ScanResult) -> None:
    job: FrameJob = outcome.job
    if outcome.ok:
        rows, failures = outcome.result.rows, outcome.result.failures
    else:
        rows, failures = None, [{"episode": job.episode, "frame": t, "error": outcome.error}
                                for t in job.frames]
    if rows is not None and len(rows["episode"]):
        buffer.add(rows)
        result.written += len(rows["episode"])
    for f in failures:
        buffer.fail(f)
        result.failed += 1
        if len(result.failures) < 20:
            result.failures.append(f"episode {f['episode']} frame {f['frame']}: {f['error']}")


class _ChunkBuffer:
    """Gathers frame rows and writes them as one chunk when enough rows or time accumulated."""

    def __init__(self, writer, rows: int, seconds: float, clock) -> None:
        self.writer, self.rows, self.seconds, self.clock = writer, rows, seconds, clock
        self.parts: list[dict[str, np.ndarray]] = []
        self.failures: list[dict[str, Any]] = []
        self.count = 0
        self.since = clock()

    def add(self, rows: dict[str, np.ndarray]) -> None:
        self.parts.append(rows)
        self.count += len(rows["episode"])
        if self.count >= self.rows or self.clock() - self.since >= self.seconds:
            self.flush()

    def fail(self, failure: dict[str, Any]) -> None:
        self.failures.append(failure)

    def flush(self) -> None:
        if not self.parts and not self.failures:
            return
        if self.parts:
            columns = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        else:
            columns = {k: np.zeros((0, *shape), dtype)
                       for k, (dtype, shape) in self.writer.spec.items()}
        self.writer.write_chunk(columns, self.failures)
        self.parts, self.failures, self.count = [], [], 0
        self.since = self.clock()

    def flush_quietly(self) -> None:
        try:
            self.flush()
        except (UserFacingError, OSError, ValueError):
            pass
