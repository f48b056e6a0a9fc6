"""`planscope snapshot --out FILE.png [--size WxH] [--view NAME] ...`: render the window headless.

Builds the main window on a virtual display (started here when DISPLAY is unset), loads the scene,
lets the chosen workspace prepare itself (`prepare_snapshot(window, args)` in
app/<view>_workspace.py), and writes a PNG of the whole window. The GL scene view is rendered
off-screen and composed into the window image, so it is never a black rectangle.
Errors (bad scene assets, a missing policy, an unknown view) end in one line and exit code 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

from recordings.errors import UserFacingError

DEFAULT_SIZE = (1600, 960)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("snapshot", help="render the window headless to a PNG (docs, tests)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--size", default=f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}", help="WxH pixels")
    p.add_argument("--view", default="scene",
                   help="scene (default) or a workspace: inspector, review, evaluation")
    p.add_argument("--scene", default="mug_grasp", help="scene name (default mug_grasp)")
    p.add_argument("--seed", type=int, default=0, help="scene reset seed")
    p.add_argument("--asset-root", default=None,
                   help="folder holding the scene's URDF assets (default: pybullet_data)")
    p.add_argument("--policy", action="append", default=[], help="policy to load (DIR|module:attr)")
    p.add_argument("--recording", action="append", default=[], help="recording (.h5) to open")
    p.set_defaults(func=run)


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserFacingError(f"--size {text!r}: expected WxH, e.g. 1600x960") from None
    if not (200 <= w <= 8192 and 200 <= h <= 8192):
        raise UserFacingError(f"--size {text!r}: width and height must be 200..8192 pixels")
    return w, h


def run(args: argparse.Namespace) -> int:
    size = parse_size(args.size)
    out = os.path.abspath(args.out)
    if not os.path.isdir(os.path.dirname(out)):
        raise UserFacingError(f"--out {args.out}: folder {os.path.dirname(out)} does not exist")
    if not out.lower().endswith(".png"):
        raise UserFacingError(f"--out {args.out}: must be a .png file")
    # a snapshot must not depend on (or change) the user's saved layout
    os.environ.setdefault("PLANSCOPE_SETTINGS_DIR", tempfile.mkdtemp(prefix="planscope-snap-"))

    from app.qt_app import ensure_display, ensure_qapp
    display = ensure_display()
    try:
        ensure_qapp()
        image = render_window(args, size)
        if not image.save(out, "PNG"):
            raise UserFacingError(f"--out {args.out}: could not write the PNG")
    finally:
        if display is not None:
            # Qt must let go of the X connection before the virtual display goes away
            from PySide6 import QtWidgets
            if QtWidgets.QApplication.instance() is not None:
                QtWidgets.QApplication.instance().shutdown()
            display.stop()
    print(out)
    return 0


def render_window(args: argparse.Namespace, size: tuple[int, int]):
    """Build, prepare and render the main window -> QImage of `size` pixels."""
    from PySide6 import QtCore, QtWidgets

    from app.main_window import WORKSPACES, MainWindow
    from app.state.scene_session import SceneSession, default_scene_factory

    factory = default_scene_factory
    if args.asset_root:
        from scenes import make_scene  # lazy: pybullet

        def factory(name: str):
            return make_scene(name, asset_root=args.asset_root)

    session = SceneSession(args.scene, seed=args.seed, factory=factory)
    window = MainWindow(session, restore_layout=False)
    window.raise_errors = True
    # rendered on a virtual (or the current) display but never put in front of the user
    window.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    window.resize(*size)
    try:
        window.show()
        session.load()  # a scene that cannot load raises its one-line SceneError here
        for spec in args.policy:
            window.open_policy(spec)
        window.open_paths(args.recording)
        _prepare_view(window, args, WORKSPACES)
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


def _prepare_view(window, args: argparse.Namespace, workspaces: dict[str, str]) -> None:
    import importlib

    view = args.view
    if view in (None, "", "scene"):
        return
    module_name = f"app.{view}_workspace"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        known = ["scene", *sorted(window.features)]
        raise UserFacingError(f"--view {view!r}: no such view; available: {', '.join(known)}") from None
    if view in workspaces:
        window.set_workspace(view)
    hook = getattr(module, "prepare_snapshot", None)
    if hook is not None:
        hook(window, args)


def grab_window(window):
    """QImage of the whole window with every GL view's own rendering painted in place."""
    from PySide6 import QtGui

    from app.scene_view import gl_views

    pixmap = window.grab()
    painter = QtGui.QPainter(pixmap)
    try:
        for view in gl_views(window):
            if not view.isVisible() or view.width() < 2 or view.height() < 2:
                continue
            frame = view.grabFramebuffer()
            top_left = view.mapTo(window, view.rect().topLeft())
            painter.drawImage(QtCore_rect(top_left, view.size()), frame)
    finally:
        painter.end()
    return pixmap.toImage()


def QtCore_rect(top_left, size):  # noqa: N802 (tiny helper keeps QtCore import lazy)
    from PySide6 import QtCore
    return QtCore.QRect(top_left, size)
