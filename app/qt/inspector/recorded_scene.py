"""The live scene's part while the inspector is at a recorded frame (issue 15): the 3-D view and the
Camera dock never show the live scene as if it were the recorded one.

- A data set of the live scene's own state (app/core/inspector/recorded_scene.py decides): the
  live scene is SET to the frame's state (the mug where the recorded mug was, the hand where it
  was) and restored exactly on "Back to live scene"; the banner says "scene set to the recorded
  state"; the Camera dock renders that staged scene.
- Anything else: the live scene's bodies are hidden in the 3-D view (plans, demonstrated chunk
  and neighbours stay, over the floor grid) and the Camera dock shows the DATA's camera frame at
  that frame, or "no camera in this data set" — never the live camera.

Reacts to InspectorState.events.source; the data set is opened here once per path (one frame's
features and camera image per frame step, read on the GUI thread: ≤ 30 ms by `bench datasets`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.core.inspector.frame_source import camera_frame
from app.core.inspector.recorded_scene import SceneStager, recorded_state
from app.core.inspector.state import DataFrameSource, InspectorState
from app.qt.shell.camera_view import rgb_qimage
from app.qt.shell.theme import COLORS

NO_CAMERA = "no camera in this data set"


class DataCameraView(QtWidgets.QWidget):
    """The Camera dock's content at a recorded frame of a foreign data set: the data's own camera
    image at that frame (feature name above it), or a line saying there is none."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("data_camera_view")
        self.title = QtWidgets.QLabel("")
        self.title.setStyleSheet(f"color: {COLORS['muted']};")
        self.image = QtWidgets.QLabel(NO_CAMERA)
        self.image.setObjectName("data_camera_image")
        self.image.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.image.setWordWrap(True)
        self.image.setMinimumSize(128, 72)
        self.image.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                 QtWidgets.QSizePolicy.Policy.Ignored)
        self.image.setStyleSheet(f"background: {COLORS['base']}; color: {COLORS['muted']};")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.image, 1)
        self.shown: np.ndarray | None = None      # the image on screen [H, W, 3] uint8, or None
        self._pixmap: QtGui.QPixmap | None = None

    def show_frame(self, where: str, camera: tuple[str, np.ndarray] | None) -> None:
        """camera: (feature, [H, W, 3] uint8) of the data set at `where`, or None (no camera)."""
        if camera is None:
            self.shown, self._pixmap = None, None
            self.title.setText(f"Data set camera · {where}")
            self.image.setPixmap(QtGui.QPixmap())
            self.image.setText(f"{NO_CAMERA}\n(the live scene's camera would not show the "
                               "recorded frame)")
            return
        name, image = camera
        img = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
        self.shown = img
        h, w = img.shape[:2]
        self._pixmap = QtGui.QPixmap.fromImage(rgb_qimage(img))
        self.title.setText(f"Data set camera <i>{name}</i> · {where} ({w}×{h})")
        self._rescale()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is not None:
            self.image.setPixmap(self._pixmap.scaled(
                self.image.size(), QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                QtCore.Qt.TransformationMode.FastTransformation))   # pixels: data images are small


class RecordedSceneGuard(QtCore.QObject):
    """Keeps the 3-D view and the Camera dock honest about which state they show (module doc).

    mode: "live" (no recorded frame), "staged" (the live scene set to the recorded state) or
    "hidden" (the live scene hidden; the data's camera in the dock)."""

    def __init__(self, window: Any, state: InspectorState, banner: Any) -> None:
        super().__init__(window)
        self.window = window
        self.state = state
        self.banner = banner
        self.stager = SceneStager(window.session)
        self.data_camera = DataCameraView()
        self.mode = "live"
        self._datasets: dict[str, Any] = {}
        state.events.source.connect(self.follow)
        window.session.events.loaded.connect(self._scene_rebuilt)

    # ---- the one reaction --------------------------------------------------------------------
    def follow(self, source: DataFrameSource | None) -> None:
        """Stage, hide or restore for the inspector's new observation source."""
        if source is None:
            self._to_live()
            return
        ds = self._dataset(source.data)
        session = self.window.session
        recorded = None
        if ds is not None and getattr(session, "loaded", False):
            recorded = recorded_state(ds, source.episode, source.frame, session.scene)
        if recorded is not None:
            self._show_live_bodies(True)
            self._camera_dock_live(True)
            note = self.stager.stage(recorded)
            self.mode = "staged"
            self.banner.set_scene_note(f"scene set to the recorded state ({note})", staged=True)
            return
        self.stager.restore()
        self._show_live_bodies(False)
        camera = camera_frame(ds, source.episode, source.frame) if ds is not None else None
        self.data_camera.show_frame(f"episode {source.episode} frame {source.frame}", camera)
        self._camera_dock_live(False)
        self.mode = "hidden"
        self.banner.set_scene_note("live scene hidden: this data set does not give its state"
                                   + ("" if camera is not None else f"; {NO_CAMERA}"), staged=False)

    def _to_live(self) -> None:
        self.stager.restore()
        self._show_live_bodies(True)
        self._camera_dock_live(True)
        self.mode = "live"
        self.banner.set_scene_note("", staged=False)

    # ---- pieces ------------------------------------------------------------------------------
    def _dataset(self, path: str) -> Any:
        """The data set at `path`, opened once (None when it cannot be: sampling reports why)."""
        if path not in self._datasets:
            from recordings.dataset import open_dataset
            from recordings.errors import UserFacingError
            try:
                self._datasets[path] = open_dataset(path)
            except (UserFacingError, OSError, ValueError):
                self._datasets[path] = None
        return self._datasets[path]

    def _show_live_bodies(self, visible: bool) -> None:
        view = self.window.scene_view
        for node in view.link_nodes:
            node.setVisible(visible)
        view.update()

    def _camera_dock_live(self, live: bool) -> None:
        """The Camera dock's widget: the shell's live CameraView, or the data's camera. The one
        not shown is hidden, so the live camera is not even rendered under a recorded frame."""
        dock = self.window.dock("camera") if hasattr(self.window, "dock") else None
        if dock is None:
            return
        live_view = self.window.camera_view
        want = live_view if live else self.data_camera
        if dock.widget() is not want:
            dock.setWidget(want)        # QDockWidget hides the widget it replaces
            want.show()
        if live:
            live_view.mark_dirty()

    def _scene_rebuilt(self) -> None:
        """A rebuilt scene has new bodies and a new state: a kept live state no longer applies."""
        self.stager.forget()
        if self.state.source is not None:
            self.follow(self.state.source)

    def close(self) -> None:
        for ds in self._datasets.values():
            if ds is not None:
                try:
                    ds.close()
                except Exception:  # noqa: BLE001 - closing at exit: nothing left to report to
                    pass
        self._datasets.clear()
