"""Creating the QApplication the same way everywhere (window, snapshot, benches, tests)."""
from __future__ import annotations

import os
import sys

from PySide6 import QtCore, QtGui, QtWidgets

from app.theme import apply_theme


def ensure_display() -> object | None:
    """Start a virtual X display when there is none (headless snapshot/bench runs).

    Returns the display object (keep it alive; `.stop()` when done) or None when a display exists.
    OpenGL needs a real X server: Qt's `offscreen` platform has no GL for pyqtgraph.opengl."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    from pyvirtualdisplay import Display  # only for headless runs

    display = Display(visible=False, size=(1920, 1200), color_depth=24)
    display.start()
    return display


def ensure_qapp(argv: list[str] | None = None) -> QtWidgets.QApplication:
    """The process's QApplication, created once with the planscope theme and GL defaults."""
    app = QtWidgets.QApplication.instance()
    if app is not None:
        return app  # type: ignore[return-value]
    # docks holding GL views can float (re-parent): share contexts so nothing is re-created
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    fmt = QtGui.QSurfaceFormat()
    fmt.setDepthBufferSize(24)
    fmt.setSamples(int(os.environ.get("PLANSCOPE_MSAA", "0")))  # MSAA: costly on software GL
    QtGui.QSurfaceFormat.setDefaultFormat(fmt)
    app = QtWidgets.QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("planscope")
    app.setOrganizationName("planscope")
    app.setApplicationDisplayName("planscope")
    apply_theme(app)
    return app
