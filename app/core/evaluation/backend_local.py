"""Local backends of the evaluation: rollouts in this process (workers=0) or in N worker processes,
on the one worker pool (app/core/worker_pool.py: one job per worker, a dead worker's rollout
retried once on a fresh worker and then reported failed-to-run, Ctrl+C the parent's).

    ProcessBackend(settings, workers=2).run(jobs) -> JobOutcome per RolloutJob (outcome.rollout)
"""
from __future__ import annotations

from typing import Any

from app.core import worker_pool as pool
from app.core.evaluation.config import RolloutJob, RolloutSettings
from app.core.worker_pool import DispatchHook, JobOutcome, short_error  # noqa: F401 (the API)

# Imported once by the fork server, so a new or replacement worker starts in a fraction of a
# second instead of re-importing numpy, h5py, PyBullet and torch (~2-5 s each time).
PRELOAD = ("app.core.evaluation.backend_local", "app.core.evaluation.runner", "numpy", "h5py",
           "pybullet", "scenes", "recordings.rollout", "planners", "torch")


def execute(job: RolloutJob, settings: RolloutSettings) -> Any:
    """Run one job in the current process (the runner pins torch to one thread once loaded)."""
    from app.core.evaluation.runner import run_rollout
    return run_rollout(job, settings)


def rollout_task(settings: RolloutSettings) -> pool.Task:
    """What every evaluation worker runs: one rollout per job."""
    return pool.Task(execute, settings, what="running this rollout",
                     name="planscope-eval-worker", preload=PRELOAD)


class InProcessBackend(pool.InProcessBackend):
    """workers=0: every rollout in this process, in job order (debugging, profiling)."""

    def __init__(self, settings: RolloutSettings, retries: int = 1) -> None:
        super().__init__(rollout_task(settings), retries)
        self.settings = settings


class ProcessBackend(pool.ProcessBackend):
    """N worker processes (app/core/worker_pool.py)."""

    def __init__(self, settings: RolloutSettings, workers: int, retries: int = 1,
                 on_dispatch: DispatchHook | None = None) -> None:
        super().__init__(rollout_task(settings), workers, retries, on_dispatch)
        self.settings = settings
