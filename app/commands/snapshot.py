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
    p.add_argument("--out", required=True, help="PNG file to write (its folder must exist)")
    p.add_argument("--force", action="store_true", help="replace an existing PNG")
    p.add_argument("--size", default=f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}", help="WxH pixels")
    p.add_argument("--view", default="scene",
                   help="scene (default) or a workspace: inspector, review, evaluation, scan")
    p.add_argument("--scene", default="mug_grasp", help="scene name (default mug_grasp)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VAL",
                   help="scene option, e.g. rows=2 for obstacle_reach")
    p.add_argument("--seed", type=int, default=0, help="scene reset seed")
    p.add_argument("--asset-root", default=None,
                   help="folder holding the scene's URDF assets (default: pybullet_data)")
    p.add_argument("--policy", action="append", default=[],
                   help="policy to load: a planscope or LeRobot pretrained_model folder, a diffusion_policy .ckpt, or module:attr")
    p.add_argument("--recording", action="append", default=[], help="recording (.h5) to open")
    p.add_argument("--scan", default=None, metavar="SCAN.h5",
                   help="scan file to open (with --view scan)")
    p.add_argument("--data", default=None, metavar="DS",
                   help="data set (LeRobot v3 folder, zarr buffer or .h5) to browse (--view review) "
                        "or to inspect at --episode/--frame (--view inspector, or a --policy; "
                        "without --policy: the shipped diffusion checkpoint)")
    p.add_argument("--rollout", type=int, default=None, metavar="N",
                   help="with --view review --recording F: show rollout id N (default: the "
                        "hardest failure)")
    p.add_argument("--step", type=int, default=None, metavar="K",
                   help="with --rollout: the control step to show (default: where it failed)")
    p.add_argument("--episode", type=int, default=0, metavar="E", help="with --data: the episode (default 0)")
    p.add_argument("--frame", type=int, default=0, metavar="F", help="with --data: the frame (default 0)")
    p.set_defaults(func=run)


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserFacingError(f"--size {text!r}: expected WxH, e.g. 1600x960") from None
    if not (200 <= w <= 8192 and 200 <= h <= 8192):
        raise UserFacingError(f"--size {text!r}: width and height must be 200..8192 pixels")
    return w, h


def _check_recording_path(path: str, flag: str = "--recording") -> None:
    """--recording / --data take a recording file or a data set folder; anything else is one
    line here, not a confusing message from whichever workspace a folder would be routed to."""
    if not os.path.exists(path):
        raise UserFacingError(f"{flag} {path}: no such file or folder")
    marker = ("meta/info.json", "zarr.json", ".zgroup")
    if os.path.isdir(path) and not any(os.path.isfile(os.path.join(path, m)) for m in marker):
        raise UserFacingError(f"{flag} {path}: is a folder, not a recording (.h5) or a data "
                              f"set folder (LeRobot meta/info.json, zarr); a checkpoint folder "
                              f"goes to --policy")


def run(args: argparse.Namespace) -> int:
    size = parse_size(args.size)
    from app.commands.output import check_out
    out = check_out(args.out, suffixes=(".png",), force=args.force)
    for path in args.recording:
        _check_recording_path(path)
    if args.data:
        _check_recording_path(args.data, "--data")    # it said "--recording" for a bad --data
    if (args.rollout is not None or args.step is not None) and not args.recording:
        raise UserFacingError("--rollout/--step need --recording FILE.h5 (and --view review)")
    if args.rollout is not None and args.view == "scene":
        args.view = "review"
    if args.data and args.view == "scene":
        args.view = "review"           # a data set is browsed in the review workspace
    # a snapshot must not depend on (or change) the user's saved layout
    os.environ.setdefault("PLANSCOPE_SETTINGS_DIR", tempfile.mkdtemp(prefix="planscope-snap-"))

    from app.qt.shell.qt_app import qt_application
    from app.qt.snapshot import render_window

    with qt_application(virtual_display=True):
        image = render_window(args, size)
        tmp = f"{out}.{os.getpid()}.tmp.png"   # atomic: a failed save leaves no half PNG
        if not image.save(tmp, "PNG"):
            if os.path.exists(tmp):
                os.remove(tmp)
            raise UserFacingError(f"--out {args.out}: could not write the PNG")
        os.replace(tmp, out)
    print(out)
    return 0
