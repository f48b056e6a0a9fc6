"""MainWindow: the central SceneView, docks, menus, workspaces, play/pause. Wiring only.

Extension API for workspaces (inspector, review, evaluation)
------------------------------------------------------------
A workspace is a `Feature` (below): a name, `install(window) -> object` (the return value is kept
in window.features["<name>"]) and optionally `prepare_snapshot(window, args)`, which `planscope
snapshot --view <name>` calls before rendering. The list of features is explicit: app/qt/registry.py
names every workspace's install function; MainWindow(features=...) installs them in that order, so
a later feature may look up an earlier one in window.features. An import error inside a feature is
a bug and propagates. `planscope` (defer_features=True) installs the features up to the starting
workspace before the window shows and the rest right after, before any file or policy is opened;
a switch to a not-yet-installed workspace installs it first.
Inside install() a feature uses:

    window.add_dock(key, title, widget, area=Qt.LeftDockWidgetArea, workspace="inspector")
        -> QDockWidget (objectName=key so the layout persists; a View ▸ Panels toggle is added;
        workspace=None keeps the dock in every workspace; a tuple puts it in several)
    window.set_workspace("review"), window.workspace, window.workspaceChanged(str)
    window.scene_view        SceneView: add_overlay(key, item) / remove_overlay / overlay(key),
                             refresh_poses(), render_image(w, h)
    window.session           SceneSession (Qt-free): scene, seed, reset, step, get/set_state
    window.sceneLoaded       signal emitted after a scene (re)loaded and mirrored
    window.sessionStepped    signal emitted after each simulation step / state change
    window.closing           signal emitted when the window closes (stop your worker threads)
    window.register_drop_handler(predicate, callback, name="")   path -> bool, path -> None;
                             used for drag & drop, File ▸ Open Recording…, recent files and
                             `planscope FILE ...`
    window.register_policy_handler(callback)   spec(str) -> None; File ▸ Open Policy…, `--policy`
    window.file_menu, window.view_menu, window.help_menu, window.toolbar   add your actions
    window.add_recent_file(path), window.status(message)   helpers
    window.run_guarded(title, fn, *args)   runs fn; a UserFacingError becomes an error dialog
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from app.core.scene_session import SceneSession
from app.qt.shell.camera_view import CameraView
from app.qt.shell.dialogs import show_error
from app.qt.shell.scene_view import SceneView
from app.qt.shell.settings import app_settings
from app.qt.shell.theme import app_icon
from app.qt.shell.window_chrome import WORKSPACES, WindowChromeMixin
from app.qt.shell.window_files import FileOpeningMixin
from recordings.errors import UserFacingError

Qt = QtCore.Qt
DockArea = Qt.DockWidgetArea
PLAY_INTERVAL_MS = 100          # 10 Hz control: Play runs the simulation in real time
LAYOUT_VERSION = 2              # bump when default docks change so stale layouts are ignored
#                                 (2: review's plans under the rollout table, camera in the inspector)


@dataclass(frozen=True)
class Feature:
    """One workspace the window can install (app/qt/registry.py lists planscope's own).

    name: a key of WORKSPACES; install(window) adds the workspace's docks and handlers and returns
    the object kept in window.features[name]; prepare_snapshot(window, args), when given, puts the
    screen in its most telling state for `planscope snapshot --view name`."""
    name: str
    install: Callable[["MainWindow"], object]
    prepare_snapshot: Callable[["MainWindow", Any], None] | None = None


class MainWindow(WindowChromeMixin, FileOpeningMixin, QtWidgets.QMainWindow):
    workspaceChanged = QtCore.Signal(str)
    sceneLoaded = QtCore.Signal()
    sessionStepped = QtCore.Signal()
    closing = QtCore.Signal()  # before the window closes: stop workers, save your state

    def __init__(self, session: SceneSession | None = None, *, features: Sequence[Feature] = (),
                 restore_layout: bool = True, defer_features: bool = False) -> None:
        """features: the workspaces to install, in order (app/qt/registry.py: FEATURES).
        restore_layout: apply the saved dock layout, geometry and workspace.
        defer_features: install only the features up to the starting workspace now (in
        `features` order); the rest wait for `install_pending_features()` (called on the first workspace
        switch or file open, or by the caller once the window is shown: faster start-up)."""
        super().__init__()
        self.setObjectName("planscope_main_window")
        self.setWindowTitle("planscope")
        self.setWindowIcon(app_icon())
        self.setDockNestingEnabled(True)
        self._init_file_opening()
        self.session = session or SceneSession()
        events = self.session.events
        events.loaded.connect(self._on_scene_loaded)
        for moved in (events.reset, events.stepped, events.state):
            moved.connect(self._on_scene_moved)
        events.playing.connect(self._on_playing)
        events.closed.connect(self._play_timer_stop)
        self.features: dict[str, Any] = {}
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self._dock_workspaces: dict[str, tuple[str, ...] | None] = {}
        self._corners: dict[str, dict[Qt.Corner, Qt.DockWidgetArea]] = {}
        self._dock_areas: dict[str, Qt.DockWidgetArea] = {}
        self._late_docks: list[str] = []      # added after the default layout was captured
        self._pending_features: list[Feature] = []
        self.available_features: dict[str, Feature] = {f.name: f for f in features}
        self._default_state: QtCore.QByteArray | None = None
        self._workspace = "inspector"
        self._settings = app_settings()
        # headless runs (snapshot) set this: errors propagate to the CLI instead of a modal dialog
        self.raise_errors = False

        from app.qt.shell import focus
        focus.install()   # fields take keys only while edited; no wheel edits without focus
        self.scene_view = SceneView(self)
        self.scene_view.set_pose_source(self.session.link_poses)
        self.setCentralWidget(self.scene_view)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()

        self.camera_view = CameraView(self.session)
        # PyBullet's own camera of the live scene: the inspector's (review replays recorded
        # states, scan reads data sets, evaluation reads artifacts; their columns need the
        # height at 1280x800). View > Panels > Camera shows it anywhere.
        self.add_dock("camera", "Camera", self.camera_view, DockArea.RightDockWidgetArea,
                      workspace="inspector")

        self._play_timer = QtCore.QTimer(self)
        self._play_timer.setInterval(PLAY_INTERVAL_MS)
        self._play_timer.timeout.connect(self._play_tick)
        self._status_timer = QtCore.QTimer(self)
        self._status_timer.setInterval(500)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.start()

        if features:
            todo = list(features)
            names = [feature.name for feature in todo]
            start = self._saved_workspace() if restore_layout else self._workspace
            if defer_features and start in names:
                cut = names.index(start) + 1
                todo, self._pending_features = todo[:cut], todo[cut:]
            self._install_features(todo)
        screen = QtGui.QGuiApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, 1600, 1000)
        self.resize(min(1500, int(room.width() * 0.92)), min(920, int(room.height() * 0.92)))
        # workspaces size their docks against the window's real size (they were installed
        # before it was known), then that becomes the default layout
        for feature in list(self.features.values()):
            fit = getattr(feature, "fit_default_layout", None)
            if callable(fit):
                fit()
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._apply_workspace(self._workspace)
        if restore_layout:
            self.restore_layout()

    # ---- feature modules --------------------------------------------------------------------
    def _install_features(self, features: Iterable[Feature]) -> None:
        for feature in features:
            before = set(self.actions())
            self.features[feature.name] = feature.install(self)
            # the keys a workspace adds are listed under its name in F1 (Help > Keyboard shortcuts)
            for action in self.actions():
                if action not in before and action.property("workspace") is None:
                    action.setProperty("workspace", WORKSPACES.get(feature.name, feature.name))

    def install_pending_features(self) -> None:
        """Install the features deferred by `defer_features=True`, in their order."""
        pending, self._pending_features = self._pending_features, []
        if pending:
            self._install_features(pending)
            self._apply_workspace(self._workspace)  # their docks follow the current workspace

    def _saved_workspace(self) -> str:
        value = self._settings.value("window/workspace")
        return value if isinstance(value, str) and value in WORKSPACES else self._workspace

    # ---- docks and workspaces ---------------------------------------------------------------
    def add_dock(self, key: str, title: str, widget: QtWidgets.QWidget,
                 area: Qt.DockWidgetArea = DockArea.LeftDockWidgetArea,
                 workspace: str | Iterable[str] | None = None) -> QtWidgets.QDockWidget:
        """Host `widget` in a dock named `key` (objectName, used by the saved layout).

        workspace: None = visible in every workspace; a name or names = shown only there."""
        if key in self.docks:
            raise ValueError(f"a dock named {key!r} already exists")
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(key)
        dock.setWidget(widget)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        # a dock created after the saved layout was restored still gets its saved place
        # (restoreDockWidget only works for a dock not yet in the layout)
        restored = self._default_state is not None and self.restoreDockWidget(dock)
        if not restored:
            self.addDockWidget(area, dock)
        self.docks[key] = dock
        self._dock_areas[key] = area
        if self._default_state is not None:
            self._late_docks.append(key)
        spaces = None if workspace is None else (
            (workspace,) if isinstance(workspace, str) else tuple(workspace))
        for space in spaces or ():
            if space not in WORKSPACES:
                raise ValueError(f"unknown workspace {space!r}; known: {', '.join(WORKSPACES)}")
        self._dock_workspaces[key] = spaces
        toggle = dock.toggleViewAction()
        toggle.setText(title)
        self.panels_menu.addAction(toggle)
        if not restored:
            dock.setVisible(spaces is None or self._workspace in spaces)
        return dock

    def dock(self, key: str) -> QtWidgets.QDockWidget | None:
        return self.docks.get(key)

    def set_workspace_corners(self, workspace: str, bottom_left: Qt.DockWidgetArea,
                              bottom_right: Qt.DockWidgetArea) -> None:
        """Which dock area owns the bottom corners while `workspace` is shown (e.g. the side
        columns running to the bottom, the bottom docks only under the centre); the other
        workspaces keep Qt's default (bottom docks span the width)."""
        self._corners[workspace] = {Qt.Corner.BottomLeftCorner: bottom_left,
                                    Qt.Corner.BottomRightCorner: bottom_right}
        if workspace == self._workspace:
            self._apply_corners(workspace)

    def _apply_corners(self, workspace: str) -> None:
        default = {Qt.Corner.BottomLeftCorner: DockArea.BottomDockWidgetArea,
                   Qt.Corner.BottomRightCorner: DockArea.BottomDockWidgetArea}
        for corner, area in self._corners.get(workspace, default).items():
            if self.corner(corner) != area:
                self.setCorner(corner, area)

    @property
    def workspace(self) -> str:
        return self._workspace

    def set_workspace(self, name: str) -> None:
        """Show the docks of workspace `name` (and the shared ones), hide the other workspaces'."""
        if name not in WORKSPACES:
            raise ValueError(f"unknown workspace {name!r}; known: {', '.join(WORKSPACES)}")
        if self._pending_features:
            self._workspace = name
            self.install_pending_features()  # applies the workspace once they are installed
            return
        self._apply_workspace(name)

    def _apply_workspace(self, name: str) -> None:
        self._workspace = name
        size = self.size()
        grown = getattr(self, "_grown", None)   # (size asked for, size the minimum forced) last switch
        if grown is not None and grown[1] == size:
            size = grown[0]     # the last workspace forced the window larger: give that back
        # hide the other workspaces' docks before showing this one's: with both sets visible for
        # a moment Qt grows the window to fit their minimum sizes together and never shrinks it
        showing = []
        for key, dock in self.docks.items():
            spaces = self._dock_workspaces.get(key)
            if spaces is not None:
                if name in spaces:
                    showing.append(dock)
                else:
                    dock.setVisible(False)
        self._apply_corners(name)
        for dock in showing:
            dock.setVisible(True)
        self._workspace_actions[name].setChecked(True)
        self.workspaceChanged.emit(name)
        if self.isVisible():
            # a switch never grows the window (Qt still keeps it >= the layout's minimum): now,
            # after the workspaces' handlers re-arranged their docks, and once the layout settled
            def keep() -> None:
                if self.size() != size:
                    self.resize(size)
                self._grown = None if self.size() == size else (size, self.size())
            keep()
            # `self` as the context: Qt drops the call if the window is destroyed first (a late
            # timer under load ran keep() on a deleted window: make test-stress)
            QtCore.QTimer.singleShot(0, self, keep)

    # ---- layout persistence -----------------------------------------------------------------
    def restore_layout(self) -> None:
        s = self._settings
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        workspace = s.value("window/workspace")
        if isinstance(workspace, str) and workspace in WORKSPACES:
            self._apply_workspace(workspace)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state, LAYOUT_VERSION)

    def save_layout(self) -> None:
        s = self._settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(LAYOUT_VERSION))
        s.setValue("window/workspace", self._workspace)
        s.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for key in self._late_docks:  # not in the default state: back to the area they asked for
            self.addDockWidget(self._dock_areas[key], self.docks[key])
        self.set_workspace(self._workspace)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        self.closing.emit()
        self.save_layout()
        self._play_timer.stop()
        self._status_timer.stop()
        super().closeEvent(event)

    # ---- scene ------------------------------------------------------------------------------
    def run_guarded(self, title: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call fn; a UserFacingError becomes an error dialog (returns None), the app keeps going."""
        try:
            return fn(*args, **kwargs)
        except UserFacingError as exc:
            self.report_error(title, exc)
            return None

    def report_error(self, title: str, exc: BaseException) -> None:
        """Error dialog (or, when `raise_errors` is set for headless runs, re-raise)."""
        if self.raise_errors:
            raise exc
        show_error(self, title, exc)

    def load_scene(self, name: str | None = None) -> bool:
        """Build (or rebuild) the live scene and mirror it. Shows a dialog if it cannot load."""
        ok = self.run_guarded("Cannot load scene", self.session.load, name) is not None
        if not ok:
            self.scene_view.clear_scene()
            self.status(f"scene {self.session.scene_name!r} could not be loaded")
        return ok

    def _on_scene_loaded(self) -> None:
        self.scene_view.set_scene(self.session.describe(), self.session.link_poses())
        self.setWindowTitle(f"planscope — {self.session.scene_name}")
        self.seed_box.setValue(self.session.seed)
        self.camera_view.scene_loaded()
        if self.scene_view.mesh_errors:
            self.status("some meshes could not be drawn: " + "; ".join(self.scene_view.mesh_errors))
        self._update_status()
        self.sceneLoaded.emit()

    def _on_scene_moved(self) -> None:
        self.scene_view.refresh_poses()
        self.camera_view.mark_dirty()
        self.sessionStepped.emit()

    def _on_playing(self, playing: bool) -> None:
        self.play_action.blockSignals(True)
        self.play_action.setChecked(playing)
        self.play_action.setText("Pause" if playing else "Play")
        self.play_action.setIcon(self._pause_icon if playing else self._play_icon)
        self.play_action.blockSignals(False)

    def _play_timer_stop(self) -> None:
        if hasattr(self, "_play_timer"):   # a scene closed before the window finished building
            self._play_timer.stop()

    def set_playing(self, playing: bool) -> None:
        if playing and not self.session.loaded:
            playing = False
        self.session.set_playing(playing)
        (self._play_timer.start if playing else self._play_timer.stop)()

    def _play_tick(self) -> None:
        try:
            self.session.tick()
        except Exception as exc:  # noqa: BLE001 - stop first: a failing step would fail every tick
            self.set_playing(False)
            show_error(self, "Simulation stopped", exc)

    def step_once(self) -> None:
        if self.session.loaded:
            self.run_guarded("Simulation step failed", self.session.step)

    def reset_scene(self) -> None:
        if self.session.loaded:
            self.run_guarded("Cannot reset scene", self.session.reset, self.seed_box.value())
