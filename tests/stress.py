"""`make test-stress`: the full GUI suite with the process slowed, under a CPU hog, RUNS times.

    python -m tests.stress [--runs 3] [--hogs N] [pytest args ...]      (make test-stress RUNS=3)

Starts N busy-loop processes (default: one per usable core) so every core is loaded, then runs
`pytest tests -m "not acceptance" --gui-only -p tests.stress_plugin` RUNS times in a row: the GUI
suite (every test in tests/app/qt and any other test using pytest-qt's qtbot/qapp; see
tests/stress_plugin.py) with Qt timer and paint events delivered 0-8 ms late. Stops at the first
failing run (naming its failed tests), ends the hogs it started (also on Ctrl+C), and prints one
line per run: its wall time and passed/failed/error/skipped counts. Test paths or node ids on
the command line replace `tests`.
Not part of `make test` or CI: it exists to prove the GUI tests do not depend on timing.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

HOG = "import signal, sys\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\nwhile True:\n    pass\n"


@dataclass(frozen=True)
class RunResult:
    """One pytest run: exit code, wall seconds and the junit counts."""

    code: int
    seconds: float
    tests: int
    failures: int
    errors: int
    skipped: int

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped

    def describe(self) -> str:
        return (f"exit {self.code} in {self.seconds:.0f} s: {self.passed} passed, "
                f"{self.failures} failed, {self.errors} errors, {self.skipped} skipped")


def read_counts(junit: Path) -> tuple[int, int, int, int]:
    """(tests, failures, errors, skipped) summed over the junit file's test suites; zeros if absent."""
    if not junit.exists():
        return 0, 0, 0, 0
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = [0, 0, 0, 0]
    for suite in suites:
        for i, key in enumerate(("tests", "failures", "errors", "skipped")):
            total[i] += int(suite.get(key, 0))
    return total[0], total[1], total[2], total[3]


def read_failures(junit: Path) -> list[str]:
    """The ids (file::test) of the junit file's failed or erroring test cases."""
    if not junit.exists():
        return []
    failed = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").replace(".", "/")
            failed.append(f"{module}.py::{case.get('name', '?')}")
    return failed


def pytest_command(pytest_args: list[str], junit: Path) -> list[str]:
    """The pytest command line of one run: the GUI suite unless paths are given."""
    has_paths = any(a.startswith("tests") for a in pytest_args)
    paths = [] if has_paths else ["tests", "-m", "not acceptance"]
    return [sys.executable, "-m", "pytest", "-q", "-p", "tests.stress_plugin", "--gui-only",
            f"--junitxml={junit}", "--durations=10", *paths, *pytest_args]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.stress")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hogs", type=int, default=len(os.sched_getaffinity(0)))
    args, pytest_args = parser.parse_known_args(argv)
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(args.hogs)]
    results: list[RunResult] = []
    try:
        with tempfile.TemporaryDirectory(prefix="planscope-stress-") as tmp:
            for run in range(1, args.runs + 1):
                junit = Path(tmp) / f"run{run}.xml"
                start = time.monotonic()
                code = subprocess.call(pytest_command(pytest_args, junit))
                result = RunResult(code, time.monotonic() - start, *read_counts(junit))
                results.append(result)
                print(f"test-stress run {run}/{args.runs} ({args.hogs} CPU hogs): {result.describe()}",
                      flush=True)
                if code != 0:
                    for test in read_failures(junit):
                        print(f"test-stress run {run}: FAILED {test}", flush=True)
                    print(f"test-stress: run {run} of {args.runs} failed after "
                          f"{len(results) - 1} passing run(s) in a row", flush=True)
                    return code
    finally:
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            hog.wait()
    print(f"test-stress: {args.runs} runs passed in a row ("
          + "; ".join(f"{r.passed} passed in {r.seconds:.0f} s" for r in results) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
