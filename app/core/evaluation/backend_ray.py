"""Ray backend (optional extra `planscope[ray]`): the same rollouts on a Ray cluster.

Each rollout is one Ray task (1 CPU). Ray re-runs a task once when its worker process dies
(max_retries=1) or raises (retry_exceptions); after that the rollout is reported failed-to-run.
At most `2 x cluster CPUs` tasks are in flight, so results stream back to the single writer and
the parent's memory stays flat however large the panel. Worker processes are reused by Ray, so
scenes and planners are built once per worker (runner caches).

With no address a local Ray instance is started (and shut down at the end); `--ray-address
ray://host:10001` or `auto` joins a running cluster, whose nodes must have planscope installed
(the checkpoint paths must be readable there too).
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from app.core.evaluation.backend_local import JobOutcome, execute, short_error
from app.core.evaluation.config import EvalConfigError, RolloutJob, RolloutSettings


def _remote_execute(job: RolloutJob, settings: RolloutSettings) -> Any:
    return execute(job, settings)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EvalConfigError("--backend ray needs the optional extra: "
                              "pip install 'planscope[ray]'") from None
    return ray


def _probe(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on an unreachable host:port (Ray itself retries for minutes)."""
    import socket
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise EvalConfigError(f"--ray-address {address!r}: expected HOST:PORT, ray://HOST:PORT "
                              f"or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise EvalConfigError(f"--ray-address {address}: cannot reach it ({exc.strerror or exc})") \
            from None


class RayBackend:
    name = "ray"

    def __init__(self, settings: RolloutSettings, *, address: str | None = None,
                 num_cpus: int | None = None, retries: int = 1):
        self.settings, self.address, self.num_cpus, self.retries = settings, address, num_cpus, retries
        self._started_here = False

    def start(self) -> None:
        """Start or join Ray now (before the artifact is opened), so a wrong address is one line
        and leaves nothing behind."""
        self._init(import_ray())

    def _init(self, ray: Any) -> None:
        if ray.is_initialized():
            return
        if self.address and self.address != "auto":
            _probe(self.address)
        try:
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
                self._started_here = True
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise EvalConfigError(f"--ray-address {self.address or '(local)'}: cannot start or "
                                  f"join Ray: {str(exc).splitlines()[0]}") from None

    def run(self, jobs: Iterable[RolloutJob]) -> Iterator[JobOutcome]:
        ray = import_ray()
        self._init(ray)
        remote = ray.remote(num_cpus=1, max_retries=self.retries,
                            retry_exceptions=True)(_remote_execute)
        settings_ref = ray.put(self.settings)
        pending = list(jobs)
        pending.reverse()
        limit = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        in_flight: dict[Any, RolloutJob] = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < limit:
                    job = pending.pop()
                    in_flight[remote.remote(job, settings_ref)] = job
                done, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in done:
                    job = in_flight.pop(ref)
                    try:
                        yield JobOutcome(job, ray.get(ref), worker="ray")
                    except Exception as exc:  # noqa: BLE001 - RayTaskError, WorkerCrashedError
                        yield JobOutcome(job, None, error=short_error(exc).split("\n")[0],
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
