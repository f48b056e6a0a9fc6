"""The main window's chrome: actions, menus, toolbar, status bar and the Help dialogs.

A mixin of MainWindow (kept apart so main_window.py stays wiring only). It needs from the window:
`session`, `scene_view`, `set_workspace`, `set_playing`, `step_once`, `reset_scene`,
`reset_layout`, and the file-opening mixin's dialogs and recent menu (window_files.py).
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6 import QtCore, QtGui, QtWidgets

from app import __version__
from app.qt.shell.theme import glyph_icon

# Every workspace the window knows: key -> title (View > Workspace, the toolbar, Ctrl+1..).
# app/qt/registry.py installs each one's docks.
WORKSPACES = {"inspector": "Inspector", "review": "Review", "evaluation": "Evaluation",
              "scan": "Scan"}
Qt = QtCore.Qt


class WindowChromeMixin:
    """Builds and updates the window's actions, menus, toolbar and status bar."""

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

    # ---- help -------------------------------------------------------------------------------
    def _toggle_fullscreen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def shortcut_groups(self) -> dict[str, list[tuple[str, str]]]:
        """F1's content: {workspace or "Everywhere": [(key, what it does)]}. An action text
        "Review: next step" is listed under "Review" as "next step"."""
        groups: dict[str, list[tuple[str, str]]] = {}
        for a in self.actions():
            if a.shortcut().isEmpty():
                continue
            text = a.text().replace("&", "")
            group, sep, rest = text.partition(": ")
            if not sep or " " in group:
                # an action a workspace installed carries its name (MainWindow._install_features)
                group, rest = a.property("workspace") or "Everywhere", text
            groups.setdefault(group, []).append((a.shortcut().toString(), rest))
        return {g: sorted(rows) for g, rows in sorted(groups.items(),
                                                      key=lambda kv: kv[0] != "Everywhere")}

    def _show_shortcuts(self) -> None:
        text = ""
        for group, rows in self.shortcut_groups().items():
            text += f"<tr><td colspan=2><br><b><u>{group}</u></b></td></tr>"
            text += "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{t}</td></tr>" for k, t in rows)
        text += ("<tr><td><b>drag</b></td><td>orbit the 3-D view (middle drag / ctrl+drag: pan, "
                 "wheel: zoom)</td></tr>")
        text += ("<tr><td colspan=2><br><b><u>Focus</u></b><br>A text field or spin box takes "
                 "keys only while you edit it: Esc, Enter (one-line fields) or a click on a tab, "
                 "plot or label gives the keys back to the workspace. The mouse wheel changes "
                 "a value only in the field that has focus.</td></tr>")
        QtWidgets.QMessageBox.information(self, "Keyboard shortcuts", f"<table>{text}</table>")

    def _show_about(self) -> None:
        QtWidgets.QMessageBox.about(
            self, "About planscope",
            f"<b>planscope {__version__}</b><p>Look inside diffusion planners: sample many plans, "
            "watch the denoising chain, see the modes, run and review closed-loop rollouts.</p>")
