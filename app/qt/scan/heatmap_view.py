"""The episodes x time heat map of a scan: ONE pyqtgraph ImageItem for every cell.

A metric's grid [E, T] (float, NaN = frame not scanned) becomes a uint8 index image (0..253 the
colour scale, 255 not scanned) quantised once per metric in numpy, drawn through a 256-entry
lookup table; ImageItem's autoDownsample draws no more cells than the screen has pixels, so 10,000
episodes x 1,000 frames pan and zoom smoothly. Rows are episodes (top = first), columns frames.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.core.scan.state import ScanState
from recordings.scan_ranking import METRICS

NOT_SCANNED = 255
SCALE_LEVELS = 254


def colour_table(direction: int) -> np.ndarray:
    """[256, 4] uint8: entries 0..253 a perceptual scale from calm (dark blue) to alarming
    (yellow) in the metric's "worse" direction; 255 transparent (not scanned)."""
    cmap = pg.colormap.get("inferno")
    lut = cmap.getLookupTable(0.08, 1.0, SCALE_LEVELS, alpha=True).astype(np.uint8)
    if direction < 0:
        lut = lut[::-1]
    table = np.zeros((256, 4), np.uint8)
    table[:SCALE_LEVELS] = lut
    table[SCALE_LEVELS:] = (0, 0, 0, 0)
    return table


def quantise(grid: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """[E, T] float -> uint8 indices into colour_table (NaN -> NOT_SCANNED). Three passes over
    float32, in place: ~40 MB of work for 10 M cells."""
    span = hi - lo if hi > lo else 1.0
    scaled = np.subtract(grid, np.float32(lo), dtype=np.float32)
    scaled *= np.float32((SCALE_LEVELS - 1) / span)
    np.clip(scaled, 0, SCALE_LEVELS - 1, out=scaled)             # NaN stays NaN
    nan = np.isnan(scaled)
    scaled[nan] = NOT_SCANNED
    return scaled.astype(np.uint8)


def levels(grid: np.ndarray) -> tuple[float, float]:
    """Colour range: flags and shares on their natural [0, 1], other metrics 1st..99th
    percentile of a sample of the finite values (robust to outliers; cheap on 10 M cells)."""
    flat = grid.reshape(-1)
    if flat.size > 200_000:
        flat = flat[:: flat.size // 200_000]
    flat = flat[np.isfinite(flat)]
    if not flat.size:
        return 0.0, 1.0
    lo, hi = np.percentile(flat, [1, 99])
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


class _Marker(pg.ScatterPlotItem):
    """The selected cell's outline. It never takes a click: after the first click of a double-
    click it sits under the pointer, and the double-click belongs to the cell beneath it."""

    def mouseClickEvent(self, ev) -> None:
        ev.ignore()


class HeatMapView(QtWidgets.QWidget):
    """Metric and policy pickers above the image; a click on a cell selects that frame, a
    double-click also asks to open it (cellOpened: the workspace hands it to the inspector)."""
    cellActivated = QtCore.Signal(int, int)       # episode, frame
    cellOpened = QtCore.Signal(int, int)          # episode, frame (double-click)

    def __init__(self, state: ScanState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.metric_box = QtWidgets.QComboBox()
        self.metric_box.setToolTip("metric coloured in the heat map")
        self.policy_box = QtWidgets.QComboBox()
        for box in (self.metric_box, self.policy_box):      # names must be readable, not cut
            box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.scale_label = QtWidgets.QLabel("")
        top = QtWidgets.QHBoxLayout()
        for w in (QtWidgets.QLabel("Colour by"), self.metric_box, self.policy_box):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.scale_label)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.invertY(True)
        self.plot.setLabel("bottom", "frame")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setAutoDownsample(True)
        self.plot.addItem(self.image)
        self.marker = _Marker(size=12, pen=pg.mkPen("#00E5FF", width=2), brush=None, symbol="s")
        self.plot.addItem(self.marker)
        self._indexed: dict[tuple[str, str, int], tuple[np.ndarray, float, float]] = {}
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        self.metric_box.currentTextChanged.connect(self._pick_metric)
        self.policy_box.currentIndexChanged.connect(self._pick_policy)
        self.image.mouseClickEvent = self._clicked       # one item: the click maps to a cell
        state.events.opened.connect(self._opened)
        state.events.metric.connect(self._show)
        state.events.selected.connect(self._mark)

    # ----- state -> view -----
    def _opened(self, path: str) -> None:
        self._indexed.clear()
        for box, items in ((self.metric_box, self.state.metrics),
                           (self.policy_box, self.state.policy_labels)):
            box.blockSignals(True)
            box.clear()
            box.addItems(items)
            box.blockSignals(False)
        self.policy_box.setVisible(self.state.num_policies > 1)
        self.marker.setData([], [])

    def _show(self, metric: str, policy: int) -> None:
        for box, value in ((self.metric_box, metric), (self.policy_box, None)):
            box.blockSignals(True)
            if value is not None:
                box.setCurrentText(value)
            else:
                box.setCurrentIndex(policy)
            box.blockSignals(False)
        self.policy_box.setEnabled(metric in METRICS)
        grid = self.state.grid
        key = (self.state.path, metric, policy)
        if key not in self._indexed:       # quantised once per metric: switching back is free
            lo, hi = (0.0, 1.0) if METRICS.get(metric, (0, ""))[1] in ("flag", "share", "score") \
                else levels(grid)
            self._indexed[key] = (quantise(grid, lo, hi), lo, hi)
        indexed, lo, hi = self._indexed[key]
        self.image.setImage(indexed, lut=colour_table(self.state.direction()),
                            levels=(0, 255), autoLevels=False)
        self.image.setRect(QtCore.QRectF(0, self._first_row(), grid.shape[1] * self.state.every,
                                         grid.shape[0]))
        unit = METRICS[metric][1] if metric in METRICS else ""
        self.scale_label.setText(f"{lo:.3g} .. {hi:.3g} {unit}  (brighter = worse)")

    def _first_row(self) -> float:
        """Rows are labelled with episode numbers when the scan covers a contiguous range (the
        usual --episodes A:B), else with row positions."""
        eps = self.state.episodes
        contiguous = len(eps) and int(eps[-1]) - int(eps[0]) == len(eps) - 1
        self.plot.setLabel("left", "episode" if contiguous else "episode (row in the scan)")
        return float(eps[0]) if contiguous else 0.0

    def _mark(self, episode: int, frame: int) -> None:
        rows = np.flatnonzero(self.state.episodes == episode)
        if rows.size:
            self.marker.setData([frame + self.state.every / 2],
                                [rows[0] + self._first_row() + 0.5])

    # ----- view -> state -----
    def _pick_metric(self, metric: str) -> None:
        if metric:
            self.state.set_metric(metric)

    def _pick_policy(self, index: int) -> None:
        if index >= 0:
            self.state.set_metric(self.state.metric, index)

    def _clicked(self, ev) -> None:
        pos = ev.pos()      # image coordinates: (column, row) in cells
        cell = self.state.cell(int(pos.y()), int(pos.x()))
        if cell is not None:
            ev.accept()
            self.cellActivated.emit(*cell)
            if ev.double():
                self.cellOpened.emit(*cell)
