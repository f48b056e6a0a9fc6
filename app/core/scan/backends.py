"""Where scan jobs run: this process, N local worker processes, or a Ray cluster — the one worker
pool the evaluation uses too (app/core/worker_pool.py): only finished frame results travel back to
the one writer in the parent; each local worker holds at most one job, so a worker that dies
costs exactly one known job, retried once on a fresh worker and then reported as failed frames;
Ctrl+C is the parent's. Workers fork from a forkserver that preloaded numpy, h5py and torch; each
builds its data set, policies and local-data index once (work.scan_context) and uses one torch
thread.

    ProcessBackend(config, workers=2).run(jobs) -> JobOutcome per FrameJob (outcome.result: a
                                                   work.JobResult)
"""
from __future__ import annotations

from app.core import worker_pool as pool
from app.core.scan.config import ScanConfig, ScanConfigError
from app.core.scan.work import one_torch_thread, scan_job
from app.core.worker_pool import DispatchHook, JobOutcome  # noqa: F401 (the API)

PRELOAD = ("numpy", "h5py", "torch", "diffusers", "sklearn.cluster", "sklearn.decomposition",
           "sklearn.metrics", "app.core.scan.work", "planners", "recordings.dataset")


def scan_task(config: ScanConfig, *, worker: bool = True) -> pool.Task:
    """What every scan worker runs: the frames of one job. worker=False: no torch-thread change
    (this process keeps the caller's setting, `--threads`)."""
    return pool.Task(scan_job, config, what="scanning these frames",
                     init=one_torch_thread if worker else None,
                     name="planscope-scan-worker", preload=PRELOAD)


class InProcessBackend(pool.InProcessBackend):
    """workers=0: every job in this process, in order (debugging, profiling, tests); a job that
    raises (e.g. the data set vanished mid-scan) is reported, not retried."""

    def __init__(self, config: ScanConfig) -> None:
        super().__init__(scan_task(config, worker=False), retries=0)
        self.config = config


class ProcessBackend(pool.ProcessBackend):
    """N local worker processes."""

    def __init__(self, config: ScanConfig, workers: int, retries: int = 1,
                 on_dispatch: DispatchHook | None = None) -> None:
        super().__init__(scan_task(config), workers, retries, on_dispatch)
        self.config = config


class RayBackend(pool.RayBackend):
    """One Ray task per job (1 CPU, one torch thread)."""

    def __init__(self, config: ScanConfig, *, address: str | None = None,
                 num_cpus: int | None = None, retries: int = 1) -> None:
        super().__init__(scan_task(config), address=address, num_cpus=num_cpus, retries=retries,
                         error=ScanConfigError)
        self.config = config
