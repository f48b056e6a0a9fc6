"""The one worker pool: evaluation rollouts and dataset-scan jobs run in this process, in N local
worker processes, or on a Ray cluster, through the same three backends.

    task = Task(execute, payload, what="running this rollout", preload=[...])
    for outcome in ProcessBackend(task, workers=2).run(jobs):     # or InProcessBackend, RayBackend
        outcome.ok, outcome.result, outcome.error, outcome.attempts

A job is any picklable object with an `index` (its position in the job list); `task.fn(job,
task.payload)` (a module-level function: it travels to workers and Ray by reference) returns the
job's result. Only finished results travel back (pickled through a pipe, or Ray's object store);
the one writer stays in the parent.

Local processes: each worker holds at most one job, so when a worker dies (killed, crashed, out of
memory) the parent knows exactly which job was lost: it is retried on a fresh worker (`retries`
times), then reported as an error outcome, and the run goes on; the pool keeps its size. Workers
ignore SIGINT: Ctrl+C is the parent's (it kills the workers and the caller saves what finished).
Workers fork from a forkserver that preloaded `task.preload` (numpy, torch, ... imported once, so
a new or replacement worker starts in a fraction of a second and inherits nothing unsafe: the
server never ran torch or PyBullet); spawn where the OS has no forkserver. `task.init()` runs once
in each worker (e.g. one torch thread).

Ray: one task per job (1 CPU), at most 2 x the cluster's CPUs in flight so results stream back and
the parent's memory stays flat; Ray re-runs a task `retries` times when its worker dies or raises.
With no address a local Ray instance is started and shut down at the end; `HOST:PORT`,
`ray://HOST:PORT` or `auto` joins a running cluster (whose nodes must have planscope installed and
read the same paths).
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

from recordings.errors import UserFacingError

DispatchHook = Callable[[int, Any, int], None]   # (worker pid, job, attempt)


@dataclass(frozen=True)
class Task:
    """What every worker runs: fn(job, payload) -> result (module-level function); init() once
    per worker process or Ray task; `what` finishes the sentence "worker pid P died while ...";
    name: the worker processes' name; preload: modules the fork server imports once."""
    fn: Callable[[Any, Any], Any]
    payload: Any
    what: str = "running this job"
    init: Callable[[], None] | None = None
    name: str = "planscope-worker"
    preload: tuple[str, ...] = ()


@dataclass
class JobOutcome:
    """What came back for one job: its result, or an error after `attempts` tries."""
    job: Any
    result: Any = None
    error: str = ""
    attempts: int = 1
    worker: str = field(default="", compare=False)

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def rollout(self) -> Any:
        """The evaluation's name for the result (a recordings.rollout.Rollout)."""
        return self.result


def short_error(exc: BaseException) -> str:
    """The last line of an exception (type: message), at most 500 characters."""
    return traceback.format_exception_only(type(exc), exc)[-1].strip()[:500]


class InProcessBackend:
    """workers=0: every job in this process, in job order (debugging, profiling, tests)."""
    name = "inprocess"

    def __init__(self, task: Task, retries: int = 1) -> None:
        self.task, self.retries = task, retries

    def start(self) -> None:
        """Nothing to start: jobs run in this process."""

    def run(self, jobs: Iterable[Any]) -> Iterator[JobOutcome]:
        for job in jobs:
            error = ""
            for attempt in range(1, self.retries + 2):
                try:
                    result = self.task.fn(job, self.task.payload)
                except Exception as exc:  # noqa: BLE001 - a bad job must not end the run
                    error = short_error(exc)
                    continue
                yield JobOutcome(job, result, attempts=attempt, worker=f"pid{os.getpid()}")
                break
            else:
                yield JobOutcome(job, None, error=error, attempts=self.retries + 1)


def _worker_main(conn, task: Task) -> None:
    """Worker loop: receive a job, send back ("ok", index, result) or ("error", index, text)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if task.init is not None:
        task.init()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            message = ("ok", job.index, task.fn(job, task.payload))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
            message = ("error", job.index, short_error(exc))
        try:
            conn.send(message)
        except (BrokenPipeError, OSError):
            return


def worker_context(preload: Iterable[str] = ()):
    """'forkserver' where the OS has it (Linux, macOS), preloading `preload`; 'spawn' elsewhere."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["app.core.worker_pool", *preload])
        return ctx
    return mp.get_context("spawn")


class _Worker:
    def __init__(self, ctx, task: Task) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, task), daemon=True,
                                   name=task.name)
        self.process.start()
        child.close()
        self.job: Any = None
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


