"""`planscope sample` on a busy machine: the default thread policy against a fixed --threads.

    python -m tests.stress_sample [--rounds 3] [--threads 2] [--hogs N] [--policy DIR] [--num 8]

Starts one busy-loop process per usable core (tests/stress.py's hog), lets the 1-minute load
average see them, then runs `planscope sample --policy DIR --num N` RUNS times with the default
thread policy (planners/threads.py: free cores from the affinity and the load average) and with
`--threads K`, alternating so a change in the machine's other load hits both alike. Prints every
run (wall seconds of the whole command, the `plan ... ms` the command reports, the torch threads
the default chose) and the medians. A figure for a person (docs/reliability.md); not a test, not
in CI, nothing asserted.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.stress import HOG

ROOT = Path(__file__).resolve().parents[1]
PLAN_MS = re.compile(r"plan ([0-9.]+) ms")


def run_sample(policy: str, num: int, threads: int | None) -> tuple[float, float | None]:
    """(wall seconds of the whole command, the plan time it reports in ms or None)."""
    cmd = [sys.executable, "-m", "app.cli", "sample", "--policy", policy, "--num", str(num)]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "PLANSCOPE_TORCH_THREADS")}
    start = time.perf_counter()      # a benchmark's own timing, not a test's
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sample failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    found = PLAN_MS.search(proc.stdout)
    return wall, float(found.group(1)) if found else None


def default_threads() -> int:
    """What the default policy picks now (this process sees the same cores and load)."""
    from planners.threads import choose_threads
    return choose_threads(None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.stress_sample")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hogs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--policy", default=str(ROOT / "resources" / "checkpoints" / "mug_grasp_diffusion"))
    parser.add_argument("--num", type=int, default=8)
    parser.add_argument("--settle", type=float, default=20.0,
                        help="seconds the hogs run before the first sample (load average catches up)")
    args = parser.parse_args(argv)
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(args.hogs)]
    results: dict[str, list[tuple[float, float | None]]] = {"default": [], f"--threads {args.threads}": []}
    try:
        time.sleep(args.settle)
        for r in range(1, args.rounds + 1):
            for name, threads in (("default", None), (f"--threads {args.threads}", args.threads)):
                chosen = default_threads() if threads is None else threads
                load = os.getloadavg()[0]
                wall, plan_ms = run_sample(args.policy, args.num, threads)
                results[name].append((wall, plan_ms))
                plan = f"{plan_ms:.0f} ms" if plan_ms is not None else "?"
                print(f"round {r} {name:>12}: {wall:6.1f} s wall, plan {plan} "
                      f"({chosen} torch threads, load {load:.1f})", flush=True)
    finally:
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            hog.wait()
    print(f"medians over {args.rounds} rounds, N={args.num}, {args.hogs} CPU hogs:")
    for name, runs in results.items():
        walls = [w for w, _ in runs]
        plans = [p for _, p in runs if p is not None]
        plan = f"{statistics.median(plans):.0f} ms" if plans else "?"
        print(f"  {name:>12}: {statistics.median(walls):.1f} s wall "
              f"[{min(walls):.1f}-{max(walls):.1f}], plan {plan}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
