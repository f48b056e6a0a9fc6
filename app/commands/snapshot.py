"""`planscope snapshot --out FILE.png [--size WxH] [--view NAME] ...`: render the window headless.

Builds the main window on a virtual display (started here when DISPLAY is unset), loads the scene,
lets the chosen workspace prepare itself (its Feature's `prepare_snapshot(window, args)`,
app/qt/registry.py), and writes a PNG of the whole window. The GL scene view is rendered
off-screen and composed into the window image, so it is never a black rectangle.
Errors (bad scene assets, a missing policy, an unknown view) end in one line and exit code 2.
"""
from __future__ import annotations

import argparse
import os
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
    p.add_argument("--option", action="append", default=[], metavar="KEY=VAL",
                   help="scene option, e.g. rows=2 for obstacle_reach")
    p.add_argument("--seed", type=int, default=0, help="scene reset seed")
    p.add_argument("--asset-root", default=None,
                   help="folder holding the scene's URDF assets (default: pybullet_data)")
    p.add_argument("--policy", action="append", default=[], help="policy to load (DIR|module:attr)")
    p.add_argument("--recording", action="append", default=[], help="recording (.h5) to open")
    p.add_argument("--scan", default=None, metavar="SCAN.h5",
                   help="scan file to open (with --view scan)")
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

    from app.qt.shell.qt_app import qt_application
    from app.qt.snapshot import render_window

    with qt_application(virtual_display=True):
        image = render_window(args, size)
        if not image.save(out, "PNG"):
            raise UserFacingError(f"--out {args.out}: could not write the PNG")
    print(out)
    return 0
