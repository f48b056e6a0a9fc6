"""The demo end to end: every card sets up its views, presentation mode, export.

One demo window is built per module (loading torch and the shipped checkpoints once); the demo
recording is a tiny real one (1 seed, both policies, 24 control steps) made with the same
`make_demo_recording` the demo runs on first start, into a temporary data folder.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from app.core.demo import data as demo_data

pytestmark = pytest.mark.skipif(
    not (demo_data.DIFFUSION_CHECKPOINT.is_dir() and demo_data.REGRESSION_CHECKPOINT.is_dir()),
    reason="shipped checkpoints missing (make checkpoints)")

TINY = demo_data.DemoRecipe(seeds=(0,), samples=4, max_steps=24)


@pytest.fixture(scope="module")
def tour_clock():
    """The module's injected clock (app/core/clock.py): review and probe playback move only when
    a test advances it, never with the wall clock."""
    from app.core.clock import ManualClock
    return ManualClock(100.0)


@pytest.fixture(scope="module")
def demo(qapp, tmp_path_factory, tour_clock):
    tmp = tmp_path_factory.mktemp("demo")
    saved = {k: os.environ.get(k) for k in (demo_data.DATA_DIR_ENV, "PLANSCOPE_SETTINGS_DIR")}
    os.environ[demo_data.DATA_DIR_ENV] = str(tmp / "data")
    os.environ["PLANSCOPE_SETTINGS_DIR"] = str(tmp / "settings")
    path = demo_data.make_demo_recording(TINY, workers=0)
    assert demo_data.cached_recording(TINY) == path
    from app.core.clock import using_clock
    from app.qt.demo.session import DemoSession
    # Review playback and the probe's story read the injectable clock (app/core/clock.py); review
    # playback stops at the end of the 24-step rollout: on the real clock, a loaded machine that
    # polled `session.playing` less often than 2.4 s missed it (make test-stress). The module's
    # views (review is installed after the first card) read this clock, which moves only when a
    # test advances it.
    with using_clock(tour_clock):
        session = DemoSession.create(size=(1280, 800), headless=True, recipe=TINY)
        yield session
        session.shutdown()             # closes and destroys the window
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _go(qtbot, demo, key: str, timeout_ms: int = 30000) -> None:
    model = demo.tour.model
    if not model.active:
        demo.tour.start(model.index_of(key))
    else:
        model.go_to(model.index_of(key))
    qtbot.waitUntil(lambda: demo.is_settled(key), timeout=timeout_ms)
    assert demo.tour.card.isVisible()
    assert demo.tour.card.title.text() == model.current.title
    assert key not in demo.tour.last_error, demo.tour.last_error.get(key)


def test_walk_every_card_sets_up_its_views(qtbot, demo, tour_clock):
    window = demo.window
    inspector = window.features["inspector"]

    _go(qtbot, demo, "problem", timeout_ms=60000)
    assert window.workspace == "inspector"
    assert inspector.state.policy.source == str(demo_data.DIFFUSION_CHECKPOINT)
    assert inspector.state.baseline.source == str(demo_data.REGRESSION_CHECKPOINT)
    assert inspector.state.result.batch.num_samples == 128
    assert inspector.state.result.batch.has_chain
    assert not inspector.state.baseline_result.batch.has_chain     # regression: one mean plan
    assert window.scene_view.isVisible()

    _go(qtbot, demo, "chain")
    assert inspector.chain_view.playing
    assert window.dock("inspector_chain").isVisible()
    # it really plays: the chain view steps once per timer tick (app/qt/inspector), so wait for
    # states, not for time: the final plans, then the card plays the chain again from the noise
    qtbot.waitUntil(lambda: inspector.state.step == inspector.state.num_steps, timeout=30000)
    qtbot.waitUntil(lambda: inspector.chain_view.playing
                    and inspector.state.step < inspector.state.num_steps, timeout=30000)

    _go(qtbot, demo, "modes")
    assert not inspector.chain_view.playing
    assert window.dock("inspector_modes").isVisible()
    assert inspector.state.result.summary is not None
    assert inspector.state.step == inspector.state.num_steps              # final plans shown

    _go(qtbot, demo, "rollout")
    assert window.workspace == "review"
    session = window.features["review"].session
    assert [r.path for r in session.recordings] == [demo.recording_path.resolve()]
    assert session.rollout is not None and session.rollout.policy == "diffusion"
    assert session.playing
    assert window.dock("review_replans").isVisible()
    _rollout_playback_advances_with_the_clock_and_stops_at_the_end(qtbot, session, tour_clock)

    _go(qtbot, demo, "review")
    assert not session.playing
    assert session.current == session.queue[0]
    assert session.tags(), "the hardest rollout shows an example failure tag"
    assert window.dock("review_queue").isVisible()

    _go(qtbot, demo, "probe")
    assert window.dock("probe").isVisible()
    assert not window.scene_view.isVisible()
    assert demo.probe_view.playing
    assert demo.probe_view.trace.reverse_dist[-1] < 0.05                  # back at the goal
    _probe_story_advances_with_the_clock_and_loops(qtbot, demo.probe_view, tour_clock)

    # back to the first card: the scene comes back, nothing is re-sampled
    batch = inspector.state.result.batch
    _go(qtbot, demo, "problem")
    assert window.scene_view.isVisible() and not window.dock("probe").isVisible()
    assert inspector.state.result.batch is batch


def _rollout_playback_advances_with_the_clock_and_stops_at_the_end(qtbot, session, clock) -> None:
    """Card 4 replays its rollout from step 0: the step follows the injected clock (10 Hz control
    x speed), never the wall clock, and playback stops on the last step."""
    from app.core.review.state import CONTROL_HZ
    assert session.step == 0 and session.num_steps > 10
    clock.advance(0.55)
    expected = int(0.55 * CONTROL_HZ * session.speed)
    assert 0 < expected < session.num_steps - 1
    # the timeline's timer only says when to read the clock: wait for the state it must reach
    qtbot.waitUntil(lambda: session.step == expected, timeout=10000)
    assert session.playing
    clock.advance(3600.0)
    qtbot.waitUntil(lambda: not session.playing, timeout=10000)
    assert session.step == session.num_steps - 1


def _probe_story_advances_with_the_clock_and_loops(qtbot, probe, clock) -> None:
    """Card 6's probe walks its 2T+1-step story one step per STEP_SECONDS of the injected clock
    and loops back to the clean line after the denoised plan."""
    from app.qt.demo.probe_view import STEP_SECONDS
    n = probe.num_story_steps
    start = probe.step
    assert start == 0 and n > 3
    clock.advance(3.5 * STEP_SECONDS)              # three whole steps and half of the fourth
    qtbot.waitUntil(lambda: probe.step == 3, timeout=10000)
    clock.advance(0.4 * STEP_SECONDS)              # still inside step 3: the view does not move
    probe.tick()
    assert probe.step == 3
    clock.advance((n - 3) * STEP_SECONDS)          # past the denoised plan: back to the start
    qtbot.waitUntil(lambda: probe.step == 0, timeout=10000)
    assert probe.playing


def test_leave_tour_keeps_the_window_working_and_resume_returns(qtbot, demo):
    _go(qtbot, demo, "modes")
    demo.tour.card.leave_button.click()
    assert not demo.tour.model.active and not demo.tour.card.isVisible()
    inspector = demo.window.features["inspector"]
    inspector.state.isolate(0)                   # the user keeps working in the views
    assert inspector.state.isolated == 0
    demo.tour.resume_action.trigger()
    assert demo.tour.card.isVisible() and demo.tour.model.current.key == "modes"
    demo.tour.card.next_button.click()
    assert demo.tour.model.current.key == "rollout"


def test_card_never_covers_the_window_centre(qtbot, demo):
    _go(qtbot, demo, "rollout")
    size = demo.window.size()
    _go(qtbot, demo, "problem")
    assert demo.window.size() == size          # switching workspace never widens the window
    # the card is placed again from deferred Resize/Show events and a singleShot once its text
    # is laid out (tour_view.place_card): wait for that state, not for time. The main window's
    # layout gives the hidden docks' room back to the scene in a later pass (the review docks,
    # installed after the first card, are not in its first layout), and the card follows it:
    # card 1 shows no dock, so the scene ends up as wide as the window.
    qtbot.waitUntil(lambda: not demo.tour._place_pending
                    and demo.window.centralWidget().width() == demo.window.width()
                    and demo.tour.card.geometry() == demo.tour.card_rect())
    rect = demo.tour.card.geometry()
    centre = demo.window.centralWidget().geometry().center()
    assert not rect.contains(centre)
    assert rect.width() <= 0.4 * demo.window.width()


def test_presentation_mode_scales_fonts_and_hides_developer_panels(qtbot, demo):
    from PySide6 import QtWidgets
    _go(qtbot, demo, "modes")
    demo.tour.model.leave()                        # the whole inspector workspace is back
    window, mode = demo.window, demo.presentation
    app = QtWidgets.QApplication.instance()
    font_before = app.font().pointSizeF()
    title_before = demo.tour.card.base_point_size
    assert window.dock("inspector_policy").isVisible()
    mode.action.trigger()                          # what F11 does
    demo.tour.model.resume()
    try:
        assert mode.active
        assert app.font().pointSizeF() == pytest.approx(font_before * mode.font_factor)
        assert demo.tour.card.base_point_size > title_before
        assert not window.dock("inspector_policy").isVisible()     # developer panel
        assert window.dock("inspector_modes").isVisible()          # what the card talks about
        assert not window.toolbar.isVisible()
        _go(qtbot, demo, "chain")                  # a card change keeps developer panels hidden
        assert not window.dock("inspector_policy").isVisible()
    finally:
        mode.action.trigger()
    assert not mode.active
    assert app.font().pointSizeF() == pytest.approx(font_before)
    assert window.dock("inspector_policy").isVisible()
    assert window.toolbar.isVisible()


def test_export_writes_every_card_png_and_the_mp4(qtbot, demo, tmp_path):
    import imageio_ffmpeg

    from app.qt.demo.tour_export import export_tour
    result = export_tour(demo.window, tmp_path, size=(480, 300), seconds_per_card=0.3, fps=5)
    names = [p.name for p in result.pngs]
    assert names == [f"card_{i + 1}_{c.key}.png" for i, c in enumerate(demo.tour.model.cards)]
    from PySide6 import QtGui
    for png in result.pngs:
        image = QtGui.QImage(str(png))
        assert (image.width(), image.height()) == (480, 300)
        # a real picture, not a blank frame: many distinct colours
        arr = np.frombuffer(image.convertToFormat(QtGui.QImage.Format_RGB888).constBits(),
                            np.uint8)
        assert len(np.unique(arr[: arr.size - arr.size % 3].reshape(-1, 3), axis=0)) > 50
    assert result.video is not None and result.video.stat().st_size > 1000
    reader = imageio_ffmpeg.read_frames(str(result.video))
    meta = next(reader)
    frames = sum(1 for _ in reader)
    assert tuple(meta["size"]) == (480, 300)
    assert frames == result.frames >= 6 * 0.3 * 5


ALL_WORKSPACES = {"inspector", "scan", "review", "evaluation"}


def test_the_first_card_waits_only_for_the_inspector_the_rest_follow_once_it_is_ready(qtbot, demo):
    from app.qt.demo.session import DemoSession
    from app.qt.demo.tour_cards import CARD_DOCKS
    from app.qt.plots import plan_curve

    holds = plan_curve.warm_up_holds()
    fresh = DemoSession.create(size=(1280, 800), headless=True, recipe=TINY)
    try:
        window = fresh.window
        assert set(window.features) == {"inspector"}       # review, scan, evaluation wait
        assert plan_curve.warm_up_holds() == holds + 1      # and so does numba's warm-up
        fresh.start(0)
        qtbot.waitUntil(lambda: fresh.is_settled("problem"), timeout=60000)
        qtbot.waitUntil(lambda: set(window.features) == ALL_WORKSPACES, timeout=10000)
        # this session's hold is gone (the module's `demo` may release its own meanwhile: <=)
        assert fresh._ready_done and plan_curve.warm_up_holds() <= holds
        # card 1 keeps exactly its docks (none: the whole window for the scene) and its card
        assert [k for k, d in window.docks.items() if d.isVisible()] == list(CARD_DOCKS["problem"])
        assert fresh.tour.card.isVisible() and window.scene_view.isVisible()
        assert window.workspace == "inspector"
    finally:
        fresh.shutdown()
    assert plan_curve.warm_up_holds() <= holds


def test_presentation_mode_first_installs_the_deferred_workspaces_then_themes_them(qtbot, demo):
    import pyqtgraph as pg

    from app.qt.demo.presentation import THEMES
    from app.qt.demo.session import DemoSession

    fresh = DemoSession.create(size=(1280, 800), headless=True, recipe=TINY, present=True)
    try:
        window = fresh.window
        assert fresh.presentation.active and set(window.features) == ALL_WORKSPACES
        # the review, scan and evaluation plots, built by that install, have the theme's
        # background like the inspector's
        later = [p for key, dock in window.docks.items() if not key.startswith("inspector")
                 for p in dock.findChildren(pg.PlotWidget)]
        background = THEMES[fresh.presentation.theme]["plot_bg"]
        assert later and {p.backgroundBrush().color().name() for p in later} == {background}
    finally:
        fresh.presentation.set_active(False)
        # the policy loads it started end before its window goes
        runner = fresh.window.features["inspector"].controller.runner
        qtbot.waitUntil(lambda: not runner.busy, timeout=120000)
        fresh.shutdown()
