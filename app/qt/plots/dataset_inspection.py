"""DatasetInspectionView: a policy's plans at a recorded frame, drawn with the demonstrated chunk
and the chunks of the K nearest frames (app/core/inspector/dataset_source.py computes them).

- a verdict badge (multimodal / collapsed / averaging / ...) with its reason, which names what it
  compared against ("the 32 nearest frames of out");
- per-dimension curves over the horizon: one small plot per action dimension; neighbours' chunks
  grey, plans coloured by the local data mode they fall in (grey = none), the demonstrated chunk
  white and thick — for any action space (joint targets, 2-D pushes, hand positions);
- a 2-D view: end-effector actions (x, y, z first) keep the top-down x–y path view; any other
  action space gets a 2-D PCA projection of the chunks (one point per chunk, fitted on plans,
  neighbours and demo together in normalised units; the axes say how much variance they hold);
- a denoising-step slider: the plans at chain step s (when the planner recorded its chain).

Each group (a mode's plans, the neighbours, the demo) is ONE PlotDataItem with a `connect` array,
so the item count never grows with N or K.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.qt.plots.mode_colors import UNLABELLED_HEX, mode_hex

NEIGHBOUR_HEX = "#9A9A9A"
DEMO_HEX = "#FFFFFF"
MAX_DIMS = 8                # per-dimension plots shown (the rest are listed, not drawn)
VERDICT_HEX = {"multimodal": "#5BC46A", "unimodal-as-data": "#5BC46A", "collapsed": "#FF6B5E",
               "averaging": "#FF6B5E", "skewed": "#E69F00", "no-mode": "#E69F00",
               "invalid": "#FF6B5E"}


def _lines(chunks: np.ndarray, x: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """chunks [M, H] (one dimension; x [M, H] or the step index) -> (x [M*H], y [M*H],
    connect [M*H]) for one item: each chunk a polyline, chunks not joined."""
    m, h = chunks.shape
    xs = np.tile(np.arange(h, dtype=np.float64), m) if x is None else \
        np.asarray(x, np.float64).reshape(-1)
    connect = np.ones(m * h, dtype=bool)
    connect[h - 1::h] = False
    return xs, np.asarray(chunks, np.float64).reshape(-1), connect


class DatasetInspectionView(QtWidgets.QWidget):
    """show(result) draws a DatasetInspection; set_step(s) shows chain step s."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: Any = None
        self.badge = QtWidgets.QLabel("no inspection yet: pick an episode and a frame, then "
                                      "Inspect policy at this frame")
        self.badge.setObjectName("dataset_verdict")
        self.badge.setWordWrap(True)
        self.badge.setTextFormat(QtCore.Qt.RichText)
        self.legend = QtWidgets.QLabel("")
        self.legend.setWordWrap(True)
        self.curves = pg.GraphicsLayoutWidget()
        self.curves.setObjectName("dataset_dim_curves")
        self.plane = pg.PlotWidget()
        self.plane.setObjectName("dataset_projection")
        self.plane.showGrid(x=True, y=True, alpha=0.2)
        for axis in ("bottom", "left"):          # metres stay metres (no "x0.001" prefix)
            self.plane.getAxis(axis).enableAutoSIPrefix(False)
        self.step = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.step.setEnabled(False)
        self.step_label = QtWidgets.QLabel("step –")
        self.step.valueChanged.connect(self.set_step)
        split = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        split.addWidget(self.curves)
        split.addWidget(self.plane)
        split.setSizes([640, 360])
        steps = QtWidgets.QHBoxLayout()
        steps.addWidget(QtWidgets.QLabel("denoising"))
        steps.addWidget(self.step, 1)
        steps.addWidget(self.step_label)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.badge)
        lay.addWidget(split, 1)
        lay.addLayout(steps)
        lay.addWidget(self.legend)
        self._dim_plots: list[pg.PlotItem] = []
        self._plan_items: list[list[pg.PlotDataItem]] = []     # [dim][mode]
        self._plane_plan_items: list[pg.PlotDataItem] = []

    # ---- drawing
    def show_result(self, result: Any) -> None:
        """Draw a DatasetInspection (its final plans; the slider moves through its chain)."""
        self.result = result
        verdict = result.verdict or "–"
        colour = VERDICT_HEX.get(verdict, "#CCCCCC")
        self.badge.setText(
            f"<b>episode {result.episode}, frame {result.frame}</b> — {len(result.plans)} plans "
            f"of {result.policy} &nbsp; <span style='background:{colour};color:#000;"
            f"padding:2px 6px'>&nbsp;{verdict}&nbsp;</span><br>{_escape(result.reason)}")
        modes = list(result.data_shares)
        named = {m: f"{m} = {t}" if t else m for m, t in
                 ((m, result.data_labels.get(m, "")) for m in modes)}
        parts = [f"<span style='color:{mode_hex(i)}'>■</span> {named[m]}: plans "
                 f"{result.shares[m]:.0%} / data {result.data_shares[m]:.0%}"
                 for i, m in enumerate(modes)]
        parts.append(f"<span style='color:{UNLABELLED_HEX}'>■</span> no mode")
        parts.append(f"<span style='color:{NEIGHBOUR_HEX}'>—</span> {len(result.neighbours)} "
                     f"nearest frames' chunks")
        parts.append(f"<span style='color:{DEMO_HEX}'>━</span> demonstrated chunk")
        self.legend.setText(" &nbsp; ".join(parts))
        self.legend.setTextFormat(QtCore.Qt.RichText)
        self._build_dims(result)
        self._draw_plane(result)
        chain = getattr(result.batch, "chain", None)
        steps = 0 if chain is None else int(np.asarray(chain).shape[0]) - 1
        self.step.blockSignals(True)
        self.step.setRange(0, max(steps, 0))
        self.step.setValue(max(steps, 0))
        self.step.setEnabled(steps > 0)
        self.step.blockSignals(False)
        self.step_label.setText(f"step {steps}/{steps}" if steps else "final plans")

    def _mode_index(self, result: Any) -> np.ndarray:
        names = list(result.data_shares)
        return np.asarray([names.index(lab) if lab in names else -1 for lab in result.labels])

    def _build_dims(self, result: Any) -> None:
        self.curves.clear()
        self._dim_plots, self._plan_items = [], []
        d = result.plans.shape[2]
        cols = 2 if d > 2 else d
        modes = self._mode_index(result)
        for j in range(min(d, MAX_DIMS)):
            plot = self.curves.addPlot(row=j // cols, col=j % cols)
            name = result.action_names[j] if j < len(result.action_names) else f"a{j}"
            plot.setTitle(name, size="9pt")
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMenuEnabled(False)
            if len(result.neighbours):
                x, y, c = _lines(result.neighbours[:, :, j])
                plot.addItem(pg.PlotDataItem(x, y, connect=c, pen=pg.mkPen(
                    NEIGHBOUR_HEX, width=1, style=QtCore.Qt.DashLine)))
            items = []
            for m in sorted(set(modes.tolist())):
                item = pg.PlotDataItem(pen=pg.mkPen(mode_hex(m), width=1))
                item.setOpacity(0.55)
                item.mode = m
                plot.addItem(item)
                items.append(item)
            x, y, c = _lines(result.demo[None, :, j])
            plot.addItem(pg.PlotDataItem(x, y, connect=c, pen=pg.mkPen(DEMO_HEX, width=3)))
            self._dim_plots.append(plot)
            self._plan_items.append(items)
        self._set_plans(result.plans, modes)

    def _set_plans(self, plans: np.ndarray, modes: np.ndarray) -> None:
        for j, items in enumerate(self._plan_items):
            for item in items:
                sel = plans[modes == item.mode, :, j]
                if len(sel):
                    x, y, c = _lines(sel)
                    item.setData(x, y, connect=c)
                else:
                    item.setData([], [])

    def _draw_plane(self, result: Any) -> None:
        from app.core.inspector.dataset_source import pca_2d

        p = self.plane
        p.clear()
        modes = self._mode_index(result)
        self._plane_plan_items = []
        if result.end_effector:
            p.setLabel("bottom", "x (m)")
            p.setLabel("left", "y (m)")
            p.setTitle("top view (x–y)", size="9pt")
            p.setAspectLocked(True)
            if len(result.neighbours):
                x, y, c = _lines(result.neighbours[:, :, 1], result.neighbours[:, :, 0])
                p.addItem(pg.PlotDataItem(x, y, connect=c, pen=pg.mkPen(
                    NEIGHBOUR_HEX, width=1, style=QtCore.Qt.DashLine)))
            for m in sorted(set(modes.tolist())):
                sel = result.plans[modes == m]
                x, y, c = _lines(sel[:, :, 1], sel[:, :, 0])
                item = pg.PlotDataItem(x, y, connect=c, pen=pg.mkPen(mode_hex(m), width=1))
                item.setOpacity(0.55)
                p.addItem(item)
            p.addItem(pg.PlotDataItem(result.demo[:, 0], result.demo[:, 1],
                                      pen=pg.mkPen(DEMO_HEX, width=3)))
            return
        p.setAspectLocked(False)
        scale = getattr(result, "action_scale", None)
        (pp, pn, pd), ratio = pca_2d([result.plans, result.neighbours, result.demo[None]], scale)
        p.setLabel("bottom", f"PC 1 ({ratio[0]:.0%} of variance)")
        p.setLabel("left", f"PC 2 ({ratio[1]:.0%})")
        p.setTitle("chunks, 2-D PCA projection", size="9pt")
        if len(pn):
            p.addItem(pg.ScatterPlotItem(pn[:, 0], pn[:, 1], size=7, symbol="s",
                                         brush=pg.mkBrush(NEIGHBOUR_HEX), pen=None))
        brushes = [pg.mkBrush(mode_hex(int(m))) for m in modes]
        p.addItem(pg.ScatterPlotItem(pp[:, 0], pp[:, 1], size=6, brush=brushes, pen=None))
        p.addItem(pg.ScatterPlotItem(pd[:, 0], pd[:, 1], size=16, symbol="star",
                                     brush=pg.mkBrush(DEMO_HEX), pen=pg.mkPen("#000000")))

    @QtCore.Slot(int)
    def set_step(self, step: int) -> None:
        """Show the plans at denoising step `step` (0 = noise, S = final) in the curves."""
        r = self.result
        chain = None if r is None else getattr(r.batch, "chain", None)
        if chain is None:
            return
        chain = np.asarray(chain)
        step = int(np.clip(step, 0, len(chain) - 1))
        self.step_label.setText(f"step {step}/{len(chain) - 1}")
        self._set_plans(np.asarray(chain[step], np.float64), self._mode_index(r))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["DatasetInspectionView"]
