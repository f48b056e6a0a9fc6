"""Run the demo (`planscope demo`, app/commands/demo.py parses its arguments): the window on the
tour, its start-up timings (--exit-after-first-card), or the headless export of every card.
"""
from __future__ import annotations

import sys
import time

from PySide6 import QtCore, QtWidgets

from app.qt.demo.session import DemoSession
from app.qt.demo.tour_export import export_tour
from app.qt.shell.qt_app import exec_until_interrupted
from app.qt.shell.startup import mark, phases, process_start_time

STARTUP_TIMEOUT_S = 600.0   # --exit-after-first-card gives up (exit 1) after this long


def run_demo(size: tuple[int, int], *, present: bool, theme: str, card: int,
             exit_after_first_card: bool) -> int:
    """Show the demo window on tour card `card` (1-based) and run the event loop. With
    exit_after_first_card: print the start-up timings once the first card is ready (and the
    recording, on a first run) and exit (1 when start-up failed)."""
    mark("interpreter, Qt and demo modules imported")
    app = QtWidgets.QApplication.instance()
    demo = DemoSession.create(size=size, present=present, theme=theme,
                              headless=exit_after_first_card)
    if exit_after_first_card:
        started = process_start_time()
        timings: dict[str, float] = {}

        def check() -> None:
            now = time.time() - started
            if "first_card_shown_s" not in timings and demo.tour.card.isVisible():
                timings["first_card_shown_s"] = now
                mark("first card shown")
            if "policies_loaded_s" not in timings and demo.inspector.has_demo_policies():
                timings["policies_loaded_s"] = now
                mark("both policies loaded (torch imported)")
            if "first_card_ready_s" not in timings and demo.is_settled(demo.tour.model.current.key):
                timings["first_card_ready_s"] = now
                mark("first card ready (sampled, analysed, drawn)")
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
    demo.start(card - 1)
    code = exec_until_interrupted(app)
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
    print_phases(phases())
    if problem:
        print(f"demo start-up FAILED: {problem}", file=sys.stderr)
    sys.stdout.flush()


def print_phases(marks: list[dict]) -> None:
    """One line per start-up phase (app/qt/shell/startup.py marks): `phase: NAME | wall at end,
    its own wall, process CPU, GUI-thread CPU` (app/bench/demo.py reads them)."""
    previous = {"wall_s": 0.0, "cpu_s": 0.0, "thread_cpu_s": 0.0}
    for m in marks:
        print(f"phase: {m['phase']:44s} | at {m['wall_s']:6.2f} s | own {m['wall_s'] - previous['wall_s']:6.2f} s"
              f" | CPU {m['cpu_s'] - previous['cpu_s']:6.2f} s | GUI CPU "
              f"{m['thread_cpu_s'] - previous['thread_cpu_s']:6.2f} s")
        previous = m


def export_demo(folder: str, size: tuple[int, int], *, present: bool, theme: str,
                seconds_per_card: float, video: bool) -> int:
    """Headless: every card as a PNG and the tour as an MP4 into `folder` (app/qt/demo/tour_export.py)."""
    demo = DemoSession.create(size=size, present=present, theme=theme, headless=True)
    try:
        demo.wait_for_recording(progress_to=sys.stderr)

        def progress(k: int, total: int, key: str) -> None:
            print(f"[{k}/{total}] card {key}", file=sys.stderr, flush=True)

        result = export_tour(demo.window, folder, size=size, seconds_per_card=seconds_per_card,
                             video=video, progress=progress)
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
