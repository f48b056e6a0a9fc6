"""The review workspace: browse recorded rollouts, scrub them, go through the hardest 20, tag.

`install(window)` builds the Qt-free ReviewSession and its views and docks them in the "review"
workspace; `prepare_snapshot(window, args)` puts the screen in its most telling state for
`planscope snapshot --view review --recording F.h5`.

Drawing is rate-limited: the session's step and rollout signals only mark the frame dirty; a
16 ms single-shot timer draws the latest step once (one state row read, a few setData calls), so
dragging the timeline never queues up stale frames.
"""
from __future__ import annotations

import os
import time
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.core.review.state import ReviewSession, RolloutKey
from app.qt.review.compare_view import CompareView, on_screen
from app.qt.review.replan_view import ModePalette, ReplanPanel
from app.qt.review.replay import SceneReplay
from app.qt.review.rollout_browser import RolloutBrowser
from app.qt.review.rollout_plots import RolloutPlots
from app.qt.review.timeline_view import TimelineView
from app.qt.shell.dialogs import show_error, show_notice
from recordings.errors import RecordingError

Qt = QtCore.Qt
RECORDING_SUFFIXES = (".h5", ".hdf5", ".hdf")
TAG_POLL_MS = 1000   # a second app instance's tags appear within a second (one tiny query)


def is_recording(path: str) -> bool:
    return os.path.isfile(path) and path.lower().endswith(RECORDING_SUFFIXES)


