"""Local backends: rollouts in this process (workers=0) or in N worker processes.

Only finished rollouts travel back (pickled through a pipe); the writer stays in the parent. Each
worker holds at most one job, so when a worker dies (killed, crashed, out of memory) the parent
knows exactly which rollout was lost: it is retried once on a fresh worker, then reported as
failed-to-run, and the run goes on. Workers ignore SIGINT: Ctrl+C is the parent's to handle (it
stops the workers and saves what finished).
"""
from __future__ import annotations

import collections
import multiprocessing as mp
import os
import signal
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any, Callable, Iterable, Iterator

from app.core.evaluation.config import RolloutJob, RolloutSettings

DispatchHook = Callable[[int, RolloutJob, int], None]   # (worker pid, job, attempt)


@dataclass
class JobOutcome:
    """What came back for one job: a Rollout, or an error after `attempts` tries."""
    job: RolloutJob
    rollout: Any = None
    error: str = ""
    attempts: int = 1
    worker: str = field(default="", compare=False)

    @property
    def ok(self) -> bool:
        return self.rollout is not None


def execute(job: RolloutJob, settings: RolloutSettings) -> Any:
    """Run one job in the current process (with one intra-op thread)."""
    from app.core.evaluation.runner import run_rollout
    return run_rollout(job, settings)   # the runner pins torch to one thread once it is loaded


def short_error(exc: BaseException) -> str:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return last[:500]


class InProcessBackend:
    """workers=0: every rollout in this process, in job order (debugging, profiling)."""
    name = "inprocess"

    def __init__(self, settings: RolloutSettings, retries: int = 1):
        self.settings, self.retries = settings, retries

    def start(self) -> None:
        """Nothing to start: rollouts run in this process."""

    def run(self, jobs: Iterable[RolloutJob]) -> Iterator[JobOutcome]:
        for job in jobs:
            error = ""
            for attempt in range(1, self.retries + 2):
                try:
                    yield JobOutcome(job, execute(job, self.settings), attempts=attempt,
                                     worker=f"pid{os.getpid()}")
                    break
                except Exception as exc:  # noqa: BLE001 - a bad rollout must not end the run
                    error = short_error(exc)
            else:
                yield JobOutcome(job, None, error=error, attempts=self.retries + 1)


def _worker_main(conn, settings: RolloutSettings) -> None:
    """Worker loop: receive a job, send back ("ok", index, rollout) or ("error", index, text)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            message = ("ok", job.index, execute(job, settings))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
            message = ("error", job.index, short_error(exc))
        try:
            conn.send(message)
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, ctx, settings: RolloutSettings):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, settings), daemon=True,
                                   name="planscope-eval-worker")
        self.process.start()
        child.close()
        self.job: RolloutJob | None = None
        self.attempt = 0
        self.dead = False

    def stop(self, timeout: float = 2.0) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)
        self.conn.close()


# Imported once by the fork server, so a new or replacement worker starts in a fraction of a
# second instead of re-importing numpy, h5py, PyBullet and torch (~2-5 s each time).
PRELOAD = ["app.core.evaluation.backend_local", "app.core.evaluation.runner", "numpy", "h5py", "pybullet",
           "scenes", "recordings.rollout", "planners", "torch"]


def worker_context():
    """'forkserver' where the OS has it (Linux, macOS): workers fork from a clean, warm server
    process that never ran torch or PyBullet, so nothing unsafe is inherited; 'spawn' elsewhere."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return mp.get_context("spawn")


class ProcessBackend:
    """N worker processes (see `worker_context`)."""
    name = "local"

    def __init__(self, settings: RolloutSettings, workers: int, retries: int = 1,
                 on_dispatch: DispatchHook | None = None):
        self.settings, self.workers, self.retries = settings, max(1, int(workers)), retries
        self.on_dispatch = on_dispatch
        self._pool: list[_Worker] = []

    def start(self) -> None:
        """Workers start with the first job (the pool is sized to the jobs)."""

    @property
    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._pool]

    def run(self, jobs: Iterable[RolloutJob]) -> Iterator[JobOutcome]:
        ctx = worker_context()
        queue: collections.deque[RolloutJob] = collections.deque(jobs)
        attempts: dict[int, int] = collections.defaultdict(int)
        errors: dict[int, str] = {}
        self._pool = [_Worker(ctx, self.settings) for _ in range(min(self.workers, len(queue)))]
        try:
            while queue or any(w.job is not None for w in self._pool):
                for w in self._pool:
                    if w.job is None and queue:
                        self._dispatch(w, queue.popleft(), attempts)
                busy = [w for w in self._pool if w.job is not None]
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
                for w in busy:
                    outcome = self._collect(w, ready, attempts, errors, queue)
                    if outcome is not None:
                        yield outcome
                # replace dead workers so the pool keeps its size
                for i, w in enumerate(self._pool):
                    if w.job is None and (w.dead or not w.process.is_alive()):
                        w.stop(0.1)
                        self._pool[i] = _Worker(ctx, self.settings)
        except BaseException:
            # Ctrl+C or the consumer stopped: busy workers would finish a rollout nobody reads
            for w in self._pool:
                w.process.kill()
            raise
        finally:
            for w in self._pool:
                w.stop()
            self._pool = []

    def _dispatch(self, w: _Worker, job: RolloutJob, attempts: dict[int, int]) -> None:
        attempts[job.index] += 1
        w.job, w.attempt = job, attempts[job.index]
        try:
            w.conn.send(job)
        except (BrokenPipeError, OSError):
            pass   # the worker is already dead: its sentinel fires and the job is retried
        if self.on_dispatch is not None:
            self.on_dispatch(w.process.pid, job, w.attempt)

    def _collect(self, w: _Worker, ready: list, attempts: dict[int, int], errors: dict[int, str],
                 queue: collections.deque) -> JobOutcome | None:
        job = w.job
        assert job is not None
        if w.conn in ready:
            try:
                status, index, payload = w.conn.recv()
            except (EOFError, OSError, Exception):  # noqa: BLE001 - died mid-send
                w.dead = True
                status, index, payload = "died", job.index, (
                    f"worker pid {w.process.pid} died while running this rollout")
            if status == "ok" and index == job.index:
                w.job = None
                return JobOutcome(job, payload, attempts=attempts[job.index],
                                  worker=f"pid{w.process.pid}")
            errors[job.index] = str(payload)
        elif w.process.sentinel in ready:
            w.dead = True
            w.process.join(1.0)     # reap it, so the exit code is known
            code = w.process.exitcode
            errors[job.index] = (f"worker pid {w.process.pid} died (exit code {code}) "
                                 f"while running this rollout")
        else:
            return None
        w.job = None
        if attempts[job.index] <= self.retries:
            queue.appendleft(job)       # retried next, on whichever worker is free
            return None
        return JobOutcome(job, None, error=errors[job.index], attempts=attempts[job.index])
