"""What-if: move the mug (spin boxes, or Shift+drag in the 3-D view) and re-sample.

"Live" re-samples on every change, throttled: edits are debounced (THROTTLE_MS), and a change
while a sampling runs cancels it and starts again when it has stopped, so the GUI never queues
stale work and stays smooth. Positions are world metres, yaw in degrees (the scene's convention:
-90° points the handle away from the robot). Under the spin boxes: the policy's training range
of the mug pose (from its checkpoint), so a pose outside it is seen to be before the reading
says `out-of-distribution`. At a recorded frame (a data set's observation) the panel is off
with a one-line reason: a moved mug would no longer be the state whose nearest frames the Modes
dock reads the plans against.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6 import QtCore, QtWidgets

from app.core.inspector.state import InspectorState

THROTTLE_MS = 150
FRAME_REASON = ("Off at a recorded frame: the observation is the data set's, read against its "
                "nearest frames. Back to live scene to move the mug.")


class WhatIfPanel(QtWidgets.QGroupBox):
    def __init__(self, state: InspectorState, controller: Any, window: Any = None, parent=None) -> None:
        super().__init__("What-if: mug pose", parent)
        self.state = state
        self.controller = controller
        self.window = window
        self.x = self._spin(0.2, 0.9, 0.005, 3, " m", "Mug x (away from the robot), metres")
        self.y = self._spin(-0.4, 0.4, 0.005, 3, " m", "Mug y (to the robot's left), metres")
        self.yaw = self._spin(-180.0, 180.0, 5.0, 0, "°", "Mug yaw, degrees")
        self.live = QtWidgets.QCheckBox("Live")
        self.live.setToolTip("Re-sample on every change (throttled)")
        self.apply_button = QtWidgets.QPushButton("Move && sample")
        self.apply_button.setToolTip("Put the mug at this pose and sample again")
        self.apply_button.clicked.connect(self.apply)
        self.reset_button = QtWidgets.QPushButton("Reset")
        self.reset_button.setToolTip("Back to the scene's own mug pose")
        self.reset_button.clicked.connect(self.reset)
        hint = QtWidgets.QLabel("Shift+drag in the 3-D view moves the mug on the table.")
        hint.setStyleSheet("color: #9AA0A8;")
        hint.setWordWrap(True)
        form = QtWidgets.QFormLayout(self)
        form.addRow("x", self.x)
        form.addRow("y", self.y)
        form.addRow("yaw", self.yaw)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.live)
        row.addWidget(self.apply_button, 1)
        row.addWidget(self.reset_button)
        form.addRow(row)
        form.addRow(hint)
        # at a recorded frame the observation is the data's: one visible line says why the
        # panel is off (editing it would detach it from the K nearest frames it is read against)
        self.reason = QtWidgets.QLabel(FRAME_REASON)
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: #E0B050;")
        self.reason.setVisible(False)
        form.addRow(self.reason)
        self._controls = (self.x, self.y, self.yaw, self.live, self.apply_button, self.reset_button, hint)
        self._form = form
        self._throttle = QtCore.QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(THROTTLE_MS)
        self._throttle.timeout.connect(self.apply)
        for spin in (self.x, self.y, self.yaw):
            spin.valueChanged.connect(self._changed)
        state.events.observation.connect(self._show_observation)
        state.events.policy.connect(self._show_training_range)
        state.events.source.connect(self._show_source)
        self._dragger = None
        if window is not None and hasattr(window, "scene_view"):
            from app.qt.inspector.scene_mouse import SceneMouse
            self._dragger = SceneMouse(window.scene_view, state, self._dragged)

    @staticmethod
    def _spin(lo: float, hi: float, step: float, decimals: int, suffix: str, tip: str):
        spin = QtWidgets.QDoubleSpinBox()
        spin.setRange(lo, hi)
        spin.setSingleStep(step)
        spin.setDecimals(decimals)
        spin.setSuffix(suffix)
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        return spin

    def pose(self) -> tuple[float, float, float]:
        """(x m, y m, yaw rad) from the spin boxes."""
        return float(self.x.value()), float(self.y.value()), math.radians(self.yaw.value())

    def set_pose(self, x: float, y: float, yaw: float | None = None, *, apply: bool = True) -> None:
        """Set the spin boxes (yaw in radians; None keeps it); `apply` moves the mug and
        re-samples (throttled)."""
        for spin, value in ((self.x, x), (self.y, y)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        if yaw is not None:
            self.yaw.blockSignals(True)
            self.yaw.setValue(math.degrees(yaw))
            self.yaw.blockSignals(False)
        if apply:
            self._throttle.start()

    def _dragged(self, x: float, y: float, finished: bool) -> None:
        if self.state.source is not None:      # the mug is the live scene's, not the frame's
            return
        self.set_pose(x, y, None, apply=finished or self.live.isChecked())

    def _changed(self) -> None:
        if self.live.isChecked():
            self._throttle.start()   # restarts: a burst of edits gives one re-sample

    def _show_source(self, source) -> None:
        """Off at a recorded frame, with the reason shown; on again on the live scene."""
        at_frame = source is not None
        if at_frame:
            self._throttle.stop()
        for widget in self._controls:
            widget.setEnabled(not at_frame)
        self.reason.setVisible(at_frame)

    def apply(self) -> None:
        if self.state.source is not None:      # a drag or a late timer at a recorded frame
            return
        self.controller.set_object_pose(self.pose())
        if self.window is not None and hasattr(self.window, "scene_view"):
            self.window.scene_view.refresh_poses()
        self.controller.sample(restart=True)

    def reset(self) -> None:
        self._throttle.stop()
        if self.state.source is not None:
            return
        self.controller.set_object_pose(None)
        if self.state.policy is not None:
            self.controller.sample(restart=True)

    def training_ranges(self, policy) -> dict[str, str]:
        """{'x': '0.444..0.601', 'y': ..., 'yaw': '-123..-58'} from the policy's recorded
        training range (metres, degrees); {} when it has none."""
        span = getattr(policy, "obs_range", None) if policy is not None else None
        names = list(getattr(span, "names", ()) or ())
        out = {}
        for axis, key in (("x", "mug_pos[0]"), ("y", "mug_pos[1]")):
            if key in names:
                i = names.index(key)
                out[axis] = f"{span.low[i]:.3f}..{span.high[i]:.3f}"
        if "mug_yaw[0]" in names and "mug_yaw[1]" in names:
            c, s = names.index("mug_yaw[0]"), names.index("mug_yaw[1]")
            # the yaw interval spanned by the (cos, sin) box's corners (it stays within one side)
            corners = [math.degrees(math.atan2(sv, cv)) for cv in (span.low[c], span.high[c])
                       for sv in (span.low[s], span.high[s])]
            out["yaw"] = f"{min(corners):.0f}..{max(corners):.0f}"
        return out

    def _show_training_range(self, policy) -> None:
        """Each spin box's row label and tooltip show the policy's training range ('x 0.44..0.60'),
        so a pose outside it is seen before the reading says out-of-distribution."""
        ranges = self.training_ranges(policy)
        for axis, spin, unit in (("x", self.x, " m"), ("y", self.y, " m"), ("yaw", self.yaw, "°")):
            label = self._form.labelForField(spin)
            text = ranges.get(axis)
            if label is not None:
                label.setText(f"{axis} <span style='color:#9AA0A8'>(trained {text})</span>" if text else axis)
            spin.setToolTip(spin.toolTip().split("\n")[0] + (f"\ntrained {text}{unit}" if text else ""))

    def _show_observation(self, obs) -> None:
        if not obs or "mug_pos" not in obs or self._throttle.isActive():
            return
        pos = np.asarray(obs["mug_pos"]).reshape(-1)
        yaw = None
        if "mug_yaw" in obs:
            c, s = np.asarray(obs["mug_yaw"], dtype=np.float64).reshape(-1)[:2]
            yaw = math.atan2(s, c)
        self.set_pose(float(pos[0]), float(pos[1]), yaw, apply=False)
