"""planscope's one torch thread policy (CLI commands, the app, its worker threads).

torch's OpenMP threads spin-wait: with more threads than *free* cores every denoising step waits
for a descheduled thread, and sampling gets 5-15x slower (issue 18: `planscope sample` N=8 took
15 s with torch's default threads on a busy 2-core machine against 1 s with one thread). So
torch gets the cores this process may run on (`os.sched_getaffinity`) minus the cores other
processes keep busy (the 1-minute load average, rounded), minus `reserve` (the app keeps one
for its GUI thread), and never fewer than 1.

Overrides, strongest first: an explicit `--threads N`; the environment variable
PLANSCOPE_TORCH_THREADS=N. Process pools (eval, scan workers) use 1 thread per worker:
processes are their parallelism, and a fixed count keeps rollouts bit-identical.
"""
from __future__ import annotations

import os
import sys

THREADS_ENV = "PLANSCOPE_TORCH_THREADS"


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
    if requested is not None:
        if requested < 1:
            from planners.protocol import PlannerError
            raise PlannerError(f"--threads must be >= 1, got {requested}")
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