class ProcessBackend:
    """N local worker processes (module doc); on_dispatch(pid, job, attempt) after each send."""
    name = "local"

    def __init__(self, task: Task, workers: int, retries: int = 1,
                 on_dispatch: DispatchHook | None = None) -> None:
        self.task, self.workers, self.retries = task, max(1, int(workers)), retries
        self.on_dispatch = on_dispatch
        self._pool: list[_Worker] = []

    def start(self) -> None:
        """Workers start with the first job (the pool is sized to the jobs)."""

    @property
    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._pool]

    def run(self, jobs: Iterable[Any]) -> Iterator[JobOutcome]:
        ctx = worker_context(self.task.preload)
        queue: collections.deque = collections.deque(jobs)
        attempts: dict[int, int] = collections.defaultdict(int)
        self._pool = [_Worker(ctx, self.task) for _ in range(min(self.workers, len(queue)))]
        try:
            while queue or any(w.job is not None for w in self._pool):
                for w in self._pool:
                    if w.job is None and queue:
                        self._dispatch(w, queue.popleft(), attempts)
                busy = [w for w in self._pool if w.job is not None]
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
                for w in busy:
                    outcome = self._collect(w, ready, attempts, queue)
                    if outcome is not None:
                        yield outcome
                for i, w in enumerate(self._pool):       # the pool keeps its size
                    if w.job is None and (w.dead or not w.process.is_alive()):
                        w.stop(0.1)
                        self._pool[i] = _Worker(ctx, self.task)
        except BaseException:
            # Ctrl+C or the consumer stopped: busy workers would finish a job nobody reads
            for w in self._pool:
                w.process.kill()
            raise
        finally:
            for w in self._pool:
                w.stop()
            self._pool = []

    def _dispatch(self, w: _Worker, job: Any, attempts: dict[int, int]) -> None:
        attempts[job.index] += 1
        w.job = job
        try:
            w.conn.send(job)
        except (BrokenPipeError, OSError):
            pass   # the worker is already dead: its sentinel fires and the job is retried
        if self.on_dispatch is not None:
            self.on_dispatch(w.process.pid, job, attempts[job.index])

    def _collect(self, w: _Worker, ready: list, attempts: dict[int, int],
                 queue: collections.deque) -> JobOutcome | None:
        job = w.job
        assert job is not None
        if w.conn in ready:
            try:
                status, index, payload = w.conn.recv()
            except Exception:  # noqa: BLE001 - died mid-send
                w.dead = True
                status, index, payload = "died", job.index, (
                    f"worker pid {w.process.pid} died while {self.task.what}")
            if status == "ok" and index == job.index:
                w.job = None
                return JobOutcome(job, payload, attempts=attempts[job.index],
                                  worker=f"pid{w.process.pid}")
            error = str(payload)
        elif w.process.sentinel in ready:
            w.dead = True
            w.process.join(1.0)     # reap it, so the exit code is known
            error = (f"worker pid {w.process.pid} died (exit code {w.process.exitcode}) "
                     f"while {self.task.what}")
        else:
            return None
        w.job = None
        if attempts[job.index] <= self.retries:
            queue.appendleft(job)       # retried next, on whichever worker is free
            return None
        return JobOutcome(job, None, error=error, attempts=attempts[job.index])


def import_ray(error: type[UserFacingError] = UserFacingError) -> Any:
    """The ray module, or `error` naming the optional extra."""
    try:
        import ray
    except ImportError:
        raise error("--backend ray needs the optional extra: pip install 'planscope[ray]'") \
            from None
    return ray


def probe_address(address: str, error: type[UserFacingError] = UserFacingError,
                  timeout_s: float = 5.0) -> None:
    """Fail fast on an unreachable host:port (Ray itself retries for minutes)."""
    import socket
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise error(f"--ray-address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise error(f"--ray-address {address}: cannot reach it ({exc.strerror or exc})") from None


def ray_error(exc: BaseException) -> str:
    """One line for a Ray failure that names its cause: a RayTaskError's own first line is only
    "ray::_remote_call() (pid=.., ip=..)" (the exception raised inside the task is its `cause`);
    a crashed worker or a lost object keeps Ray's first line."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException) and cause is not exc:
        return f"{short_error(cause).splitlines()[0]} (in a Ray task)"
    return short_error(exc).splitlines()[0]


def _remote_call(job: Any, task: Task) -> Any:
    if task.init is not None:
        task.init()
    return task.fn(job, task.payload)


class RayBackend:
    """One Ray task per job (module doc); errors about Ray itself are raised as `error`."""
    name = "ray"

    def __init__(self, task: Task, *, address: str | None = None, num_cpus: int | None = None,
                 retries: int = 1, error: type[UserFacingError] = UserFacingError) -> None:
        self.task, self.address, self.num_cpus, self.retries = task, address, num_cpus, retries
        self.error = error
        self._started_here = False

    def start(self) -> None:
        """Start or join Ray now (before any output is opened), so a wrong address is one line
        and leaves nothing behind."""
        self._init(import_ray(self.error))

    def _init(self, ray: Any) -> None:
        if ray.is_initialized():
            return
        if self.address and self.address != "auto":
            probe_address(self.address, self.error)
        try:
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
                self._started_here = True
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise self.error(f"--ray-address {self.address or '(local)'}: cannot start or join "
                             f"Ray: {str(exc).splitlines()[0]}") from None

    def run(self, jobs: Iterable[Any]) -> Iterator[JobOutcome]:
        ray = import_ray(self.error)
        self._init(ray)
        remote = ray.remote(num_cpus=1, max_retries=self.retries,
                            retry_exceptions=True)(_remote_call)
        task_ref = ray.put(self.task)
        pending = list(jobs)
        pending.reverse()
        limit = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        in_flight: dict[Any, Any] = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < limit:
                    job = pending.pop()
                    in_flight[remote.remote(job, task_ref)] = job
                done, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in done:
                    job = in_flight.pop(ref)
                    try:
                        yield JobOutcome(job, ray.get(ref), worker="ray")
                    except Exception as exc:  # noqa: BLE001 - RayTaskError, WorkerCrashedError
                        yield JobOutcome(job, None, error=ray_error(exc),
                                         attempts=self.retries + 1, worker="ray")
        finally:
            for ref in in_flight:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - already finished or gone
                    pass
            if self._started_here:
                ray.shutdown()
                self._started_here = False
