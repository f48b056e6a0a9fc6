"""The banner over the 3-D scene view while the inspector's observation is a recorded frame:
"Observation from <data set> · episode E · frame F", the data's camera image at that frame (when
the data set has a camera), ◀ / ▶ to sample at the previous / next frame, and "Back to live scene"
(one click). What the scene behind it is comes from RecordedSceneGuard
(app/qt/inspector/recorded_scene.py): "scene set to the recorded state" when the live scene was put
into the frame's state, or "live scene hidden" when the data set does not give that state.

Reacts to InspectorState.events.source (shown / hidden) and .batch (the camera image of the
frame the plans are for); writes nothing to the state itself: its buttons are signals.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.core.inspector.state import DataFrameSource, InspectorState
from app.qt.shell.camera_view import rgb_qimage

BANNER_STYLE = ("QFrame#data_source_banner { background: rgba(20, 70, 120, 235); "
                "border: 1px solid #8FC3F0; border-radius: 5px; } "
                "QFrame#data_source_banner QLabel { color: white; background: transparent; }")
THUMB_PX = 96


class SourceBanner(QtWidgets.QFrame):
    """A child of the scene view, kept across its top edge; hidden for the live scene."""

    backRequested = QtCore.Signal()
    frameStepRequested = QtCore.Signal(int)      # -1 / +1: the previous / next frame

    def __init__(self, state: InspectorState, view: QtWidgets.QWidget) -> None:
        super().__init__(view)
        self.state = state
        self.view = view
        self.setObjectName("data_source_banner")
        self.setStyleSheet(BANNER_STYLE)
        self.thumb = QtWidgets.QLabel()
        self.thumb.setObjectName("data_source_camera")
        self.thumb.setFixedSize(THUMB_PX, THUMB_PX)
        self.thumb.setScaledContents(False)
        self.thumb.hide()
        self.text = QtWidgets.QLabel()
        self.text.setObjectName("data_source_text")
        self.text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.prev_button = QtWidgets.QPushButton("◀ frame")
        self.next_button = QtWidgets.QPushButton("frame ▶")
        self.back_button = QtWidgets.QPushButton("Back to live scene")
        self.back_button.setObjectName("back_to_live_scene")
        self.back_button.setToolTip("Sample at the live scene again (its policy and plans come back)")
        self.prev_button.setToolTip("Sample at the previous recorded frame")
        self.next_button.setToolTip("Sample at the next recorded frame")
        self.prev_button.clicked.connect(lambda: self.frameStepRequested.emit(-1))
        self.next_button.clicked.connect(lambda: self.frameStepRequested.emit(1))
        self.back_button.clicked.connect(self.backRequested.emit)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.thumb)
        row.addWidget(self.text, 1)
        # the buttons stacked (◀ ▶ over Back): in one row they took half of a narrow scene
        # view and the text wrapped into a tall column
        buttons = QtWidgets.QGridLayout()
        buttons.setSpacing(4)
        buttons.addWidget(self.prev_button, 0, 0)
        buttons.addWidget(self.next_button, 0, 1)
        buttons.addWidget(self.back_button, 1, 0, 1, 2)
        row.addLayout(buttons)
        self.scene_note = ""       # what the scene behind shows (set_scene_note)
        self.scene_staged = False
        self.hide()
        view.installEventFilter(self)
        state.events.source.connect(lambda _s: self.refresh())
        state.events.batch.connect(lambda _r: self.refresh())

    def eventFilter(self, obj, event) -> bool:  # noqa: N802  Qt API
        if obj is self.view and event.type() == QtCore.QEvent.Type.Resize:
            self.place()
        return False

    def place(self) -> None:
        width = max(self.view.width() - 16, 200)
        self.setFixedWidth(width)
        # the wrapped text's height at this width (adjustSize would use the unwrapped hint)
        height = self.heightForWidth(width) if self.hasHeightForWidth() else -1
        self.setFixedHeight(max(height, self.minimumSizeHint().height()))
        self.move(8, 8)

    def banner_text(self) -> str:
        """The banner's words ("" for the live scene)."""
        return self.text.text() if self.isVisible() else ""

    def set_scene_note(self, note: str, *, staged: bool) -> None:
        """What the 3-D scene behind the plans is at this frame (RecordedSceneGuard says)."""
        self.scene_note, self.scene_staged = note, staged
        self.refresh()

    def refresh(self) -> None:
        source: DataFrameSource | None = self.state.source
        if source is None:
            self.hide()
            return
        data = self.state.data
        shown = data is not None and (data.episode, data.frame) == (source.episode, source.frame)
        plans = ""
        if shown:
            where = "here and in the chain dock" if data.end_effector else \
                "in the chain dock only (not hand positions: per-dimension curves, PCA)"
            plans = (f"<br>{len(data.plans)} plans drawn {where} with the demonstrated chunk "
                     f"(green) and the {len(data.neighbours)} nearest frames' chunks (grey).")
        camera = self.state.data_camera if shown else None
        cam = f" · data camera <i>{camera[0]}</i>" if camera is not None else ""
        scene = f"<br><i>{_escape(self.scene_note)}</i>" if self.scene_note else ""
        self.text.setText(f"<b>Observation from {_escape(source.name)} · episode "
                          f"{source.episode} · frame {source.frame}</b>{cam}{scene}{plans}")
        self._show_camera(camera[1] if camera is not None else None)
        self.prev_button.setEnabled(source.frame > 0)
        self.next_button.setEnabled(source.length is None or source.frame + 1 < source.length)
        self.place()
        self.show()
        self.raise_()

    def _show_camera(self, image: np.ndarray | None) -> None:
        if image is None:
            self.thumb.hide()
            return
        self.thumb.setPixmap(QtGui.QPixmap.fromImage(rgb_qimage(image)).scaled(
            THUMB_PX, THUMB_PX, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
            QtCore.Qt.TransformationMode.SmoothTransformation))
        self.thumb.show()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
