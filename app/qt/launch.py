"""Open the desktop app's window for `planscope [FILE ...]` and `planscope review F`: the window
with every registered workspace is shown first and the scene is built right after (pybullet and
the meshes load while the window is already on screen); files and policies are then handed to the
feature handlers (MainWindow.open_paths / open_policy). torch is never imported here.
"""
from __future__ import annotations

import os
from typing import Sequence

from recordings.errors import UserFacingError


def _require_display(hint: str) -> None:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise UserFacingError("no display to open a window on (DISPLAY is unset); run under "
                              f"xvfb-run, or render headless with {hint}")


def open_app(files: Sequence[str], policies: Sequence[str], scene: str | None,
             options: dict | None = None) -> int:
    """Show the main window, then load the scene (built with `options`, e.g. rows=2), the
    policies and the files; run the event loop."""
    _require_display("`planscope snapshot --out FILE.png`")
    from app.qt.shell.startup import STARTUP_PROBE_ENV, mark, report_startup

    mark("interpreter and command line")
    from PySide6 import QtCore, QtWidgets

    mark("Qt imported")
    from app.core.scene_session import SceneSession
    from app.qt import registry
    from app.qt.shell.dialogs import install_excepthook
    from app.qt.shell.qt_app import ensure_qapp, exec_until_interrupted

    mark("window modules imported (pyqtgraph, OpenGL)")
    app = ensure_qapp()
    # the starting workspace's feature is installed before the window shows, the others right
    # after it is on screen (before files and policies are opened)
    from app.qt.plots.plan_curve import hold_warm_up, release_warm_up
    # numba's warm-up starts 3 s after the first plan view is built; on a loaded machine building
    # and showing the window can take longer, and it must not compete with the first paint
    hold_warm_up()
    session = SceneSession(scene or "mug_grasp")
    if options:
        from scenes import make_scene  # lazy: pybullet

        session.scene_options = dict(options)
        session.factory = lambda name: make_scene(name, **options)
    window = registry.main_window(session, defer_features=True)
    install_excepthook(window)
    mark("window built (starting workspace)")
    window.show()
    mark("window shown")

    def after_shown() -> None:
        if os.environ.get(STARTUP_PROBE_ENV):
            report_startup(window)        # paints, then lists the modules loaded at "shown"
            release_warm_up()
            return
        release_warm_up()
        window.status(f"Loading scene {window.session.scene_name}…", 0)
        QtWidgets.QApplication.processEvents()  # paint the message before the load blocks
        window.install_pending_features()
        if window.load_scene():
            window.status("")
        for spec in policies:
            window.open_policy(spec)
        window.open_paths(list(files))

    QtCore.QTimer.singleShot(0, after_shown)
    return exec_until_interrupted(app)


def open_review(paths: Sequence[str], scene: str) -> int:
    """Show the main window in the review workspace with `paths` open; run the event loop."""
    _require_display(f"`planscope snapshot --view review --recording {paths[0]} --out review.png`")
    from PySide6 import QtCore

    from app.core.scene_session import SceneSession
    from app.qt import registry
    from app.qt.shell.qt_app import ensure_qapp, exec_until_interrupted

    app = ensure_qapp()
    window = registry.main_window(SceneSession(scene))
    window.set_workspace("review")
    window.show()

    def after_shown() -> None:
        window.load_scene()
        window.open_paths(list(paths))
        window.set_workspace("review")

    QtCore.QTimer.singleShot(0, after_shown)
    return exec_until_interrupted(app)
