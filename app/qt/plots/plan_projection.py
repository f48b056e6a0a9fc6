"""PlanProjection: N plans projected onto two world axes (top x–y or side x–z), pyqtgraph.

Drawing many curves: every drawn plan goes into ONE curve item (app/qt/plots/plan_curve.py) through a
`connect` array (a break after each plan's last waypoint) with a style per plan (its mode's
colour; dashed when infeasible), so the item count never grows with N. Items are created once;
redraws only set data.

Coordinates are world metres; the axes say so.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from app.qt.plots.mode_colors import (BASELINE_HEX, INFEASIBLE_HEX, MODE_HEX, SELECTED_HEX, UNLABELLED_HEX,
                                      mode_hex)
from app.qt.plots.plan_curve import PlanCurve
from app.qt.shell.theme import cache_axes

AXIS_NAMES = ("x", "y", "z")
PLAN_HEX = (*MODE_HEX, UNLABELLED_HEX)     # a plan's colour: its mode's, grey for none


def polyline_arrays(paths: np.ndarray, i: int, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """paths [M, H, >=3] -> (x [M*H], y [M*H], connect [M*H] bool) for one PlotDataItem: consecutive
    waypoints of a plan are joined, plans are not joined to each other."""
    m, h = paths.shape[:2]
    x = np.ascontiguousarray(paths[:, :, i], dtype=np.float64).reshape(-1)
    y = np.ascontiguousarray(paths[:, :, j], dtype=np.float64).reshape(-1)
    connect = np.ones(m * h, dtype=bool)
    connect[h - 1::h] = False
    return x, y, connect


def plan_alpha(n: int) -> int:
    """Line alpha (0..255) for n plans: opaque for a few, translucent for many so density shows."""
    return int(np.clip(255 * 6.0 / np.sqrt(max(n, 1)), 70, 230))


def _finite_range(values: np.ndarray) -> tuple[float, float] | tuple[None, None]:
    lo, hi = float(np.fmin.reduce(values, axis=None)), float(np.fmax.reduce(values, axis=None))
    return (lo, hi) if np.isfinite(lo) and np.isfinite(hi) else (None, None)


class PlanProjection(pg.PlotWidget):
    """One 2-D projection. `set_plans(paths, labels, feasible, bad_waypoint)`; `set_selected`,
    `set_baseline`, `set_marker`; emits `sampleClicked(index)` with the nearest drawn plan."""

    sampleClicked = QtCore.Signal(int)

    def __init__(self, axes: tuple[int, int], title: str, parent=None) -> None:
        super().__init__(parent=parent)
        self.axes_ij = axes
        i, j = axes
        self.setTitle(title, size="9pt")
        self.setLabel("bottom", f"{AXIS_NAMES[i]} (m)")
        self.setLabel("left", f"{AXIS_NAMES[j]} (m)")
        for side in ("bottom", "left"):
            self.getAxis(side).enableAutoSIPrefix(False)  # keep metres, never "(x0.001)"
        cache_axes(self)
        self.showGrid(x=True, y=True, alpha=0.15)
        # not aspect-locked: the docks are wide and short, and a locked 1:1 view would shrink
        # the plans to a sliver; both axes are labelled in metres with a grid instead
        self.setMenuEnabled(False)
        # Speed (1024 plans redraw in a few ms): the plans are painted as one image rasterised
        # in compiled code (app/qt/plots/plan_curve.py, app/qt/plots/plan_raster.py), and the axes (with their
        # grid) are cached as pixmaps, so a redraw repaints only the plans.
        # Infeasible plans are dashed, in their mode's colour (a red layer would hide the modes
        # when many plans collide); the red x at the first colliding waypoint marks them.
        self._plans = PlanCurve()
        self.addItem(self._plans)
        self._baseline = pg.PlotDataItem(
            pen=pg.mkPen(BASELINE_HEX, width=2.5, style=QtCore.Qt.PenStyle.DashLine),
            symbol="s", symbolSize=4, symbolBrush=BASELINE_HEX, symbolPen=None)
        self._selected = pg.PlotDataItem(pen=pg.mkPen(SELECTED_HEX, width=3), symbol="o",
                                         symbolSize=5, symbolBrush=SELECTED_HEX, symbolPen=None)
        self._collisions = pg.ScatterPlotItem(symbol="x", size=8, pen=pg.mkPen(INFEASIBLE_HEX, width=1.5),
                                              brush=INFEASIBLE_HEX)
        self._markers = pg.ScatterPlotItem(size=14, pxMode=True)
        for item in (self._baseline, self._selected, self._collisions, self._markers):
            self.addItem(item)
        self._paths = np.zeros((0, 1, 3))
        self._drawn = np.zeros(0, dtype=np.int64)  # sample index of each drawn plan
        self._connect: dict[tuple[int, int], np.ndarray] = {}
        self._styles: dict[int, list] = {}    # alpha -> plan styles
        self.scene().sigMouseClicked.connect(self._on_click)

    # ---- data --------------------------------------------------------------------------------
    def set_plans(self, paths: np.ndarray | None, labels: np.ndarray | None = None,
                  visible: np.ndarray | None = None, feasible: np.ndarray | None = None,
                  bad_waypoint: np.ndarray | None = None) -> None:
        """paths [N, H, D>=3] metres; labels [N] mode index (-1 grey); visible [N] bool; feasible
        [N] bool and bad_waypoint [N] int mark infeasible plans (dashed, red x at the waypoint)."""
        if paths is None or len(paths) == 0:
            for item in (self._plans, self._collisions):
                item.setData([], [])
            self._paths, self._drawn = np.zeros((0, 1, 3)), np.zeros(0, dtype=np.int64)
            return
        n = len(paths)
        labels = np.full(n, -1) if labels is None else np.asarray(labels)
        visible = np.ones(n, dtype=bool) if visible is None else np.asarray(visible, dtype=bool)
        infeasible = np.zeros(n, dtype=bool) if feasible is None else ~np.asarray(feasible, dtype=bool)
        i, j = self.axes_ij
        alpha = plan_alpha(int(visible.sum()))
        # project once into contiguous x, y [N, H] and measure the bounds with NaN-ignoring
        # fmin/fmax
        xs = np.ascontiguousarray(paths[:, :, i], dtype=np.float64)
        ys = np.ascontiguousarray(paths[:, :, j], dtype=np.float64)
        bounds = tuple(_finite_range(v) for v in (xs, ys))
        colour_index = np.where(labels < 0, len(MODE_HEX), labels % len(MODE_HEX))
        bad = visible & infeasible
        # styles: one per palette colour, solid then dashed (infeasible, a little fainter)
        style = colour_index + len(PLAN_HEX) * infeasible
        rows = np.flatnonzero(visible)
        self._set_plan_data(xs[rows], ys[rows], bounds, style[rows], alpha)
        if bad_waypoint is not None and bad.any():
            rows = np.flatnonzero(bad & (np.asarray(bad_waypoint) >= 0))
            cols = np.asarray(bad_waypoint)[rows]
            self._collisions.setData(xs[rows, cols], ys[rows, cols])
        else:
            self._collisions.setData([], [])
        self._paths = paths
        self._drawn = np.flatnonzero(visible)

    def _set_plan_data(self, xs: np.ndarray, ys: np.ndarray, bounds: tuple, style: np.ndarray,
                       alpha: int) -> None:
        """xs, ys [M, H] projected plans, style [M] index into solid + dashed palette styles."""
        if len(xs) == 0:
            self._plans.setData([], [])
            return
        m, h = xs.shape
        connect = self._connect.get((m, h))
        if connect is None:   # plans are not joined to each other: break after each last waypoint
            connect = np.ones(m * h, dtype=bool)
            connect[h - 1::h] = False
            if len(self._connect) > 32:
                self._connect.clear()
            self._connect[(m, h)] = connect
        styles = self._styles.get(alpha)
        if styles is None:
            solid = [(pg.mkColor(c).getRgb()[:3] + (alpha,), False) for c in PLAN_HEX]
            dashed = [(pg.mkColor(c).getRgb()[:3] + (int(alpha * 0.8),), True) for c in PLAN_HEX]
            styles = self._styles[alpha] = solid + dashed
        self._plans.set_plans_xy(xs, ys, connect, bounds, style, styles)

    def set_selected(self, path: np.ndarray | None, label: int = -1) -> None:
        """path [H, D>=3] or None. Drawn white on top, with its mode colour as the point fill."""
        if path is None:
            self._selected.setData([], [])
            return
        i, j = self.axes_ij
        self._selected.setData(path[:, i], path[:, j], symbolBrush=mode_hex(label))

    def set_baseline(self, path: np.ndarray | None) -> None:
        if path is None:
            self._baseline.setData([], [])
            return
        i, j = self.axes_ij
        self._baseline.setData(path[:, i], path[:, j])

    def set_markers(self, points: list[tuple[np.ndarray, str, str]]) -> None:
        """points: (xyz [3] metres, hex colour, symbol) — e.g. the observed mug and end effector."""
        i, j = self.axes_ij
        spots = [{"pos": (float(p[i]), float(p[j])), "brush": pg.mkBrush(c), "symbol": s,
                  "pen": pg.mkPen("#FFFFFF", width=1)} for p, c, s in points]
        self._markers.setData(spots)

    def set_range_from(self, lo: np.ndarray, hi: np.ndarray, pad: float = 0.02) -> None:
        """Fix the view to world box [lo, hi] (metres) plus 10 % and `pad` metres on each side,
        so the plot does not jump between chain steps (early noise may leave the view).

        A view that already shows the box with no more than ~25 % to spare on a side is kept:
        re-sampling the same observation then neither moves the plot nor re-renders its axes
        (tick text is the slowest thing pyqtgraph paints)."""
        current = self.getPlotItem().vb.viewRange()
        for k, (axis, setter) in enumerate(zip(self.axes_ij, (self.setXRange, self.setYRange))):
            margin = 0.1 * float(hi[axis] - lo[axis]) + pad
            want = (float(lo[axis]) - margin, float(hi[axis]) + margin)
            have = current[k]
            slack = 0.25 * (want[1] - want[0])
            if have[0] <= float(lo[axis]) and have[1] >= float(hi[axis]) and \
                    want[0] - have[0] <= slack and have[1] - want[1] <= slack:
                continue
            setter(*want, padding=0)

    # ---- picking -----------------------------------------------------------------------------
    def nearest_sample(self, x: float, y: float, tolerance: float) -> int | None:
        """Index of the drawn plan with a waypoint nearest (x, y), if within `tolerance` metres."""
        if self._drawn.size == 0:
            return None
        i, j = self.axes_ij
        pts = self._paths[self._drawn][:, :, [i, j]]
        d2 = ((pts[..., 0] - x) ** 2 + (pts[..., 1] - y) ** 2).min(axis=1)
        best = int(np.argmin(d2))
        return int(self._drawn[best]) if d2[best] <= tolerance ** 2 else None

    def _on_click(self, event) -> None:
        view = self.getPlotItem().vb
        if not view.sceneBoundingRect().contains(event.scenePos()):
            return
        point = view.mapSceneToView(event.scenePos())
        (x0, x1), _ = view.viewRange()
        index = self.nearest_sample(point.x(), point.y(), tolerance=0.03 * (x1 - x0))
        if index is not None:
            self.sampleClicked.emit(index)
