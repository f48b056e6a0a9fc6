"""Camera dock: PyBullet's own rendering (`scene.camera_image(name)`) of a named scene camera.

PyBullet's TinyRenderer costs ~40-150 ms per 320x240 frame on a 2-core machine and holds the GIL
(measured: a Python thread rendering leaves the GUI thread ~20% of its speed), so a worker thread
would not keep the GUI responsive; instead the image is throttled: re-rendered only when the dock
is visible and the scene changed, at most every `min_interval_ms` and never more than ~20% of the
GUI thread's time.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.core.clock import default_clock
from app.qt.shell.theme import COLORS

if TYPE_CHECKING:
    from app.core.scene_session import SceneSession

DEFAULT_CAMERAS = ("front",)


def rgb_qimage(frame: np.ndarray) -> QtGui.QImage:
    """[h, w, >=3] RGB(A) image (uint8 or castable) -> QImage, a copy: Qt does not own numpy's
    buffer. The one conversion for scene cameras, data set frames, banners and exports."""
    rgb = np.ascontiguousarray(np.asarray(frame)[..., :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QtGui.QImage(rgb.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()


class CameraView(QtWidgets.QWidget):
    """Camera chooser + image. `mark_dirty()` after the scene changed; the view re-renders lazily."""

    def __init__(self, session: "SceneSession", parent: QtWidgets.QWidget | None = None,
                 size: tuple[int, int] = (320, 240), min_interval_ms: int = 500) -> None:
        super().__init__(parent)
        self.session = session
        self.render_size = size
        self.min_interval_ms = min_interval_ms
        self.last_render_ms = 0.0
        self._dirty = True
        self._last_render_t = 0.0
        self.combo = QtWidgets.QComboBox()
        self.combo.setToolTip("Which scene camera to render (PyBullet TinyRenderer)")
        self.combo.currentTextChanged.connect(lambda _t: self.mark_dirty())
        self.image = QtWidgets.QLabel("no scene")
        self.image.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(128, 72)   # small: the inspector's Modes dock shares the column
        self.image.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                 QtWidgets.QSizePolicy.Policy.Ignored)
        self.image.setStyleSheet(f"background: {COLORS['base']}; color: {COLORS['muted']};")
        self.info = QtWidgets.QLabel("")
        self.info.setStyleSheet(f"color: {COLORS['muted']};")
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Camera"))
        top.addWidget(self.combo, 1)
        top.addWidget(self.info)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.image, 1)
        self._pixmap: QtGui.QPixmap | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._maybe_render)
        self._timer.start()

    def set_cameras(self, names: tuple[str, ...] | list[str]) -> None:
        current = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(list(names) or list(DEFAULT_CAMERAS))
        if current in names:
            self.combo.setCurrentText(current)
        self.combo.blockSignals(False)
        self.mark_dirty()

    def scene_loaded(self) -> None:
        scene = self.session.scene
        self.set_cameras(tuple(getattr(scene, "cameras", DEFAULT_CAMERAS)))

    def mark_dirty(self) -> None:
        self._dirty = True

    def _maybe_render(self) -> None:
        if not self._dirty or not self.session.loaded or not self.isVisible():
            return
        # at most ~20% of the GUI thread's time goes to camera frames, however slow they are
        interval = max(self.min_interval_ms, 5 * self.last_render_ms)
        if (default_clock().now() - self._last_render_t) * 1e3 < interval:   # throttle: app/core/clock.py
            return
        try:
            self.render_now()
        except Exception as exc:  # noqa: BLE001 - a timer slot: show it here, not a dialog per tick
            self._dirty = False
            self._last_render_t = default_clock().now()
            self._pixmap = None
            self.image.setText(f"camera unavailable: {exc}")
            self.image.setWordWrap(True)

    def render_now(self) -> np.ndarray | None:
        """Render the chosen camera now; returns the RGB image [h, w, 3] uint8 (None: no scene)."""
        if not self.session.loaded:
            return None
        name = self.combo.currentText() or DEFAULT_CAMERAS[0]
        start = time.perf_counter()
        w, h = self.render_size
        rgb = np.ascontiguousarray(
            np.asarray(self.session.scene.camera_image(name, width=w, height=h))[..., :3],
            dtype=np.uint8)
        self.last_render_ms = (time.perf_counter() - start) * 1e3   # a measurement, not state
        self._last_render_t = default_clock().now()
        self._dirty = False
        self._pixmap = QtGui.QPixmap.fromImage(rgb_qimage(rgb))
        self._rescale()
        self.info.setText(f"{self.last_render_ms:.0f} ms")
        return rgb

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is not None:
            self.image.setPixmap(self._pixmap.scaled(
                self.image.size(), QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                QtCore.Qt.TransformationMode.SmoothTransformation))
