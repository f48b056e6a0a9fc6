"""Start-up timing: the phase marks `planscope` and `planscope demo` leave on their way to the
first picture, and the probe `planscope bench startup` reads (STARTUP_PROBE_ENV set: one line of
JSON with seconds from process start to the window shown, to the scene mirrored in it, and every
phase's wall and CPU time, then quit).

    mark("window built")      # wall s since process start, process CPU s, GUI-thread CPU s
    phases()                  # [{"phase", "wall_s", "cpu_s", "thread_cpu_s"}, ...] in order

A mark costs a few microseconds; they are always recorded (nothing is printed unless asked).
"""
from __future__ import annotations

import os
import sys
import time

# Set by `planscope bench startup`: print the time to window shown, then quit.
STARTUP_PROBE_ENV = "PLANSCOPE_STARTUP_PROBE"
# Modules that only a later feature needs; none may be loaded when the window is first shown
# (tests/app/qt/shell/test_startup_imports.py checks it in a fresh process).
HEAVY_MODULES = ("torch", "pybullet", "scipy", "sklearn", "diffusers", "numba", "h5py", "pyarrow",
                 "zarr", "av", "imageio", "safetensors", "ray")

_phases: list[tuple[str, float, float, float]] = []
_start: float | None = None


def process_start_time() -> float:
    """Wall-clock time this process started (Linux /proc; falls back to the probe's env stamp)."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return time.time() - uptime + start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float(os.environ.get(STARTUP_PROBE_ENV, time.time()))


def seconds_since_start() -> float:
    """Wall seconds since this process started (the start is read once)."""
    global _start
    if _start is None:
        _start = process_start_time()
    return time.time() - _start


def mark(phase: str) -> None:
    """Record that `phase` ended now (call it on the GUI thread: thread CPU is that thread's)."""
    _phases.append((phase, seconds_since_start(), time.process_time(), time.thread_time()))


def phases() -> list[dict]:
    """The marks so far, in order: wall seconds since process start, process CPU seconds (every
    thread) and GUI-thread CPU seconds at the end of each phase."""
    return [{"phase": name, "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
             "thread_cpu_s": round(thread, 4)} for name, wall, cpu, thread in _phases]


def heavy_modules_loaded() -> list[str]:
    """Which of HEAVY_MODULES are imported in this process now."""
    return [name for name in HEAVY_MODULES if name in sys.modules]


def modules_compiled_from_source() -> int:
    """How many of planscope's loaded modules have no bytecode cache beside them (so they were
    compiled from source at this start: PYTHONDONTWRITEBYTECODE=1 and no earlier start wrote
    one)."""
    import importlib.util

    count = 0
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path or name.split(".")[0] not in ("app", "planners", "scenes", "recordings"):
            continue
        if path.endswith(".py") and not os.path.exists(importlib.util.cache_from_source(path)):
            count += 1
    return count


def report_startup(window) -> None:
    """One line of JSON for app/bench/startup.py: seconds from process start to the window shown
    (and which heavy modules were loaded then), to the scene mirrored in it, and the phases."""
    import json

    from PySide6 import QtWidgets

    QtWidgets.QApplication.processEvents()
    window.repaint()  # "shown" includes the first paint
    mark("first paint")
    shown_s = seconds_since_start()
    cpu_s = time.process_time()  # CPU seconds of this process: robust to a busy machine
    heavy = heavy_modules_loaded()
    from_source = modules_compiled_from_source()
    window.install_pending_features()
    mark("other workspaces installed")
    window.load_scene()
    QtWidgets.QApplication.processEvents()
    window.scene_view.repaint()
    mark("scene loaded and mirrored")
    ready_s = seconds_since_start()
    print(json.dumps({"window_shown_s": round(shown_s, 3), "window_shown_cpu_s": round(cpu_s, 3),
                      "scene_ready_s": round(ready_s, 3),
                      "torch_imported": "torch" in heavy, "pybullet_imported": "pybullet" in heavy,
                      "heavy_modules_at_show": heavy, "compiled_from_source": from_source,
                      "phases": phases()}), flush=True)
    window.close()
    QtWidgets.QApplication.instance().quit()
