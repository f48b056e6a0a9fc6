"""Where scan jobs run: this process, N local worker processes, or a Ray cluster.

The same design as the evaluation backends (app/core/evaluation/backend_local.py and
backend_ray.py): only finished frame results travel back to the one writer in the parent; each
local worker holds at most one job, so a worker that dies (killed, out of memory) costs exactly
one known job, which is retried once on a fresh worker and then reported as failed frames;
workers ignore SIGINT (Ctrl+C is the parent's: it stops them and saves what finished). Workers
fork from a forkserver that preloaded numpy, h5py and torch; each builds its data set, policies
and local-data index once (work.scan_context) and uses one torch thread.
"""
from __future__ import annotations

import collections
import multiprocessing as mp
import signal
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Callable, Iterable, Iterator

from app.core.scan.config import FrameJob, ScanConfig, ScanConfigError
from app.core.scan.work import JobResult, scan_job, short_error

DispatchHook = Callable[[int, FrameJob, int], None]   # (worker pid, job, attempt)
PRELOAD = ["numpy", "h5py", "torch", "diffusers", "sklearn.cluster", "sklearn.decomposition",
           "sklearn.metrics", "app.core.scan.work", "planners", "recordings.dataset"]


@dataclass
class JobOutcome:
    """What came back for one job: a JobResult, or an error after `attempts` tries."""
    job: FrameJob
    result: JobResult | None = None
    error: str = ""
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.result is not None


class InProcessBackend:
    """workers=0: every job in this process, in order (debugging, profiling, tests)."""
    name = "inprocess"

    def __init__(self, config: ScanConfig) -> None:
        self.config = config

    def start(self) -> None:
        """Nothing to start."""

    def run(self, jobs: Iterable[FrameJob]) -> Iterator[JobOutcome]:
        for job in jobs:
            try:
                yield JobOutcome(job, scan_job(job, self.config))
            except Exception as exc:  # noqa: BLE001 - e.g. the data set vanished mid-scan
                yield JobOutcome(job, None, error=short_error(exc))


def _worker_main(conn, config: ScanConfig) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from app.core.scan.work import one_torch_thread
    one_torch_thread()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            message = ("ok", job.index, scan_job(job, config))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
            message = ("error", job.index, short_error(exc))
        try:
            conn.send(message)
        except (BrokenPipeError, OSError):
            return


def worker_context():
    """forkserver where the OS has it (workers fork from a clean, warm server that never ran
    torch), spawn elsewhere."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return mp.get_context("spawn")


class _Worker:
    def __init__(self, ctx, config: ScanConfig) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, config), daemon=True,
                                   name="planscope-scan-worker")
        self.process.start()
        child.close()
        self.job: FrameJob | None = None
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
    """N local worker processes."""
    name = "local"

    def __init__(self, config: ScanConfig, workers: int, retries: int = 1,
                 on_dispatch: DispatchHook | None = None) -> None:
        self.config, self.workers, self.retries = config, max(1, int(workers)), retries
        self.on_dispatch = on_dispatch
        self._pool: list[_Worker] = []

    def start(self) -> None:
        """Workers start with the first job."""

    @property
    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._pool]

    def run(self, jobs: Iterable[FrameJob]) -> Iterator[JobOutcome]:
        ctx = worker_context()
        queue: collections.deque[FrameJob] = collections.deque(jobs)
        attempts: dict[int, int] = collections.defaultdict(int)
        self._pool = [_Worker(ctx, self.config) for _ in range(min(self.workers, len(queue)))]
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
                for i, w in enumerate(self._pool):
                    if w.job is None and (w.dead or not w.process.is_alive()):
                        w.stop(0.1)
                        self._pool[i] = _Worker(ctx, self.config)
        except BaseException:
            for w in self._pool:      # Ctrl+C or the consumer stopped: nobody reads the rest
                w.process.kill()
            raise
        finally:
            for w in self._pool:
                w.stop()
            self._pool = []

    def _dispatch(self, w: _Worker, job: FrameJob, attempts: dict[int, int]) -> None:
        attempts[job.index] += 1
        w.job = job
        try:
            w.conn.send(job)
        except (BrokenPipeError, OSError):
            pass      # already dead: its sentinel fires and the job is retried
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
                    f"worker pid {w.process.pid} died while scanning these frames")
            if status == "ok" and index == job.index:
                w.job = None
                return JobOutcome(job, payload, attempts=attempts[job.index])
            error = str(payload)
        elif w.process.sentinel in ready:
            w.dead = True
            w.process.join(1.0)
            error = (f"worker pid {w.process.pid} died (exit code {w.process.exitcode}) while "
                     f"scanning these frames")
        else:
            return None
        w.job = None
        if attempts[job.index] <= self.retries:
            queue.appendleft(job)
            return None
        return JobOutcome(job, None, error=error, attempts=attempts[job.index])


def _remote_scan(job: FrameJob, config: ScanConfig) -> JobResult:
    from app.core.scan.work import one_torch_thread
    one_torch_thread()
    return scan_job(job, config)


class RayBackend:
    """One Ray task per job (1 CPU); at most 2 x cluster CPUs in flight so results stream back
    to the one writer. Ray retries a task once when its worker dies or raises. With no address a
    local Ray instance is started and shut down at the end."""
    name = "ray"

    def __init__(self, config: ScanConfig, *, address: str | None = None,
                 num_cpus: int | None = None, retries: int = 1) -> None:
        self.config, self.address, self.num_cpus, self.retries = config, address, num_cpus, retries
        self._started_here = False

    def start(self) -> None:
        self._init(self._ray())

    @staticmethod
    def _ray() -> Any:
        try:
            import ray
        except ImportError:
            raise ScanConfigError("--backend ray needs the optional extra: "
                                  "pip install 'planscope[ray]'") from None
        return ray

    def _init(self, ray: Any) -> None:
        if ray.is_initialized():
            return
        try:
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
                self._started_here = True
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ScanConfigError(f"--ray-address {self.address or '(local)'}: cannot start or "
                                  f"join Ray: {str(exc).splitlines()[0]}") from None

    def run(self, jobs: Iterable[FrameJob]) -> Iterator[JobOutcome]:
        ray = self._ray()
        self._init(ray)
        remote = ray.remote(num_cpus=1, max_retries=self.retries,
                            retry_exceptions=True)(_remote_scan)
        config_ref = ray.put(self.config)
        pending = list(jobs)
        pending.reverse()
        limit = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        in_flight: dict[Any, FrameJob] = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < limit:
                    job = pending.pop()
                    in_flight[remote.remote(job, config_ref)] = job
                done, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in done:
                    job = in_flight.pop(ref)
                    try:
                        yield JobOutcome(job, ray.get(ref))
                    except Exception as exc:  # noqa: BLE001 - RayTaskError, WorkerCrashedError
                        yield JobOutcome(job, None, error=short_error(exc).split("\n")[0],
                                         attempts=self.retries + 1)
        finally:
            for ref in in_flight:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - already finished or gone
                    pass
            if self._started_here:
                ray.shutdown()
                self._started_here = False
