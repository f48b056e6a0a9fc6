"""planscope's one torch thread policy (CLI commands, the app, its worker threads).

torch's OpenMP threads spin-wait: with more threads than *free* cores every denoising step waits
for a descheduled thread, and sampling gets 5-15x slower (issue 18: `planscope sample` N=8 took
15 s with torch's default threads on a busy 2-core machine against 1 s with one thread). So
torch gets the cores this process may run on (`os.sched_getaffinity`) minus the cores other
processes keep busy (the 1-minute load average, rounded), minus `reserve` (the app keeps one
for its GUI thread), and never fewer than 1.

Overrides, strongest first: an explicit `--threads N`; the environment variable
PLANSCOPE_TORCH_THREADS=N.

Worker processes (eval's rollout workers; scan's frame workers use 1) are the other half of the
policy: processes are their parallelism, so each uses `worker_threads()` torch threads, 1 by default (W
workers x 1 thread never oversubscribes W cores, and a fixed count keeps float reductions, hence
rollouts, bit-identical however many workers run). `planscope eval --threads K` gives every worker
K threads (W x K threads in all: the user's choice, e.g. 2 workers x 4 threads on 8 cores for a
large policy), and this process K threads with `--workers 0`. It travels to the workers in the
environment variable PLANSCOPE_WORKER_THREADS, which the local workers and a Ray cluster that
eval starts inherit; on an existing Ray cluster (--ray-address) set it in the cluster's
environment.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

THREADS_ENV = "PLANSCOPE_TORCH_THREADS"
WORKER_THREADS_ENV = "PLANSCOPE_WORKER_THREADS"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity; cgroup/taskset limits included)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):          # not on Linux
        return max(1, os.cpu_count() or 1)


def busy_cores() -> float:
    """Cores other processes keep busy: the 1-minute load average (0 where unknown)."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0.0


def choose_threads(requested: int | None = None, *, reserve: int = 0, cores: int | None = None,
                   load: float | None = None, env: dict | None = None) -> int:
    """Torch intra-op threads to use (>= 1). `requested` (a --threads value) wins, then the
    environment override, then free cores = cores - round(load) - reserve. `cores`, `load` and
    `env` default to this machine's; tests pass them."""
    if check_threads(requested) is not None:
        return int(requested)
    wanted = (os.environ if env is None else env).get(THREADS_ENV, "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    cores = usable_cores() if cores is None else cores
    load = busy_cores() if load is None else load
    return max(1, min(cores, cores - int(round(load)) - reserve))


def apply_threads(requested: int | None = None, *, reserve: int = 0,
                  only_if_loaded: bool = False) -> int:
    """Set torch's thread count by `choose_threads`; returns it (0 when torch is not loaded and
    only_if_loaded: a numpy planner never pays for importing torch)."""
    threads = choose_threads(requested, reserve=reserve)
    if only_if_loaded and "torch" not in sys.modules:
        return 0
    import torch
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def check_threads(requested: int | None, option: str = "--threads") -> int | None:
    """`requested` unchanged when it is None or >= 1; else one clear line (PlannerError)."""
    if requested is not None and requested < 1:
        from planners.protocol import PlannerError
        raise PlannerError(f"{option} must be >= 1, got {requested}")
    return requested


@contextmanager
def worker_threads_env(requested: int | None, env: dict | None = None) -> Iterator[int]:
    """Within the block, PLANSCOPE_WORKER_THREADS=requested in `env` (default os.environ), so the
    worker processes started inside it read it in `worker_threads`; restored afterwards (a test or
    a long-lived process running eval twice never leaks one run's count into the next). None
    leaves the variable as the user set it. Yields the count each worker will use."""
    env = os.environ if env is None else env
    before = env.get(WORKER_THREADS_ENV)
    if check_threads(requested) is not None:
        env[WORKER_THREADS_ENV] = str(int(requested))
    try:
        yield worker_threads(env)
    finally:
        if before is None:
            env.pop(WORKER_THREADS_ENV, None)
        else:
            env[WORKER_THREADS_ENV] = before


def worker_threads(env: dict | None = None) -> int:
    """Torch threads for one worker process: PLANSCOPE_WORKER_THREADS when it is a positive
    integer (eval --threads), else 1 (see the module docstring)."""
    wanted = (os.environ if env is None else env).get(WORKER_THREADS_ENV, "").strip()
    return int(wanted) if wanted.isdigit() and int(wanted) > 0 else 1


def apply_worker_threads() -> int:
    """Set torch's thread count in a worker to `worker_threads()` (only where a planner has
    imported torch: a numpy planner's workers never pay for it); returns the count, 0 without
    torch."""
    torch = sys.modules.get("torch")
    if torch is None:
        return 0
    threads = worker_threads()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    limit_native_threads(threads)
    return threads


def limit_native_threads(threads: int) -> None:
    """Cap the OpenMP/BLAS pools numpy, scipy and scikit-learn use (threadpoolctl, which
    scikit-learn installs) in a worker process: torch.set_num_threads does not reach them, and W
    workers each spinning a pool per core made 2 scan workers slower than one (0.5-0.7x on a
    quiet 2-core machine; 1.8-2.2x with the cap)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:          # no scikit-learn: numpy alone keeps its default
        return
    threadpool_limits(limits=int(threads))
