"""Action and state curves of the current rollout with a time cursor.

Top plot: the commanded action per control step (x, y, z in metres; gripper 0..1 on the same
axis). Bottom plot: one low-dim observation field, chosen in a combo box (e.g. the end-effector
or mug position). Curves are created once and updated with setData; the cursor is one
InfiniteLine per plot moved on every step. Clicking a plot moves the session to that step.
A series with no finite value in this rollout (all NaN or inf: a planner that returned NaN, a
broken sensor) would draw nothing; the plot says so instead, in a notice in its middle, e.g.
"actions: all NaN in this rollout" or "actions gripper: all NaN in this rollout".
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.core.review.data import RolloutData
from app.core.review.state import ReviewSession
from app.qt.shell.theme import cache_axes

ACTION_NAMES = ("x", "y", "z", "gripper")
CURVE_COLOURS = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#F0E442", "#B7E4A7", "#FFB6DB")
FAIL_COLOUR = "#FF3B30"
NOTICE_COLOUR = "#FF9F0A"


def empty_series_notice(what: str, values: np.ndarray | None, names: list[str]) -> str:
    """The notice for `values` [T, k]: "" when every column has a finite value, else which
    columns (all of them: just `what`) hold none, and whether that is NaN only or NaN/inf."""
    if values is None or values.ndim != 2 or values.size == 0 or values.dtype.kind not in "fc":
        return ""
    finite = np.isfinite(values)
    empty = ~finite.any(axis=0)                             # [k] columns with no finite value
    if not empty.any():
        return ""
    kind = "NaN" if np.isnan(values[:, empty]).all() else "NaN/inf"
    columns = "" if empty.all() else " " + ", ".join(names[i] for i in np.flatnonzero(empty))
    return f"{what}{columns}: all {kind} in this rollout"


def _make_notice(plot: pg.PlotWidget) -> pg.TextItem:
    """A text item in the middle of the plot area (parented to the ViewBox, so it stays put when
    the view pans or zooms, and clear of the legend at the top left), hidden until there is
    something to say."""
    view = plot.getPlotItem().getViewBox()
    notice = pg.TextItem("", color=NOTICE_COLOUR, anchor=(0.5, 0.5), fill=pg.mkBrush(0, 0, 0, 170))
    notice.setParentItem(view)
    notice.setZValue(1000)
    notice.setVisible(False)

    def centre(*_args) -> None:
        rect = view.boundingRect()
        notice.setPos(rect.center().x(), rect.center().y())
    view.sigResized.connect(centre)
    centre()
    return notice


def _show_notice(notice: pg.TextItem, text: str) -> None:
    notice.setText(text)
    notice.setVisible(bool(text))


def _make_plot(title: str, y_label: str) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setMinimumHeight(70)
    plot.setTitle(title, size="9pt")
    plot.setLabel("left", y_label)
    plot.setLabel("bottom", "control step (10 Hz)")
    plot.getPlotItem().titleLabel.setMaximumHeight(16)
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.addLegend(offset=(4, 4), labelTextSize="8pt", colCount=4)
    plot.setMouseEnabled(x=True, y=False)
    plot.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
    cache_axes(plot)
    return plot


class RolloutPlots(QtWidgets.QWidget):
    """Two stacked plots with linked x axes. `cursor_step` is where the cursors are drawn."""

    def __init__(self, session: ReviewSession | None = None, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.data: RolloutData | None = None
        self.action_plot = _make_plot("Commanded actions", "m  /  gripper (1 = open)")
        self.state_plot = _make_plot("Observed state", "value")
        self.state_plot.setXLink(self.action_plot)
        self.field_box = QtWidgets.QComboBox(toolTip="Observation field drawn below")
        self.field_box.currentTextChanged.connect(self._draw_state)
        self.action_curves = [self.action_plot.plot([], [], name=n,
                                                    pen=pg.mkPen(CURVE_COLOURS[i], width=1.5))
                              for i, n in enumerate(ACTION_NAMES)]
        self.state_curves: list[pg.PlotDataItem] = []
        self.action_notice = _make_notice(self.action_plot)
        self.state_notice = _make_notice(self.state_plot)
        self.cursors = []
        self.fail_lines = []
        for plot in (self.action_plot, self.state_plot):
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#FFFFFF", width=1.5))
            fail = pg.InfiniteLine(angle=90, movable=False,
                                   pen=pg.mkPen(FAIL_COLOUR, width=1.5, style=QtCore.Qt.DashLine))
            fail.setVisible(False)
            plot.addItem(fail)
            plot.addItem(cursor)
            self.cursors.append(cursor)
            self.fail_lines.append(fail)
            plot.scene().sigMouseClicked.connect(lambda ev, p=plot: self._clicked(ev, p))
        right = QtWidgets.QVBoxLayout()
        header = QtWidgets.QHBoxLayout()
        header.addWidget(QtWidgets.QLabel("State field:"))
        header.addWidget(self.field_box, 1)
        right.addLayout(header)
        right.addWidget(self.state_plot, 1)
        # side by side: the dock stays short and both curves keep the full time axis
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.action_plot, 1)
        layout.addLayout(right, 1)
        if session is not None:
            session.events.rollout_changed.connect(self.set_rollout)

    def set_rollout(self, data: RolloutData | None) -> None:
        self.data = data
        if data is None:
            for c in self.action_curves + self.state_curves:
                c.setData([], [])
            _show_notice(self.action_notice, "")
            _show_notice(self.state_notice, "")
            return
        steps = np.arange(data.num_steps)
        for i, curve in enumerate(self.action_curves):
            curve.setData(steps, data.actions[:, i] if i < data.actions.shape[1] else [])
        names = [ACTION_NAMES[i] if i < len(ACTION_NAMES) else f"[{i}]"
                 for i in range(data.actions.shape[1] if data.actions.ndim == 2 else 0)]
        _show_notice(self.action_notice, empty_series_notice("actions", data.actions, names))
        previous = self.field_box.currentText()
        self.field_box.blockSignals(True)
        self.field_box.clear()
        fields = list(data.obs)
        self.field_box.addItems(fields)
        preferred = [f for f in (previous, "mug_pos", "object_pos", "ee_pos") if f in fields]
        if preferred:
            self.field_box.setCurrentText(preferred[0])
        self.field_box.blockSignals(False)
        self._draw_state(self.field_box.currentText())
        for line in self.fail_lines:
            line.setVisible(not data.success)
            line.setValue(data.failure_step)
        self.action_plot.setXRange(0, max(data.num_steps - 1, 1), padding=0.02)

    def _draw_state(self, key: str) -> None:
        data = self.data
        values = None if data is None else data.obs.get(key)
        width = 0 if values is None else min(values.shape[1], len(CURVE_COLOURS))
        while len(self.state_curves) < width:
            i = len(self.state_curves)
            self.state_curves.append(self.state_plot.plot(
                [], [], pen=pg.mkPen(CURVE_COLOURS[i], width=1.5), name=f"[{i}]"))
        for i, curve in enumerate(self.state_curves):
            if i < width:
                curve.setData(np.arange(len(values)), values[:, i])
                curve.setVisible(True)
            else:
                curve.setData([], [])
                curve.setVisible(False)
        self.state_plot.setTitle(f"Observed state: {key}" if key else "Observed state", size="9pt")
        names = [f"[{i}]" for i in range(values.shape[1])] if values is not None and values.ndim == 2 else []
        _show_notice(self.state_notice, empty_series_notice(key, values, names) if key else "")

    def set_cursor(self, step: int) -> None:
        for cursor in self.cursors:
            cursor.setValue(step)

    def _clicked(self, event, plot: pg.PlotWidget) -> None:
        if self.session is None or self.data is None:
            return
        point = plot.getPlotItem().vb.mapSceneToView(event.scenePos())
        self.session.set_step(int(round(point.x())))
