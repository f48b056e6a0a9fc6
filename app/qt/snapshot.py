"""Render the main window headless for `planscope snapshot` (app/commands/snapshot.py parses the
arguments): build the window with every registered workspace, load the scene, open policies and
recordings, let the chosen workspace prepare itself, and grab the window with its GL views.
"""
from __future__ import annotations

import argparse
import sys

from app.qt.shell.grab import grab_window
from recordings.errors import UserFacingError


def render_window(args: argparse.Namespace, size: tuple[int, int]):
    """Build, prepare and render the main window -> QImage of `size` pixels."""
    from PySide6 import QtCore, QtWidgets

    from app.core.scene_session import SceneSession, default_scene_factory
    from app.qt import registry

    from scenes.registry import parse_options
    options = parse_options(getattr(args, "option", None) or [])
    factory = default_scene_factory
    if args.asset_root or options:
        from scenes import make_scene  # lazy: pybullet
        extra = {"asset_root": args.asset_root} if args.asset_root else {}

        def factory(name: str):
            return make_scene(name, **options, **extra)

    session = SceneSession(args.scene, seed=args.seed, factory=factory, scene_options=options)
    window = registry.main_window(session, restore_layout=False)
    window.raise_errors = True
    # rendered on a virtual (or the current) display but never put in front of the user
    window.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    window.resize(*size)
    try:
        window.show()
        session.load()  # a scene that cannot load raises its one-line SceneError here
        data = getattr(args, "data", None)
        inspector = window.features.get("inspector") if hasattr(window, "features") else None
        for spec in args.policy:
            if data and inspector is not None:   # checked against the data set, not the scene
                inspector.open_policy(spec, data=data)
            else:
                window.open_policy(spec)
        window.open_paths(args.recording)
        _prepare_view(window, args)
        app = QtWidgets.QApplication.instance()
        for _ in range(5):  # let layouts settle and GL initialise
            app.processEvents()
        window.camera_view.render_now()
        app.processEvents()
        if (window.width(), window.height()) != tuple(size):
            # the docks' minimum sizes win over --size; say so rather than silently differ
            print(f"planscope: note: the window needs {window.width()}x{window.height()} pixels "
                  f"for its panels; the image has that size", file=sys.stderr)
        return grab_window(window)
    finally:
        window.session.close()
        window.close()
        window.deleteLater()


def _prepare_view(window, args: argparse.Namespace) -> None:
    """Switch to workspace `args.view` and let its feature prepare the screen (scene: nothing)."""
    view = args.view
    if view in (None, "", "scene"):
        return
    feature = window.available_features.get(view)
    if feature is None:
        known = ["scene", *sorted(window.available_features)]
        raise UserFacingError(f"--view {view!r}: no such view; available: {', '.join(known)}")
    window.set_workspace(view)
    if feature.prepare_snapshot is not None:
        feature.prepare_snapshot(window, args)
