"""`planscope [FILE ...] [--policy SPEC] [--scene NAME]`: open the desktop app.

The window is shown first and the scene is built right after (pybullet and the meshes load while
the window is already on screen); files and policies are then handed to the feature handlers
(see MainWindow.open_paths / open_policy). torch is never imported here.
"""
from __future__ import annotations

import os
import time

from recordings.errors import UserFacingError

# Set by `planscope bench startup`: print the time to window shown, then quit.
STARTUP_PROBE_ENV = "PLANSCOPE_STARTUP_PROBE"


def run_open(args) -> int:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise UserFacingError("no display to open a window on (DISPLAY is unset); run under "
                              "xvfb-run, or render headless with `planscope snapshot --out FILE.png`")
    from PySide6 import QtCore, QtWidgets

    from app.dialogs import install_excepthook
    from app.main_window import MainWindow
    from app.qt_app import ensure_qapp
    from app.state.scene_session import SceneSession

    app = ensure_qapp()
    # the starting workspace's feature is installed before the window shows, the others right
    # after it is on screen (before files and policies are opened)
    window = MainWindow(SceneSession(getattr(args, "scene", None) or "mug_grasp"),
                        defer_features=True)
    install_excepthook(window)
    window.show()

    def after_shown() -> None:
        if os.environ.get(STARTUP_PROBE_ENV):
            _report_startup(window)
            return
        window.status(f"Loading scene {window.session.scene_name}…", 0)
        QtWidgets.QApplication.processEvents()  # paint the message before the load blocks
        window.install_pending_features()
        if window.load_scene():
            window.status("")
        for spec in getattr(args, "policy", None) or []:
            window.open_policy(spec)
        window.open_paths(getattr(args, "files", None) or [])

    QtCore.QTimer.singleShot(0, after_shown)
    return int(app.exec())


def _report_startup(window) -> None:
    """One line of JSON for app/bench/startup.py: seconds from process start to the window shown
    (and which heavy modules were loaded then), and to the scene mirrored in it."""
    import json
    import sys

    from PySide6 import QtWidgets

    start = _process_start_time()
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


def _process_start_time() -> float:
    """Wall-clock time this process started (Linux /proc; falls back to the probe's env stamp)."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return time.time() - uptime + start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float(os.environ.get(STARTUP_PROBE_ENV, time.time()))
