"""DemoSession: the demo window, its recording, presentation mode and tour, wired together.

    demo = DemoSession.create(size=(1600, 1000), present=False)
    demo.start(0)            # first card

The window is the ordinary MainWindow on mug_grasp (so everything the tour shows stays usable
when the user leaves it), with three additions: presentation mode (F11), a "Teaching probe"
dock, and the tour. The demo keeps its layout in its own settings file so it never changes the
user's everyday layout.

The demo recording is made in the background on the first run (progress bar in the status bar)
while the first cards, which need only the policies, are already being shown; the recording
cards wait for it.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from app.core.demo import data as demo_data
from app.qt.demo.drivers import InspectorDriver
from app.qt.demo.presentation import PresentationMode
from app.qt.demo.probe_view import ProbeView, compute_probe_trace
from app.qt.demo.review_driver import ReviewDriver
from app.qt.demo.tour_cards import CARD_DOCKS, CARD_SETUPS, DEMO_SCENE_SEED, PROBE_DOCK
from app.qt.demo.tour_view import Tour

log = logging.getLogger(__name__)
RECORDING_DELAY_MS = 45000   # start the first-run recording at the latest this long after start
AFTER_READY_DELAY_MS = 300   # the first card's plans are painted before the deferred work starts
FIRST_READY_FALLBACK_MS = 60000   # ... which starts anyway this long after start


class DemoSession(QtCore.QObject):
    recording_ready = QtCore.Signal(str)
    recording_failed = QtCore.Signal(str)

    def __init__(self, window, *, theme: str = "dark", headless: bool = False,
                 recipe: demo_data.DemoRecipe = demo_data.DemoRecipe()) -> None:
        super().__init__(window)
        from app.qt.plots import plan_curve
        # Card 1 draws no 2-D plan view: numba's warm-up (its first timer fires 3 s after the
        # first plan view was made) waits until the card is ready (_after_ready)
        plan_curve.hold_warm_up()
        self._ready_done = False
        self.window = window
        self.headless = headless
        self.recipe = recipe
        window.demo = self
        self.recording_path: Path | None = demo_data.cached_recording(recipe)
        self.recording_made_this_run = False
        self.recording_error = ""
        self._recording_progress = (0, 0, "")
        self._runner = None
        self._shut_down = False
        self.presentation = PresentationMode(window, theme=theme, full_screen=not headless)
        self.presentation.before_enter = self.install_other_workspaces
        self._take_f11_from_full_screen()
        self.probe_view = ProbeView()
        self.probe_dock = window.add_dock(PROBE_DOCK, "Teaching probe", self.probe_view,
                                          QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.probe_dock.hide()
        self.probe_dock.visibilityChanged.connect(self._on_probe_visibility)
        self.inspector = InspectorDriver(window)
        self.review = ReviewDriver(window, self)
        self._build_progress_bar()
        window.workspaceChanged.connect(self._inspector_overlay_follows_workspace)
        self.tour = Tour(window, CARD_SETUPS)
        self.tour.card_shown.connect(self._after_card)
        self.tour.model.events.left.connect(self._on_tour_left)
        self.presentation.toggled.connect(self._on_presentation)
        self._watch_first_ready()

    # ---- construction -----------------------------------------------------------------------
    @classmethod
    def create(cls, *, size: tuple[int, int] = (1600, 1000), present: bool = False,
               theme: str = "dark", headless: bool = False,
               recipe: demo_data.DemoRecipe = demo_data.DemoRecipe()) -> "DemoSession":
        """Build and show the demo window (the scene loads right after it is shown)."""
        from app.core.scene_session import SceneSession
        from app.qt import registry
        from app.qt.shell.startup import mark

        # The demo's layout lives beside its recording, never in the user's everyday settings.
        os.environ.setdefault("PLANSCOPE_SETTINGS_DIR", str(demo_data.data_dir() / "settings"))
        # Only the inspector (cards 1-3) is built before the first card; review, scan and
        # evaluation follow once it is ready (or at the first switch to them, or presentation
        # mode): built first they cost the first card ~0.4 s of the GUI thread and, while the
        # worker imports torch, diffusers and scikit-learn, its GIL.
        window = registry.main_window(SceneSession(demo_data.DEMO_SCENE, seed=DEMO_SCENE_SEED),
                                      restore_layout=False, defer_features=True)
        mark("window built (inspector)")
        if headless:
            window.raise_errors = True
            window.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        window.resize(*size)
        demo = cls(window, theme=theme, headless=headless, recipe=recipe)
        demo.inspector.preload()
        mark("demo session built, policy loads submitted")
        window.show()
        mark("window shown")
        window.load_scene()
        mark("scene loaded")
        if present:
            demo.presentation.set_active(True)
        return demo

    # ---- after the first card is ready -------------------------------------------------------
    def _watch_first_ready(self) -> None:
        """Once the inspector's first sampling is in (or after FIRST_READY_FALLBACK_MS, should
        it never come), do what the first card did not need: _after_ready."""
        ws = self.window.features.get("inspector")
        if ws is not None:
            ws.state.events.sampling.connect(self._maybe_ready)
            ws.state.events.batch.connect(self._maybe_ready)
        fallback = QtCore.QTimer(self)
        fallback.setSingleShot(True)
        fallback.setInterval(FIRST_READY_FALLBACK_MS)
        fallback.timeout.connect(self._after_ready)
        fallback.start()
        self._ready_fallback = fallback

    def _maybe_ready(self, *_args) -> None:
        if not self._ready_done and self.inspector.sampled():
            # after the plans have been painted: the views' first paint comes first
            QtCore.QTimer.singleShot(AFTER_READY_DELAY_MS, self._after_ready)

    def _after_ready(self) -> None:
        """Install the workspaces the first card did not need (the current card keeps exactly
        its docks) and let numba's warm-up start. Once."""
        if self._ready_done or self._shut_down:
            return
        self._ready_done = True
        self._ready_fallback.stop()
        from app.qt.plots import plan_curve
        self.install_other_workspaces()
        plan_curve.release_warm_up()

    def install_other_workspaces(self) -> None:
        """Install the deferred workspaces now; a card on screen keeps exactly its docks."""
        w = self.window
        before = set(w.features)
        w.install_pending_features()     # shows the current workspace's docks again
        if set(w.features) == before:
            return
        if self.tour.model.active:
            key = self.tour.model.current.key
            self.focus_docks(CARD_DOCKS[key])
            if key == "probe":
                w.scene_view.hide()
            if self.presentation.active:
                self.presentation.hide_developer_docks()
            self.tour.place_card()
        elif self.presentation.active:
            self.presentation.hide_developer_docks()

    def _take_f11_from_full_screen(self) -> None:
        # The shell binds F11 to plain full screen; in the demo F11 is presentation mode (which
        # includes full screen), and two actions on one key would make Qt fire neither.
        action = getattr(self.window, "fullscreen_action", None)
        if action is not None:
            action.setShortcut("")

    def _build_progress_bar(self) -> None:
        self.progress_label = QtWidgets.QLabel("")
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setMaximumWidth(260)
        self.progress_bar.setTextVisible(True)
        bar = self.window.statusBar()
        bar.addWidget(self.progress_label)
        bar.addWidget(self.progress_bar)
        self.progress_label.hide()
        self.progress_bar.hide()

    def _after_card(self, _key: str) -> None:
        if self.presentation.active:
            self.presentation.hide_developer_docks()
            self.tour.place_card()

    def _on_presentation(self, on: bool) -> None:
        self.tour.card.restyle()
        QtCore.QTimer.singleShot(0, self.tour, self.tour.place_card)   # dropped with the window
        self.probe_view.set_line_width(2.5 * (self.presentation.line_factor if on else 1.0))
        import pyqtgraph as pg

        from app.qt.demo.presentation import THEMES
        self.probe_view.set_foreground(THEMES[self.presentation.theme]["plot_fg"] if on
                                       else pg.getConfigOption("foreground"))

    # ---- the tour ---------------------------------------------------------------------------
    def start(self, index: int = 0) -> None:
        """Show card `index` once the window is up; make the recording if it is missing.

        On a first run the recording starts after the first inspector card has sampled (or
        after RECORDING_DELAY_MS): the two would otherwise fight over the 2 cores, and the
        first import of torch/diffusers must not happen in two threads at once."""
        QtCore.QTimer.singleShot(0, self.tour, lambda: self.tour.start(index))
        if self.recording_path is not None:
            return
        if self.tour.model.cards[index].workspace != "inspector":
            self.make_recording()
            return
        fallback = QtCore.QTimer(self)
        fallback.setSingleShot(True)
        fallback.setInterval(RECORDING_DELAY_MS)

        def maybe_start(*_args) -> None:
            if self._runner is None and (self.inspector.sampled() or not fallback.isActive()):
                fallback.stop()
                self.make_recording()
        fallback.timeout.connect(maybe_start)
        fallback.start()
        ws = self.window.features.get("inspector")
        if ws is not None:
            ws.state.events.batch.connect(maybe_start)

    def is_settled(self, key: str) -> bool:
        """True once card `key`'s views have finished setting up (sampled, opened, playing)."""
        if key in ("problem", "chain", "modes"):
            return self.inspector.settled(key)
        if key in ("rollout", "review"):
            return self.review.settled(key)
        if key == "probe":
            return self.probe_view.trace is not None
        return True

    def still(self, key: str):
        """Put card `key` in its most telling frame for a still picture (export's PNG);
        returns a function that puts the animation back, or None when nothing changed."""
        if key != "probe" or self.probe_view.trace is None:
            return None
        self.probe_view.pause()
        self.probe_view.set_step(self.probe_view.num_story_steps - 1)   # denoised, at the goal

        def restore() -> None:
            self.probe_view.set_step(0)
            self.probe_view.play()
        return restore

    # Cards that animate get longer in the exported video: the chain plays its 12 steps and
    # rests, the probe walks its 11-step story once.
    VIDEO_SECONDS_FACTOR = {"chain": 1.5, "probe": 1.4, "rollout": 1.5}

    def video_seconds(self, key: str, default: float) -> float:
        return default * self.VIDEO_SECONDS_FACTOR.get(key, 1.0)

    def startup_problem(self) -> str:
        """Why the demo cannot get going ("" when all is well): a card setup that failed, the
        inspector's last error, or the recording that could not be made."""
        if self.recording_error:
            return f"demo recording: {self.recording_error}"
        if self.tour.last_error:
            key, message = next(iter(self.tour.last_error.items()))
            return f"card {key}: {message}"
        ws = self.window.features.get("inspector")
        error = getattr(getattr(ws, "controller", None), "last_error", "")
        return f"inspector: {error}" if error else ""

    def shutdown(self) -> None:
        """Stop background work and destroy the window (before the app quits; once)."""
        if self._shut_down:
            return
        self._shut_down = True
        if not self._ready_done:         # the warm-up hold ends with the session
            self._ready_done = True
            from app.qt.plots import plan_curve
            plan_curve.release_warm_up()
        if self._runner is not None:
            self._runner.shutdown(timeout_ms=2000)
            self._runner = None
        self.inspector.shutdown()
        self.probe_view.pause()
        # closing the window stops the workspaces' worker threads and the scene
        self.window.close()
        # Destroy the window now, while Python is fully alive: left to PySide's cleanup at
        # interpreter exit, its destructor runs Python event filters (the tour's, the
        # inspector's) on half-destroyed objects and the process dies with SIGSEGV.
        self.tour.detach()
        overlay = getattr(self.window.features.get("inspector"), "overlay", None)
        if overlay is not None:
            overlay.detach()   # its deferred redraw must not reach the deleted scene view
        for feature in self.window.features.values():
            if isinstance(feature, QtCore.QObject):
                self.window.removeEventFilter(feature)
        self.window.deleteLater()
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.DeferredDelete)

    # ---- central area: scene or probe ------------------------------------------------------
    def show_scene(self) -> None:
        """The 3-D scene in the middle (cards 1-5)."""
        self.probe_view.pause()
        self.probe_dock.hide()
        self.window.scene_view.show()

    def _inspector_overlay_follows_workspace(self, name: str) -> None:
        # The inspector's plans, baseline and collision marks are drawn in the shared scene
        # view; in review they would sit on top of the replayed rollout (and its own plans).
        ws = self.window.features.get("inspector")
        overlay = getattr(ws, "overlay", None)
        for item in getattr(overlay, "items", {}).values():
            item.setVisible(name == "inspector")

    def enter_card(self, workspace: str, docks: tuple[str, ...]) -> None:
        """Before a card's views are set up: its workspace, the scene in the middle, and only
        the card's docks, so the drivers size and frame views in their final layout."""
        w = self.window
        # The new workspace shows all its docks for a moment: their summed minimum widths
        # push the window wider (measured: 1280 -> 2208 px, off the screen); once only the
        # card's docks are left, the window gets its size back.
        full = w.windowState() & (QtCore.Qt.WindowFullScreen | QtCore.Qt.WindowMaximized)
        size = w.size()
        if w.workspace != workspace:
            w.set_workspace(workspace)
        self.show_scene()
        self.focus_docks(docks)
        if not full and w.size() != size:
            w.layout().activate()      # forget the hidden docks' minimum sizes, then shrink
            w.resize(size)

    def focus_docks(self, keys: tuple[str, ...]) -> None:
        """Show exactly the docks `keys` (a card's views); hide the others for now."""
        for key, dock in self.window.docks.items():
            if key in keys:
                dock.show()
                dock.raise_()
            elif dock.isVisible():
                dock.hide()

    def _on_tour_left(self) -> None:
        # Leaving the tour: the workspace's docks come back so the user has every tool.
        self.inspector.stop()
        probe = self.probe_dock.isVisible()
        self.window.scene_view.show()
        self.window.set_workspace(self.window.workspace)
        if probe:
            self.probe_dock.show()
        if self.presentation.active:
            self.presentation.hide_developer_docks()

    def show_probe(self) -> None:
        """Card 6: the probe takes the whole window; the other docks step aside."""
        if self.probe_view.trace is None:
            self.probe_view.set_trace(compute_probe_trace())
        self.focus_docks((PROBE_DOCK,))
        self.window.scene_view.hide()   # a hidden central widget gives its space to the docks
        self.probe_dock.show()
        self.probe_dock.raise_()
        self.probe_view.set_step(0)
        self.probe_view.play()

    def _on_probe_visibility(self, visible: bool) -> None:
        # closing the probe dock by hand must never leave an empty window
        if not visible and not self.window.scene_view.isVisible():
            self.window.scene_view.show()
            self.probe_view.pause()

    # ---- the demo recording -----------------------------------------------------------------
    def make_recording(self) -> None:
        """Make the demo recording off the GUI thread, with a progress bar in the status bar."""
        from app.qt.shell.workers import JobRunner

        if self._runner is not None:
            return
        self._runner = JobRunner(self)
        self.recording_made_this_run = True
        self._recording_started = time.perf_counter()
        self.progress_label.setText("Making the demo recording (first run only):")
        self.progress_label.show()
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()

        def job(handle):
            return demo_data.make_demo_recording(
                self.recipe, progress=lambda done, total, text: handle.progress((done, total, text)))

        self._runner.submit(job, on_done=self._recording_done, on_error=self._recording_failed,
                            on_progress=self._recording_progressed, name="demo recording")

    def _recording_progressed(self, payload) -> None:
        done, total, text = payload
        self._recording_progress = payload
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)
        self.progress_bar.setFormat("%v / %m rollouts")
        self.progress_label.setText(f"Making the demo recording (first run only): {text}")

    def _recording_done(self, path) -> None:
        self.recording_path = Path(path)
        seconds = time.perf_counter() - self._recording_started
        self.progress_label.hide()
        self.progress_bar.hide()
        self.window.status(f"demo recording ready in {seconds:.0f} s: {path}", 10000)
        self.recording_ready.emit(str(path))

    def _recording_failed(self, exc: BaseException, text: str) -> None:
        self.recording_error = str(exc) or type(exc).__name__
        self.progress_label.setText(f"The demo recording could not be made: {self.recording_error}")
        self.progress_bar.hide()
        log.error("demo recording failed:\n%s", text)
        self.recording_failed.emit(self.recording_error)

    def wait_for_recording(self, timeout_s: float = 600.0, progress_to=None) -> Path:
        """Block (running the event loop) until the recording exists; raises on failure."""
        from app.qt.demo.tour_export import wait_until

        if self.recording_path is None and self._runner is None:
            self.make_recording()
        last = [None]

        def ready() -> bool:
            if progress_to is not None and self._recording_progress != last[0]:
                last[0] = self._recording_progress
                done, total, text = self._recording_progress
                if total:
                    print(f"demo recording [{done}/{total}] {text}", file=progress_to, flush=True)
            return self.recording_path is not None or bool(self.recording_error)

        if not wait_until(ready, timeout_s):
            raise demo_data.DemoDataError(f"the demo recording was not ready after {timeout_s:.0f} s")
        if self.recording_error:
            raise demo_data.DemoDataError(f"the demo recording could not be made: "
                                          f"{self.recording_error}")
        return self.recording_path