class ReviewWorkspace(QtCore.QObject):
    """Owns the session, the views, the frame scheduler and the review keys."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.session = ReviewSession()
        self.palette = ModePalette()
        self.browser = RolloutBrowser(self.session)
        self.timeline = TimelineView(self.session)
        self.plots = RolloutPlots(self.session)
        self.replans = ReplanPanel(self.palette)
        from app.qt.review.queue_view import ReviewQueuePanel
        self.queue = ReviewQueuePanel(self.session)
        self.compare = CompareView(self.session, self.palette)
        self.replay = SceneReplay(window, self.palette)
        self.last_draw_ms = 0.0
        self.frames_drawn = 0
        self._dirty_rollout = False
        self._frame = QtCore.QTimer(self, singleShot=True, interval=16)
        self._frame.timeout.connect(self.draw)
        self.session.events.step_changed.connect(lambda _s: self._schedule())
        self.session.events.rollout_changed.connect(self._on_rollout)
        self.session.events.recordings_changed.connect(self._on_recordings)
        self._poll = QtCore.QTimer(self, interval=TAG_POLL_MS)
        self._poll.timeout.connect(self.poll)
        self._shortcuts: list[QtGui.QAction] = []
        self._stolen: list[tuple[Any, QtGui.QKeySequence]] = []
        self._file_warned: set[str] = set()
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self._camera_parked = False
        self._sized = False
        self._chunks_stale = True
        self.replans.tabs.currentChanged.connect(lambda _i: self._schedule())

    # ---- drawing
    def _schedule(self) -> None:
        if not self._frame.isActive():
            self._frame.start()

    def _on_rollout(self, data) -> None:
        self._dirty_rollout = True
        self._schedule()

    def draw(self) -> None:
        """Draw the current step everywhere (called at most once per 16 ms)."""
        t0 = time.perf_counter()
        s = self.session
        data = s.rollout
        try:
            if self._dirty_rollout:
                self._dirty_rollout = False
                rec = s.recording()
                self.replay.set_rollout(data, rec.scene_name if rec else "")
                self._chunks_stale = True
            if self._chunks_stale and self.replans.chunk_view.isVisible():
                # reads every replan of the rollout: only when its tab is on screen
                self._chunks_stale = False
                self.replans.chunk_view.set_rollout(data)
            step = s.step
            self.replay.draw(step)
            self.plots.set_cursor(step)
            self.replans.chunk_view.set_cursor(step)
            replan = None if data is None else data.replan(data.replan_index_at(step))
            self.replans.top_view.show_replan(data, replan, step)
            if on_screen(self.compare):  # a tab behind another is drawn when it is raised
                self.compare.refresh()
                other = self.compare.right.data
                self.replay.set_compare_path(None if other is None else other.ee_path)
            else:
                self.replay.set_compare_path(None)
        except RecordingError as exc:
            s.set_playing(False)
            self._file_problem(exc)
        self.last_draw_ms = (time.perf_counter() - t0) * 1000.0
        self.frames_drawn += 1

    def draw_now(self) -> None:
        self._frame.stop()
        self.draw()

    # ---- files
    def open(self, path: str) -> None:
        rec = self.session.open(path)
        self._poll.start()
        if rec.tags.notice:
            show_notice(self.window, "Review", rec.tags.notice)
        if hasattr(self.window, "set_workspace") and self.window.workspace != "review":
            self.window.set_workspace("review")
        from app.qt.shell.focus import leave_field
        leave_field()   # the window's first focus lands in a text field: keys are review's
        self.window.status(f"opened {rec.name}: {len(rec)} rollouts"
                           + ("" if rec.has_plans else " (plain robomimic file: no plans)"))

    def _on_recordings(self) -> None:
        names = ", ".join(r.name for r in self.session.recordings)
        self.window.status(f"review: {names}" if names else "review: no recording open")

    def _file_problem(self, exc: Exception) -> None:
        """A file changed or broke underneath us. A file that only grew (an evaluation still
        writing it) is reopened quietly; a replaced or truncated one is reopened with a dialog
        naming the problem; anything else is said once. Tags live in the sidecar either way."""
        stale = [(i, rec) for i, rec in enumerate(self.session.recordings)
                 if rec.stale and os.path.exists(rec.path)]
        for i, rec in stale:
            try:
                grew = self.session.reload(i)
            except RecordingError as again:
                self._warn_once(again)
                continue
            if grew:
                self.window.status(f"{rec.name} grew to {len(self.session.recordings[i])} "
                                   "rollouts; reopened (tags kept)")
            else:
                show_error(self.window, "Recording problem",
                           f"{exc} It was reopened; your tags are kept.")
        if not stale:
            self._warn_once(exc)

    def _warn_once(self, exc: Exception) -> None:
        text = str(exc)
        if text not in self._file_warned:
            self._file_warned.add(text)
            show_error(self.window, "Recording problem", exc)

    @QtCore.Slot(Qt.ApplicationState)
    def on_application_state(self, state: Qt.ApplicationState) -> None:
        """Window focus: pick up tags another instance wrote, notice replaced files."""
        if state == Qt.ApplicationActive and self.session.recordings:
            self.poll()

    def poll(self) -> None:
        """Timer and window-focus check: new tags from another instance, files replaced."""
        try:
            self.session.refresh_tags()
            self.session.check_files()
        except RecordingError as exc:
            self._file_problem(exc)
        except Exception as exc:  # noqa: BLE001  e.g. the sidecar became unreadable
            self._file_problem(exc)

    # ---- tag files and artifact
    def export_tags(self) -> None:
        from app.qt.shell.settings import in_last_folder, remember_folder
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.window, "Export tags", in_last_folder("tags.csv"), "CSV (*.csv);;JSON (*.json)")
        remember_folder(path)
        if path:
            self._guard(lambda: self.window.status(
                f"exported {self.session.export_tags(path)} tags to {path}"))

    def import_tags(self) -> None:
        from app.qt.shell.settings import last_folder, remember_folder
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Import tags", last_folder(), "Tags (*.csv *.json)")
        remember_folder(path)
        if path:
            self._guard(lambda: self.window.status(
                f"imported {self.session.import_tags(path)} tags from {path}"))

    def save_into_artifact(self) -> None:
        self._guard(lambda: self.window.status(
            f"review saved into {self.session.save_review_into_artifact()}"))

    def _guard(self, fn) -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001  one dialog; the app keeps running
            show_error(self.window, "Review", exc)

    def _park_camera(self, active: bool) -> None:
        """PyBullet's own camera rendering costs ~120 ms a frame on software GL, which would cap
        scrubbing at a few fps: the Camera dock starts hidden in review (View > Panels shows
        it) and comes back when leaving review."""
        camera = self.window.dock("camera") if hasattr(self.window, "dock") else None
        if camera is None:
            return
        if active and camera.isVisible():
            self._camera_parked = True
            camera.hide()
        elif not active and self._camera_parked:
            self._camera_parked = False
            camera.show()

    def size_docks(self) -> None:
        """Default proportions (the 3-D view keeps the middle); saved layouts override them."""
        d, w = self.docks, self.window
        width, height = max(w.width(), 1000), max(w.height(), 700)
        w.resizeDocks([d["browser"], d["queue"]], [int(width * 0.26), int(width * 0.28)],
                      Qt.Horizontal)
        w.resizeDocks([d["timeline"], d["plots"]], [76, int(height * 0.24)], Qt.Vertical)
        w.resizeDocks([d["browser"], d["replans"]], [int(height * 0.42), int(height * 0.5)],
                      Qt.Vertical)
        self.queue.fit_rows()

    # ---- keys
    def install_keys(self) -> None:
        """Review keys as window actions (so Help > Keyboard shortcuts lists them), enabled only
        while the review workspace is shown."""
        s, t = self.session, self.timeline
        keys = [("Space", "Review: play / pause", s.toggle_playing),
                ("Left", "Review: previous step", lambda: s.step_by(-1)),
                ("Right", "Review: next step", lambda: s.step_by(1)),
                ("Shift+Left", "Review: previous event", lambda: s.jump_event(-1)),
                ("Shift+Right", "Review: next event", lambda: s.jump_event(1)),
                ("Home", "Review: first step", lambda: s.set_step(0)),
                ("End", "Review: last step", lambda: s.set_step(s.num_steps - 1)),
                ("[", "Review: slower", t.slower), ("]", "Review: faster", t.faster),
                ("N", "Review: next in hardest-20 queue",
                 lambda: self._guard(lambda: s.queue_step(1))),
                ("P", "Review: previous in hardest-20 queue",
                 lambda: self._guard(lambda: s.queue_step(-1)))]
        tags = self.queue.tags
        from app.core.review.tags import TAXONOMY
        keys += [(str(n), f"Review: tag {TAXONOMY[n - 1]}", lambda n=n: tags.tag_taxonomy(n))
                 for n in range(1, 9)]
        keys += [("E", "Review: write the selected tag's note (Enter saves, Esc leaves)",
                  tags.focus_note),
                 ("Delete", "Review: delete the selected tag", tags.remove_selected),
                 ("Ctrl+Z", "Review: undo the last tag edit", tags.undo)]
        for key, text, slot in keys:
            action = QtGui.QAction(text, self.window)
            action.setShortcut(QtGui.QKeySequence(key))
            action.setShortcutContext(Qt.WindowShortcut)
            action.triggered.connect(lambda _c=False, f=slot: f())
            action.setEnabled(False)
            self.window.addAction(action)
            self._shortcuts.append(action)

    def set_active(self, active: bool) -> None:
        """Entering the review workspace: our keys on, overlapping window keys (Space = scene
        play, Home = reset view) parked so Qt does not see an ambiguous shortcut."""
        mine = {a.shortcut().toString() for a in self._shortcuts}
        if active and not self._stolen:
            for action in self.window.findChildren(QtGui.QAction):
                if action not in self._shortcuts and action.shortcut().toString() in mine:
                    self._stolen.append((action, action.shortcut()))
                    action.setShortcut(QtGui.QKeySequence())
            for shortcut in self.window.findChildren(QtGui.QShortcut):
                if shortcut.isEnabled() and shortcut.key().toString() in mine:
                    self._stolen.append((shortcut, None))
                    shortcut.setEnabled(False)
        elif not active:
            for owner, key in self._stolen:
                if key is None:
                    owner.setEnabled(True)
                else:
                    owner.setShortcut(key)
            self._stolen.clear()
            self.session.set_playing(False)
        for shortcut in self._shortcuts:
            shortcut.setEnabled(active)
        if active:
            from app.qt.shell.focus import leave_field
            leave_field()      # e.g. the toolbar's seed box: review keys must reach review
        self._park_camera(active)
        if active and not self._sized and self.window.isVisible():
            # the first time review is shown: proportions of the window's real size
            self._sized = True
            QtCore.QTimer.singleShot(0, self.size_docks)
        self.replay.show(active)
        if active:
            self._dirty_rollout = True
            self._schedule()


def _dock(window, key, title, widget, area, tabify_with=None):
    dock = window.add_dock(key, title, widget, area, workspace="review")
    if tabify_with is not None:
        window.tabifyDockWidget(tabify_with, dock)
    return dock


def install(window) -> ReviewWorkspace:
    ws = ReviewWorkspace(window)
    area = Qt.DockWidgetArea
    browser = _dock(window, "review_rollouts", "Rollouts", ws.browser, area.LeftDockWidgetArea)
    timeline = _dock(window, "review_timeline", "Timeline", ws.timeline, area.BottomDockWidgetArea)
    plots = _dock(window, "review_curves", "Action and state curves", ws.plots,
                  area.BottomDockWidgetArea)
    window.splitDockWidget(timeline, plots, Qt.Vertical)
    compare = _dock(window, "review_compare", "Compare", ws.compare, area.BottomDockWidgetArea,
                    tabify_with=plots)
    compare.visibilityChanged.connect(lambda _shown: ws._schedule())
    replans = _dock(window, "review_replans", "Plans at replan", ws.replans,
                    area.LeftDockWidgetArea)
    window.splitDockWidget(browser, replans, Qt.Vertical)
    queue = _dock(window, "review_queue", "Review queue and tags", ws.queue, area.RightDockWidgetArea)
    # the side columns run to the bottom: on the left the rollout table above the plans at the
    # replan, on the right the queue (all 20 rows at 1600x1000) above the tags; timeline and
    # curves sit under the 3-D view
    window.set_workspace_corners("review", area.LeftDockWidgetArea, area.RightDockWidgetArea)
    plots.raise_()
    ws.docks = {"browser": browser, "timeline": timeline, "plots": plots, "replans": replans,
                "queue": queue}
    ws.size_docks()
    _remember_positions(ws.session)
    ws.session.events.queue_changed.connect(
        lambda: queue.setWindowTitle(f"Review queue and tags — {ws.queue.queue.progress_text()}"))
    window.register_drop_handler(is_recording, ws.open, name="recording")
    menu = window.file_menu
    before = menu.actions()[-1] if menu.actions() else None
    for text, slot in (("Export Tags…", ws.export_tags), ("Import Tags…", ws.import_tags),
                       ("Save Review into Artifact", ws.save_into_artifact)):
        action = QtGui.QAction(text, window)
        action.triggered.connect(slot)
        menu.insertAction(before, action)
    ws.install_keys()
    window.workspaceChanged.connect(lambda name: ws.set_active(name == "review"))
    # a bound slot of a QObject: Qt disconnects it when the window (and ws) go away
    QtWidgets.QApplication.instance().applicationStateChanged.connect(ws.on_application_state)
    session = ws.session
    window.destroyed.connect(lambda *_: session.shutdown())   # sidecars and files closed
    if getattr(window, "workspace", None) == "review":
        ws.set_active(True)
    return ws


def _remember_positions(session) -> None:
    """Where the reviewer stopped in each file (rollout id), kept in the app's settings so a
    restart opens there (app.core.review.state.ReviewSession.start_key)."""
    from app.qt.shell.settings import app_settings
    import hashlib

    def key(path) -> str:
        return "review/position/" + hashlib.sha1(str(path).encode()).hexdigest()[:16]

    def recall(path):
        value = app_settings().value(key(path))
        return int(value) if value not in (None, "") else None

    def remember(path, rollout_id: int) -> None:
        app_settings().setValue(key(path), int(rollout_id))

    session.recall, session.remember = recall, remember


def prepare_snapshot(window, args) -> None:
    """Show the hardest failure at the replan where it went wrong: table, timeline markers,
    plans coloured by mode and the executed chunk all visible at once."""
    ws: ReviewWorkspace = window.features["review"]
    window.set_workspace("review")
    s = ws.session
    if not s.recordings:
        return
    rollout, step = getattr(args, "rollout", None), getattr(args, "step", None)
    if rollout is not None:
        rec = s.recordings[0]
        row = rec.row_of(int(rollout))
        if row is None:
            from recordings.errors import UserFacingError
            raise UserFacingError(f"--rollout {rollout}: {rec.path} has no rollout {rollout} "
                                  f"(ids 0..{len(rec) - 1})")
        s.select(RolloutKey(0, row))
    elif s.queue:
        s.select(s.queue[0])
    data = s.rollout
    if data is not None and step is not None:
        if not 0 <= step < max(data.num_steps, 1):
            from recordings.errors import UserFacingError
            raise UserFacingError(f"--step {step}: rollout {data.rollout_id} has "
                                  f"{data.num_steps} steps (0..{data.num_steps - 1})")
        s.set_step(step)
    elif data is not None:
        target = data.failure_step if not data.success else data.num_steps // 2
        before = data.replan_steps[data.replan_steps <= target]
        s.set_step(int(before[-1]) if before.size else target)
    ws.replans.tabs.setCurrentIndex(0)
    QtWidgets.QApplication.processEvents()
    ws.size_docks()
    ws.draw_now()
