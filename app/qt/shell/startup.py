"""The start-up probe: `planscope bench startup` sets STARTUP_PROBE_ENV and reads one line of JSON
(seconds from process start to the window shown, and to the scene mirrored in it)."""
from __future__ import annotations

import os
import time

# Set by `planscope bench startup`: print the time to window shown, then quit.
STARTUP_PROBE_ENV = "PLANSCOPE_STARTUP_PROBE"


def report_startup(window) -> None:
    """One line of JSON for app/bench/startup.py: seconds from process start to the window shown
    (and which heavy modules were loaded then), and to the scene mirrored in it."""
    import json
    import sys

    from PySide6 import QtWidgets

    start = process_start_time()
    QtWidgets.QApplication.processEvents()
    window.repaint()  # "shown" includes the first paint
    shown_s = time.time() - start
    cpu_s = time.process_time()  # CPU seconds of this process: robust to a busy machine
    heavy = {"torch_imported": "torch" in sys.modules, "pybullet_imported": "pybullet" in sys.modules}
    window.install_pending_features()
    window.load_scene()
    QtWidgets.QApplication.processEvents()
    window.scene_view.repaint()
    ready_s = time.time() - start
    print(json.dumps({"window_shown_s": round(shown_s, 3), "window_shown_cpu_s": round(cpu_s, 3),
                      "scene_ready_s": round(ready_s, 3),
                      **heavy}), flush=True)
    window.close()
    QtWidgets.QApplication.instance().quit()


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
