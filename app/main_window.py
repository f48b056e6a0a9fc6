"""MainWindow: the central SceneView, docks, menus, workspaces, play/pause. Wiring only.

Extension API for feature modules (inspector, review, evaluation)
-----------------------------------------------------------------
A feature lives in `app/<feature>_workspace.py` and exposes

    def install(window: MainWindow) -> object            # required; the return value is kept in
                                                         # window.features["<feature>"]
    def prepare_snapshot(window: MainWindow, args) -> None   # optional; `planscope snapshot --view
                                                         # <feature>` calls it before rendering

MainWindow imports each of FEATURES if the module exists (a missing module is skipped; an import
error inside an existing module is a bug and propagates), always in FEATURES order, so a later
feature may look up an earlier one in window.features. `planscope` (defer_features=True) installs
the features up to the starting workspace before the window shows and the rest right after, before
any file or policy is opened; a switch to a not-yet-installed workspace installs it first.
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

import importlib
from typing import Any, Callable, Iterable

from PySide6 import QtCore, QtGui, QtWidgets

from app import __version__
from app.camera_view import CameraView
from app.dialogs import show_error
from app.scene_view import SceneView
from app.settings import app_settings
from app.theme import app_icon, glyph_icon
from app.window_files import FileOpeningMixin
from app.state.scene_session import SceneSession
from recordings.errors import UserFacingError

FEATURES = ("inspector", "review", "evaluation")
WORKSPACES = {"inspector": "Inspector", "review": "Review", "evaluation": "Evaluation"}
Qt = QtCore.Qt
DockArea = Qt.DockWidgetArea
PLAY_INTERVAL_MS = 100          # 10 Hz control: Play runs the simulation in real time
LAYOUT_VERSION = 1              # bump when default docks change so stale layouts are ignored


class MainWindow(FileOpeningMixin, QtWidgets.QMainWindow):
    workspaceChanged = QtCore.Signal(str)
    sceneLoaded = QtCore.Signal()
    sessionStepped = QtCore.Signal()
    closing = QtCore.Signal()  # before the window closes: stop workers, save your state

    def __init__(self, session: SceneSession | None = None, *, install_features: bool = True,
                 restore_layout: bool = True, defer_features: bool = False) -> None:
        """install_features: import and install app/<feature>_workspace.py modules.
        restore_layout: apply the saved dock layout, geometry and workspace.
        defer_features: install only the features up to the starting workspace now (FEATURES
        order); the rest wait for `install_pending_features()` (called on the first workspace
        switch or file open, or by the caller once the window is shown: faster start-up)."""
        super().__init__()
        self.setObjectName("planscope_main_window")
        self.setWindowTitle("planscope")
        self.setWindowIcon(app_icon())
        self.setDockNestingEnabled(True)
        self._init_file_opening()
        self.session = session or SceneSession()
        self.session.subscribe(self._on_session_event)
        self.features: dict[str, Any] = {}
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self._dock_workspaces: dict[str, tuple[str, ...] | None] = {}
        self._dock_areas: dict[str, Qt.DockWidgetArea] = {}
        self._late_docks: list[str] = []      # added after the default layout was captured
        self._pending_features: list[str] = []
        self._default_state: QtCore.QByteArray | None = None
        self._workspace = "inspector"
        self._settings = app_settings()
        # headless runs (snapshot) set this: errors propagate to the CLI instead of a modal dialog
        self.raise_errors = False

        self.scene_view = SceneView(self)
        self.scene_view.set_pose_source(self.session.link_poses)
        self.setCentralWidget(self.scene_view)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()

        self.camera_view = CameraView(self.session)
        self.add_dock("camera", "Camera", self.camera_view, DockArea.RightDockWidgetArea)

        self._play_timer = QtCore.QTimer(self)
        self._play_timer.setInterval(PLAY_INTERVAL_MS)
        self._play_timer.timeout.connect(self._play_tick)
        self._status_timer = QtCore.QTimer(self)
        self._status_timer.setInterval(500)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.start()

        if install_features:
            names = list(FEATURES)
            start = self._saved_workspace() if restore_layout else self._workspace
            if defer_features and start in names:
                cut = names.index(start) + 1
                names, self._pending_features = names[:cut], names[cut:]
            self._install_features(names)
        screen = QtGui.QGuiApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, 1600, 1000)
        self.resize(min(1500, int(room.width() * 0.92)), min(920, int(room.height() * 0.92)))
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._apply_workspace(self._workspace)
        if restore_layout:
            self.restore_layout()

    # ---- feature modules --------------------------------------------------------------------
    def _install_features(self, names: Iterable[str]) -> None:
        for name in names:
            module_name = f"app.{name}_workspace"
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name == module_name:
                    continue
                raise
            self.features[name] = module.install(self)

    def install_pending_features(self) -> None:
        """Install the features deferred by `defer_features=True`, in FEATURES order."""
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
        for key, dock in self.docks.items():
            spaces = self._dock_workspaces.get(key)
            if spaces is not None:
                dock.setVisible(name in spaces)
        self._workspace_actions[name].setChecked(True)
        self.workspaceChanged.emit(name)

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

    # ---- actions and menus ------------------------------------------------------------------
    def _action(self, text: str, slot: Callable[..., Any], shortcut: str | None = None,
                tip: str = "", checkable: bool = False) -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if shortcut:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)  # shortcuts work even when a menu/toolbar is hidden
        return action

    def _build_actions(self) -> None:
        self.open_policy_action = self._action("Open &Policy…", self._open_policy_dialog, "Ctrl+P",
                                               "Load a trained policy (checkpoint folder)")
        self.open_recording_action = self._action("Open &Recording…", self._open_recording_dialog,
                                                  "Ctrl+O", "Open an HDF5 recording")
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q")
        self.play_action = self._action("Play", self.set_playing, "Space",
                                        "Run the simulation (the robot holds its pose)", True)
        self.step_action = self._action("Step", self.step_once, "Ctrl+Right",
                                        "Advance the simulation by one control step (0.1 s)")
        self.reset_scene_action = self._action("Reset scene", self.reset_scene, "Ctrl+R",
                                               "Reset the scene to its seed")
        self.reset_view_action = self._action("Reset view", self.scene_view.reset_view, "Home",
                                              "Camera back to the default view of the table")
        self.reset_layout_action = self._action("Reset layout", self.reset_layout, None,
                                                "Put every panel back where it started")
        self.fullscreen_action = self._action("Full screen", self._toggle_fullscreen, "F11",
                                              checkable=True)
        self.shortcuts_action = self._action("Keyboard shortcuts", self._show_shortcuts, "F1")
        self.about_action = self._action("About planscope", self._show_about)
        self._workspace_group = QtGui.QActionGroup(self)
        self._workspace_actions: dict[str, QtGui.QAction] = {}
        for index, (key, title) in enumerate(WORKSPACES.items(), start=1):
            action = QtGui.QAction(title, self, checkable=True)
            action.setShortcut(QtGui.QKeySequence(f"Ctrl+{index}"))
            action.setToolTip(f"{title} workspace (Ctrl+{index})")
            action.triggered.connect(lambda _c=False, k=key: self.set_workspace(k))
            self._workspace_group.addAction(action)
            self._workspace_actions[key] = action
            self.addAction(action)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.file_menu.addAction(self.open_policy_action)
        self.file_menu.addAction(self.open_recording_action)
        self.recent_menu = self.file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.quit_action)

        self.scene_menu = bar.addMenu("&Scene")
        for action in (self.play_action, self.step_action, self.reset_scene_action):
            self.scene_menu.addAction(action)

        self.view_menu = bar.addMenu("&View")
        self.workspace_menu = self.view_menu.addMenu("&Workspace")
        for action in self._workspace_actions.values():
            self.workspace_menu.addAction(action)
        self.panels_menu = self.view_menu.addMenu("&Panels")
        self.view_menu.addSeparator()
        for action in (self.reset_layout_action, self.reset_view_action, self.fullscreen_action):
            self.view_menu.addAction(action)

        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(self.shortcuts_action)
        self.help_menu.addAction(self.about_action)

    def _build_toolbar(self) -> None:
        icon = self.style().standardIcon
        pixmap = QtWidgets.QStyle.StandardPixmap
        self._play_icon, self._pause_icon = glyph_icon("play"), glyph_icon("pause")
        self.play_action.setIcon(self._play_icon)
        self.step_action.setIcon(glyph_icon("step"))
        self.reset_scene_action.setIcon(icon(pixmap.SP_BrowserReload))
        self.toolbar = QtWidgets.QToolBar("Main", self)
        self.toolbar.setObjectName("main_toolbar")
        self.toolbar.setMovable(False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        for action in self._workspace_actions.values():
            self.toolbar.addAction(action)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.play_action)
        self.toolbar.addAction(self.step_action)
        self.toolbar.addAction(self.reset_scene_action)
        self.seed_box = QtWidgets.QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setPrefix("seed ")
        self.seed_box.setToolTip("Scene seed used by Reset scene")
        self.seed_box.setValue(self.session.seed)
        self.seed_box.setFixedWidth(120)
        self.toolbar.addWidget(self.seed_box)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.reset_view_action)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self._scene_label = QtWidgets.QLabel("no scene")
        self._time_label = QtWidgets.QLabel("t = 0.0 s")
        self._fps_label = QtWidgets.QLabel("— fps")
        for label in (self._scene_label, self._time_label, self._fps_label):
            bar.addPermanentWidget(label)

    def status(self, message: str, timeout_ms: int = 5000) -> None:
        self.statusBar().showMessage(message, timeout_ms)

    def _update_status(self) -> None:
        s = self.session
        self._scene_label.setText(f"scene: {s.scene_name}" if s.loaded else "no scene")
        self._time_label.setText(f"t = {s.sim_time_s:.1f} s")
        fps = self.scene_view.fps()
        self._fps_label.setText(f"{fps:.0f} fps" if fps else "— fps")

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

    def _on_session_event(self, event: str) -> None:
        if event == "loaded":
            self.scene_view.set_scene(self.session.describe(), self.session.link_poses())
            self.setWindowTitle(f"planscope — {self.session.scene_name}")
            self.seed_box.setValue(self.session.seed)
            self.camera_view.scene_loaded()
            if self.scene_view.mesh_errors:
                self.status("some meshes could not be drawn: " + "; ".join(self.scene_view.mesh_errors))
            self._update_status()
            self.sceneLoaded.emit()
        elif event in ("reset", "stepped", "state"):
            self.scene_view.refresh_poses()
            self.camera_view.mark_dirty()
            self.sessionStepped.emit()
        elif event == "playing":
            self.play_action.blockSignals(True)
            self.play_action.setChecked(self.session.playing)
            self.play_action.setText("Pause" if self.session.playing else "Play")
            self.play_action.setIcon(self._pause_icon if self.session.playing else self._play_icon)
            self.play_action.blockSignals(False)
        elif event == "closed":
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

    # ---- help -------------------------------------------------------------------------------
    def _toggle_fullscreen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def _show_shortcuts(self) -> None:
        rows = sorted((a.shortcut().toString(), a.text().replace("&", ""))
                      for a in self.actions() if not a.shortcut().isEmpty())
        text = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{t}</td></tr>" for k, t in rows)
        text += ("<tr><td><b>drag</b></td><td>orbit the 3-D view (middle drag / ctrl+drag: pan, "
                 "wheel: zoom)</td></tr>")
        QtWidgets.QMessageBox.information(self, "Keyboard shortcuts", f"<table>{text}</table>")

    def _show_about(self) -> None:
        QtWidgets.QMessageBox.about(
            self, "About planscope",
            f"<b>planscope {__version__}</b><p>Look inside diffusion planners: sample many plans, "
            "watch the denoising chain, see the modes, run and review closed-loop rollouts.</p>")
