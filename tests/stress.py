"""`make test-stress`: the GUI tests with the process slowed, under a CPU hog, RUNS times.

    python -m tests.stress [--runs 3] [--hogs N] [pytest args ...]   (test paths: default tests/app/qt)

Starts N busy-loop processes (default: one per usable core) so every core is loaded, runs
`pytest tests/app/qt -p tests.stress_plugin` (Qt timer and paint events delivered 0-8 ms late)
RUNS times in a row, stops at the first failure, ends the hogs it started, and prints each run's
wall time. Not part of `make test` or CI: it exists to prove the GUI tests do not depend on
timing.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HOG = "import signal, sys\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\nwhile True:\n    pass\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.stress")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hogs", type=int, default=len(os.sched_getaffinity(0)))
    args, pytest_args = parser.parse_known_args(argv)
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(args.hogs)]
    times = []
    try:
        for run in range(1, args.runs + 1):
            start = time.monotonic()
            paths = [] if any(a.startswith("tests") for a in pytest_args) else ["tests/app/qt"]
            code = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "tests.stress_plugin",
                                    *paths, *pytest_args])
            times.append(time.monotonic() - start)
            print(f"test-stress run {run}/{args.runs}: exit {code} in {times[-1]:.0f} s "
                  f"({args.hogs} CPU hogs)", flush=True)
            if code != 0:
                return code
    finally:
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            hog.wait()
    print(f"test-stress: {args.runs} runs passed in a row ({', '.join(f'{t:.0f} s' for t in times)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
