"""`planscope demo [--present] [--export DIR]`: the app on mug_grasp with the shipped policies, the
demo recording and a guided tour.

The window opens on the first card at once; the demo recording (a small closed-loop evaluation
of both shipped policies) is made in the background on the first run, with a progress bar, and
cached in the user data directory, so later runs start in seconds.

  --present                  presentation mode (full screen, large fonts, developer panels
                             hidden; F11 toggles it in the app)
  --export DIR               headless: write every card as a PNG and the tour as an MP4, then exit
  --exit-after-first-card    print the seconds from process start to the first card (and to the
                             recording being ready, on a first run), then exit: the start-up figure
"""
from __future__ import annotations

import argparse
import os
import tempfile

from recordings.errors import UserFacingError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo", help="the app on the built-in scene, policies and recording, with a guided tour",
        description="The app on mug_grasp with the shipped diffusion policy and regression "
                    "baseline, the demo recording, and a guided tour of six cards.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--present", action="store_true",
                   help="start in presentation mode (F11 toggles it)")
    p.add_argument("--theme", choices=("dark", "light"), default="dark",
                   help="presentation theme (default dark)")
    p.add_argument("--card", type=int, default=1, help="start the tour at card N (1-6)")
    p.add_argument("--export", metavar="DIR", default=None,
                   help="render every card as PNG and the tour as MP4 into DIR, headless, then exit")
    p.add_argument("--size", default="1600x1000",
                   help="window size WxH for --export and the first window (default 1600x1000)")
    p.add_argument("--seconds-per-card", type=float, default=6.0,
                   help="video length of each card in the exported MP4 (default 6)")
    p.add_argument("--no-video", action="store_true", help="with --export: PNGs only")
    p.add_argument("--exit-after-first-card", action="store_true",
                   help="print start-up timings (first card; recording on a first run) and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.commands.snapshot import parse_size

    size = parse_size(args.size)
    if not 1 <= args.card <= 6:
        raise UserFacingError(f"--card {args.card}: the tour has cards 1 to 6")
    if args.seconds_per_card <= 0:
        raise UserFacingError("--seconds-per-card must be > 0")
    headless = bool(args.export) or args.exit_after_first_card
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if not headless and not has_display:
        raise UserFacingError("no display to open the demo on (DISPLAY is unset); run `make demo` "
                              "(it uses xvfb-run), or export the tour headless with "
                              "`planscope demo --export DIR`")
    from app.core.demo.data import check_checkpoints
    check_checkpoints()
    # One torch thread: the demo samples on the GUI's worker thread while the recording's
    # evaluation workers and the GL views use the other core; two intra-op threads on a busy
    # 2-core machine thrash (measured: 42 s vs 19 s to the first card under load). Set before
    # torch is imported; a user's own OMP_NUM_THREADS wins.
    os.environ.setdefault("OMP_NUM_THREADS", "1")   # one clear line before any window when a checkpoint is missing
    if headless:
        # a headless run must not depend on (or change) the user's saved layout
        os.environ.setdefault("PLANSCOPE_SETTINGS_DIR", tempfile.mkdtemp(prefix="planscope-demo-"))

    from app.qt.demo import launch
    from app.qt.shell.qt_app import qt_application

    with qt_application(virtual_display=headless):
        if args.export:
            return launch.export_demo(args.export, size, present=args.present, theme=args.theme,
                                      seconds_per_card=args.seconds_per_card,
                                      video=not args.no_video)
        return launch.run_demo(size, present=args.present, theme=args.theme, card=args.card,
                               exit_after_first_card=args.exit_after_first_card)
