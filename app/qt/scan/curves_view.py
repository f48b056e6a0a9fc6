"""Per-episode metric curves: the heat map's metric along the selected episode, one curve per
policy, with the selected frame marked and its flags as points."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from app.core.scan.state import ScanState
from recordings.scan_ranking import METRICS

POLICY_PENS = ("#8C8C8C", "#56B4E9")        # A grey, B (the candidate) sky blue
FLAG_BRUSH = "#FF3B30"


class EpisodeCurvesView(QtWidgets.QWidget):
    """Created once; `setData` on the same items whenever the episode or metric changes."""

    def __init__(self, state: ScanState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.title = QtWidgets.QLabel("Select a frame in the heat map or the queue")
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "frame")
        self.plot.getAxis("left").enableAutoSIPrefix(False)    # 0.5, not "500 m"
        self.plot.setMinimumHeight(180)
        self.plot.addLegend(offset=(-10, 10))
        self.curves = [self.plot.plot([], [], pen=pg.mkPen(POLICY_PENS[i], width=2),
                                      name=f"policy {i}") for i in range(2)]
        self.flags = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(FLAG_BRUSH), pen=None)
        self.plot.addItem(self.flags)
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#00E5FF", width=1))
        self.plot.addItem(self.cursor)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)
        state.events.selected.connect(lambda e, f: self.refresh())
        state.events.metric.connect(lambda m, p: self.refresh())
        state.events.opened.connect(self._opened)

    def _opened(self, path: str) -> None:
        """Legend rows only for the scan's own policies: a one-policy scan showed a second,
        empty "policy 1" row beside the cursor's colour."""
        legend = self.plot.plotItem.legend
        labels = self.state.policy_labels
        for i, curve in enumerate(self.curves):
            curve.setData([], [])
            if legend is None:
                continue
            legend.removeItem(curve)
            if i < len(labels):
                legend.addItem(curve, labels[i])
        self.flags.setData([], [])

    def refresh(self) -> None:
        if self.state.selection is None:
            return
        episode, frame = self.state.selection
        metric = self.state.metric
        frames, values = self.state.curves(episode, metric)
        for i, curve in enumerate(self.curves):
            if i < values.shape[1]:
                curve.setData(frames.astype(float), values[:, i].astype(float))
            else:
                curve.setData([], [])
        flagged = self._flagged(episode)
        # on the curve of the policy whose flags they are (the title names it), not the last one
        y = values[:, min(self.state.policy, values.shape[1] - 1)].astype(float)
        self.flags.setData(frames[flagged].astype(float), np.nan_to_num(y[flagged]))
        self.cursor.setValue(frame)
        unit = METRICS[metric][1] if metric in METRICS else ""
        self.plot.setLabel("left", f"{metric} ({unit})" if unit else metric)
        self.title.setText(f"Episode {episode}: {metric} per frame; red points: frames flagged "
                           f"for {self.state.policy_labels[self.state.policy]}")

    def _flagged(self, episode: int) -> np.ndarray:
        out = None
        for flag in ("collapsed", "averaged", "off_data", "invalid"):
            if self.state.reader is not None and flag in self.state.reader.spec:
                _, v = self.state.curves(episode, flag)
                hit = v[:, min(self.state.policy, v.shape[1] - 1)] > 0
                out = hit if out is None else out | hit
        return out if out is not None else np.zeros(0, bool)
