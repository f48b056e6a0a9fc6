"""Ray backend of the evaluation (optional extra `planscope[ray]`): the same rollouts on a Ray
cluster, one Ray task per rollout, on the one worker pool (app/core/worker_pool.py: retries,
results streamed to the one writer, a local instance started when no address is given; `--ray-
address ray://host:10001` or `auto` joins a running cluster whose nodes have planscope installed
and can read the checkpoint paths). Ray reuses its worker processes, so scenes and planners are
built once per worker (runner caches).
"""
from __future__ import annotations

from typing import Any

from app.core import worker_pool as pool
from app.core.evaluation.backend_local import rollout_task
from app.core.evaluation.config import EvalConfigError, RolloutSettings


def import_ray() -> Any:
    return pool.import_ray(EvalConfigError)


def _probe(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on an unreachable host:port (EvalConfigError; `planscope scan` uses it too)."""
    pool.probe_address(address, EvalConfigError, timeout_s)


class RayBackend(pool.RayBackend):
    def __init__(self, settings: RolloutSettings, *, address: str | None = None,
                 num_cpus: int | None = None, retries: int = 1) -> None:
        super().__init__(rollout_task(settings), address=address, num_cpus=num_cpus,
                         retries=retries, error=EvalConfigError)
        self.settings = settings
