"""`planscope review FILE.h5 [FILE2.h5]`: open the app in the review workspace on recordings.

With two files (e.g. the same seeds evaluated under two policies) the browser lists both and the
Compare panel pairs each rollout with the same seed in the other file. Files are checked before
the window opens, so a missing, corrupt or unknown-schema file ends in one line and exit code 2.
"""
from __future__ import annotations

import argparse
import os


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("review", help="browse, scrub and tag recorded rollouts",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", metavar="FILE.h5", help="one or two recordings")
    p.add_argument("--scene", default=None,
                   help="scene to replay into (default: the recording's own scene)")
    p.set_defaults(func=run)


def check_files(files: list[str]) -> list[str]:
    """Absolute paths of readable recordings; RecordingError (one line) for the first bad one."""
    from recordings.errors import UserFacingError
    from recordings.reader import RecordingReader
    if len(files) > 2:
        raise UserFacingError(f"review takes one or two recordings, got {len(files)}")
    paths = []
    for name in files:
        path = os.path.abspath(os.path.expanduser(name))
        with RecordingReader(path):   # lazy: header and summary only
            pass
        paths.append(path)
    return paths


def run(args: argparse.Namespace) -> int:
    from recordings.errors import UserFacingError
    paths = check_files(args.files)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise UserFacingError("no display to open a window on (DISPLAY is unset); run under "
                              "xvfb-run, or render headless with `planscope snapshot --view review "
                              f"--recording {args.files[0]} --out review.png`")
    from PySide6 import QtCore

    from app.main_window import MainWindow
    from app.qt_app import ensure_qapp
    from app.state.scene_session import SceneSession

    app = ensure_qapp()
    window = MainWindow(SceneSession(args.scene or _scene_of(paths[0])))
    window.set_workspace("review")
    window.show()

    def after_shown() -> None:
        window.load_scene()
        window.open_paths(paths)
        window.set_workspace("review")

    QtCore.QTimer.singleShot(0, after_shown)
    return int(app.exec())


def _scene_of(path: str) -> str:
    from recordings.reader import RecordingReader
    with RecordingReader(path) as reader:
        name = str(reader.env_args.get("env_name", "") or "")
    try:
        from scenes.registry import scene_names
        return name if name in scene_names() else "mug_grasp"
    except ImportError:
        return "mug_grasp"
