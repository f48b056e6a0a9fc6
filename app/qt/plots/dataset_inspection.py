"""DataPlanView: the inspector's plan view when the observation is a recorded frame and the
actions are not hand positions (joint targets, 2-D pushes, ...): the chain dock shows it in place
of the top / side path projections. (Hand positions keep those projections and the 3-D overlay,
with the same demonstrated and neighbour chunks drawn there.)

- per-dimension curves over the horizon: one small plot per action dimension; the K nearest
  frames' chunks grey and dashed, the plans at the chain step shown coloured by their FINAL local
  data mode (grey = none), the demonstrated chunk chartreuse and thick, the selected plan white;
- a 2-D PCA projection of the chunks (one point per chunk), its basis fitted once per batch on
  the final plans, the neighbours and the demo together in normalised units (the axes say how
  much variance they hold); scrubbing the chain moves the plans' points on that fixed basis, so
  the noise visibly contracts onto the modes.

Each group (a mode's plans, the neighbours, the demo) is ONE PlotDataItem with a `connect` array,
so the item count never grows with N or K. The inspector's InspectorState drives it through
ChainView (set_context once per batch, set_plans per chain step / isolation / selection).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.qt.plots.mode_colors import SELECTED_HEX, UNLABELLED_HEX, mode_hex

NEIGHBOUR_HEX = "#9A9A9A"
DEMO_HEX = "#C6FF00"     # chartreuse: unlike every mode colour and the selected plan's white
MAX_DIMS = 8                # per-dimension plots shown (the rest are named in a note, not drawn)


def _lines(chunks: np.ndarray, x: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """chunks [M, H] (one dimension; x [M, H] or the step index) -> (x [M*H], y [M*H],
    connect [M*H]) for one item: each chunk a polyline, chunks not joined."""
    m, h = chunks.shape
    xs = np.tile(np.arange(h, dtype=np.float64), m) if x is None else \
        np.asarray(x, np.float64).reshape(-1)
    connect = np.ones(m * h, dtype=bool)
    if m * h:
        connect[h - 1::h] = False
    return xs, np.asarray(chunks, np.float64).reshape(-1), connect


class PcaBasis:
    """A 2-D PCA basis of action chunks [n, H, D] in normalised units (each dimension times
    scale [D]), fitted on groups of chunks together; project() places any chunks [m, H, D] on
    it (chain steps included). ratio [2]: the share of variance each axis holds."""

    def __init__(self, groups: list[np.ndarray], scale: np.ndarray | None) -> None:
        horizon, dim = np.asarray(groups[0]).shape[1:3]
        self.weights = np.tile(np.ones(dim) if scale is None else np.asarray(scale, np.float64),
                               horizon)
        flat = np.concatenate([self._flat(g) for g in groups if len(g)])
        flat = flat[np.isfinite(flat).all(axis=1)]
        self.mean = flat.mean(axis=0) if len(flat) else np.zeros(horizon * dim)
        self.comps = np.zeros((2, horizon * dim))
        self.ratio = np.zeros(2)
        if len(flat) >= 2:
            _, s, vt = np.linalg.svd(flat - self.mean, full_matrices=False)
            k = min(2, len(vt))
            self.comps[:k] = vt[:k]
            var = s ** 2
            self.ratio[:k] = var[:k] / max(var.sum(), 1e-12)
            for i in range(k):          # a deterministic sign: largest loading positive
                if self.comps[i][np.argmax(np.abs(self.comps[i]))] < 0:
                    self.comps[i] = -self.comps[i]

    def _flat(self, chunks: np.ndarray) -> np.ndarray:
        c = np.asarray(chunks, np.float64)
        return c.reshape(len(c), -1) * self.weights

    def project(self, chunks: np.ndarray) -> np.ndarray:
        """[m, H, D] -> [m, 2]."""
        if not len(chunks):
            return np.zeros((0, 2))
        return (self._flat(chunks) - self.mean) @ self.comps.T


class DataPlanView(QtWidgets.QWidget):
    """set_context(inspection) once per batch; set_plans(plans, labels, visible, selected) per
    chain step. Plans [N, H, D] in action units; labels [N] local mode index (-1 none)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.context: Any = None
        self.basis: PcaBasis | None = None
        self._data_points = np.zeros((0, 2))      # neighbours' and demo's PCA points
        self.curves = pg.GraphicsLayoutWidget()
        self.curves.setObjectName("dataset_dim_curves")
        self.plane = pg.PlotWidget()
        self.plane.setObjectName("dataset_projection")
        self.plane.showGrid(x=True, y=True, alpha=0.2)
        self.plane.setMenuEnabled(False)
        for axis in ("bottom", "left"):          # normalised units: no "(x0.001)" prefix
            self.plane.getAxis(axis).enableAutoSIPrefix(False)
        self.note = QtWidgets.QLabel("")
        self.note.setStyleSheet("color: #B8BEC6;")
        self.note.hide()
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        split.addWidget(self.curves)
        split.addWidget(self.plane)
        split.setSizes([640, 360])
        split.setChildrenCollapsible(False)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addWidget(split, 1)
        lay.addWidget(self.note)
        self._dim_plots: list[pg.PlotItem] = []
        self._plan_items: list[dict[int, pg.PlotDataItem]] = []    # [dim] {mode: item}
        self._selected_items: list[pg.PlotDataItem] = []
        self._plane_plans = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(UNLABELLED_HEX))
        self._plane_selected = pg.ScatterPlotItem(size=13, brush=None,
                                                  pen=pg.mkPen(SELECTED_HEX, width=2))

    # ---- context: what stays while the chain is scrubbed
    def set_context(self, inspection: Any, num_modes: int) -> None:
        """Draw the neighbours' chunks and the demo; make one plan item per local mode (and
        one for the plans in no mode); fit the PCA basis on the final plans and the data."""
        self.context = inspection
        self.curves.clear()
        self._dim_plots, self._plan_items, self._selected_items = [], [], []
        d = inspection.plans.shape[2]
        shown = min(d, MAX_DIMS)
        # one row up to 4 dimensions: the chain dock is short, two rows left each plot ~50 px
        # and a single y tick (seen on a 4-D delta-action data set)
        cols = shown if shown <= 4 else (shown + 1) // 2
        rows = (shown + cols - 1) // cols
        for j in range(shown):
            plot = self.curves.addPlot(row=j // cols, col=j % cols)
            name = inspection.action_names[j] if j < len(inspection.action_names) else f"a{j}"
            plot.setTitle(name, size="9pt")      # the data set's own name for the dimension
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMenuEnabled(False)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(44)    # aligned columns whatever the tick text
            if j // cols == rows - 1:             # the bottom row says what x is
                plot.setLabel("bottom", "horizon step")
            if len(inspection.neighbours):
                x, y, c = _lines(inspection.neighbours[:, :, j])
                plot.addItem(pg.PlotDataItem(x, y, connect=c, pen=pg.mkPen(
                    NEIGHBOUR_HEX, width=1, style=QtCore.Qt.PenStyle.DashLine)))
            items = {}
            for m in range(-1, num_modes):
                item = pg.PlotDataItem(pen=pg.mkPen(mode_hex(m) if m >= 0 else UNLABELLED_HEX,
                                                    width=1))
                item.setOpacity(0.55)
                plot.addItem(item)
                items[m] = item
            x, y, c = _lines(inspection.demo[None, :, j])
            plot.addItem(pg.PlotDataItem(x, y, connect=c, pen=pg.mkPen(DEMO_HEX, width=3)))
            selected = pg.PlotDataItem(pen=pg.mkPen(SELECTED_HEX, width=2.5))
            plot.addItem(selected)
            self._dim_plots.append(plot)
            self._plan_items.append(items)
            self._selected_items.append(selected)
        self.note.setVisible(d > MAX_DIMS)
        self.note.setText(f"{d - MAX_DIMS} more action dimensions not drawn "
                          f"({', '.join(inspection.action_names[MAX_DIMS:MAX_DIMS + 4])}…)"
                          if d > MAX_DIMS else "")
        self._draw_plane(inspection)

    def _draw_plane(self, inspection: Any) -> None:
        p = self.plane
        p.clear()
        scale = getattr(inspection, "action_scale", None)
        self.basis = PcaBasis([inspection.plans, inspection.neighbours, inspection.demo[None]],
                              scale)
        ratio = self.basis.ratio
        p.setLabel("bottom", f"PC 1 ({ratio[0]:.0%} of variance)")
        p.setLabel("left", f"PC 2 ({ratio[1]:.0%})")
        # the key in the title (a legend inside the plane covered the data's points); short:
        # a title wider than the plot widens its layout past the widget, which clips the plane
        p.setTitle(f"chunk PCA: <span style='color:{NEIGHBOUR_HEX}'>□ neighbours</span> · "
                   f"● plans · <span style='color:{DEMO_HEX}'>★ demo</span>", size="9pt")
        pn = self.basis.project(inspection.neighbours)
        if len(pn):
            # hollow squares: the data's chunks, never mistaken for grey no-mode plans (dots)
            p.addItem(pg.ScatterPlotItem(pn[:, 0], pn[:, 1], size=8, symbol="s", brush=None,
                                         pen=pg.mkPen(NEIGHBOUR_HEX, width=1.2)))
        p.addItem(self._plane_plans)
        pd = self.basis.project(inspection.demo[None])
        p.addItem(pg.ScatterPlotItem(pd[:, 0], pd[:, 1], size=16, symbol="star",
                                     brush=pg.mkBrush(DEMO_HEX), pen=pg.mkPen("#000000")))
        p.addItem(self._plane_selected)
        self._data_points = np.concatenate([a for a in (pn, pd) if len(a)])
        self._fit_plane(self.basis.project(inspection.plans))

    def _fit_plane(self, plans_xy: np.ndarray) -> None:
        """The plane's range: the data's points and the plans at the step shown (the noise of
        early steps spreads wider; the basis stays, so the contraction is what one sees)."""
        pts = np.concatenate([a for a in (self._data_points, plans_xy) if len(a)]) \
            if len(self._data_points) or len(plans_xy) else np.zeros((0, 2))
        pts = pts[np.isfinite(pts).all(axis=1)]
        if len(pts):
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            pad = 0.08 * np.maximum(hi - lo, 1e-6)
            self.plane.setRange(xRange=(lo[0] - pad[0], hi[0] + pad[0]),
                                yRange=(lo[1] - pad[1], hi[1] + pad[1]), padding=0)

    # ---- the plans at the chain step shown
    def set_plans(self, plans: np.ndarray | None, labels: np.ndarray | None,
                  visible: np.ndarray | None = None, selected: int | None = None) -> None:
        if plans is None or self.context is None:
            for items in self._plan_items:
                for item in items.values():
                    item.setData([], [])
            self._plane_plans.setData([], [])
            return
        plans = np.asarray(plans, np.float64)
        n = len(plans)
        labels = np.full(n, -1) if labels is None else np.asarray(labels)
        visible = np.ones(n, bool) if visible is None else np.asarray(visible, bool)
        for j, items in enumerate(self._plan_items):
            for mode, item in items.items():
                sel = plans[(labels == mode) & visible, :, j]
                if len(sel):
                    x, y, c = _lines(sel)
                    item.setData(x, y, connect=c)
                else:
                    item.setData([], [])
        xy = self.basis.project(plans[visible]) if self.basis is not None else np.zeros((0, 2))
        brushes = [pg.mkBrush(mode_hex(int(m)) if m >= 0 else UNLABELLED_HEX)
                   for m in labels[visible]]
        self._plane_plans.setData(xy[:, 0], xy[:, 1], brush=brushes)
        self._fit_plane(xy)
        self.set_selected(plans[selected] if selected is not None and selected < n else None)

    def set_selected(self, plan: np.ndarray | None) -> None:
        """plan [H, D] drawn white over the others (None: nothing selected)."""
        for j, item in enumerate(self._selected_items):
            if plan is None:
                item.setData([], [])
            else:
                item.setData(np.arange(len(plan), dtype=np.float64), plan[:, j])
        if plan is None or self.basis is None:
            self._plane_selected.setData([], [])
        else:
            xy = self.basis.project(plan[None])
            self._plane_selected.setData(xy[:, 0], xy[:, 1])


__all__ = ["DataPlanView", "PcaBasis"]
