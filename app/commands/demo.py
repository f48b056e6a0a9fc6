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
import sys
import tempfile
import time

from recordings.errors import UserFacingError

STARTUP_TIMEOUT_S = 600.0   # --exit-after-first-card gives up (exit 1) after this long


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
    from app.demo_data import check_checkpoints
    check_checkpoints()
    # One torch thread: the demo samples on the GUI's worker thread while the recording's
    # evaluation workers and the GL views use the other core; two intra-op threads on a busy
    # 2-core machine thrash (measured: 42 s vs 19 s to the first card under load). Set before
    # torch is imported; a user's own OMP_NUM_THREADS wins.
    os.environ.setdefault("OMP_NUM_THREADS", "1")   # one clear line before any window when a checkpoint is missing
    if headless:
        # a headless run must not depend on (or change) the user's saved layout
        os.environ.setdefault("PLANSCOPE_SETTINGS_DIR", tempfile.mkdtemp(prefix="planscope-demo-"))

    from app.qt_app import ensure_display, ensure_qapp
    display = ensure_display() if headless else None
    try:
        ensure_qapp()
        if args.export:
            return _export(args, size)
        return _interactive(args, size)
    finally:
        if display is not None:
            from PySide6 import QtWidgets
            if QtWidgets.QApplication.instance() is not None:
                QtWidgets.QApplication.instance().shutdown()
            display.stop()


def _build(args: argparse.Namespace, size: tuple[int, int], *, headless: bool):
    from app.demo_session import DemoSession
    return DemoSession.create(size=size, present=args.present, theme=args.theme, headless=headless)


def _interactive(args: argparse.Namespace, size: tuple[int, int]) -> int:
    from PySide6 import QtCore, QtWidgets

    from app.commands.open_app import _process_start_time

    app = QtWidgets.QApplication.instance()
    demo = _build(args, size, headless=args.exit_after_first_card)
    if args.exit_after_first_card:
        started = _process_start_time()
        timings: dict[str, float] = {}

        def check() -> None:
            now = time.time() - started
            if "first_card_shown_s" not in timings and demo.tour.card.isVisible():
                timings["first_card_shown_s"] = now
            if "first_card_ready_s" not in timings and demo.is_settled(demo.tour.model.current.key):
                timings["first_card_ready_s"] = now
            if "recording_ready_s" not in timings and demo.recording_path is not None:
                timings["recording_ready_s"] = now
            problem = demo.startup_problem() or (
                f"not ready after {STARTUP_TIMEOUT_S:.0f} s" if now > STARTUP_TIMEOUT_S else "")
            if problem or ("first_card_ready_s" in timings and "recording_ready_s" in timings):
                poll.stop()
                _print_timings(timings, demo, problem)
                demo.shutdown()
                app.exit(1 if problem else 0)

        poll = QtCore.QTimer()
        poll.setInterval(20)
        poll.timeout.connect(check)
        poll.start()
    demo.start(args.card - 1)
    code = int(app.exec())
    demo.shutdown()
    return code


def _print_timings(timings: dict[str, float], demo, problem: str) -> None:
    print(f"first card shown:     {timings.get('first_card_shown_s', float('nan')):6.2f} s "
          "after process start")
    print(f"first card ready:     {timings.get('first_card_ready_s', float('nan')):6.2f} s "
          "(policies loaded, plans sampled and drawn)")
    if demo.recording_made_this_run:
        print(f"demo recording ready: {timings.get('recording_ready_s', float('nan')):6.2f} s "
              f"(made this run: {demo.recording_path})")
    else:
        print(f"demo recording:       cached ({demo.recording_path})")
    if problem:
        print(f"demo start-up FAILED: {problem}", file=sys.stderr)
    sys.stdout.flush()


def _export(args: argparse.Namespace, size: tuple[int, int]) -> int:
    from app.tour_export import export_tour

    demo = _build(args, size, headless=True)
    try:
        demo.wait_for_recording(progress_to=sys.stderr)

        def progress(k: int, total: int, key: str) -> None:
            print(f"[{k}/{total}] card {key}", file=sys.stderr, flush=True)

        result = export_tour(demo.window, args.export, size=size,
                             seconds_per_card=args.seconds_per_card, video=not args.no_video,
                             progress=progress)
    finally:
        demo.shutdown()
    for png in result.pngs:
        print(png)
    if result.video is not None:
        print(result.video)
    print(f"exported {len(result.pngs)} cards"
          + (f" and {result.frames} video frames" if result.video else "")
          + f" in {result.seconds:.1f} s", file=sys.stderr)
    return 0
