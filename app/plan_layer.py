"""PlanLayer: many plans of one colour as ONE pyqtgraph item, drawn as line segments clipped to
the visible part of the view.

Why clip here: Qt's cosmetic line stroker walks every segment across the whole paint device (the
top-level window's backing store, not the plot) and tests the clip pixel by pixel. Early in the
denoising chain the plans are noise metres long while the view frames the final plans a few
centimetres wide, so a 528x107 plot paid 16 ms for 1024 plans. Cut to the view first (vectorised
Liang-Barsky, ~0.3 ms for 15k segments), only visible pixels are walked.

Data bounds are the ones the projection measured once for all its layers (pyqtgraph's own
nanmin/nanmax per layer and axis cost ~1.4 ms per frame for 1024 plans).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, internals

CLIP_MARGIN = 0.1    # of the view's width/height: ends cut this far out never show, and lines that
                     # only poke a little out of the view skip the cutting


def clip_segments(seg: np.ndarray, rect: tuple[float, float, float, float]) -> np.ndarray:
    """Segments [4, K] rows x0, y0, x1, y1 cut to rect (xmin, ymin, xmax, ymax) -> [4, K'] of the
    parts inside; segments outside or not finite are dropped. Segments wholly inside pass through
    untouched (no copy when all are); only those crossing an edge are cut (Liang-Barsky)."""
    xmin, ymin, xmax, ymax = rect
    x0, y0, x1, y1 = seg
    inside = (x0 >= xmin) & (x0 <= xmax) & (x1 >= xmin) & (x1 <= xmax) & \
        (y0 >= ymin) & (y0 <= ymax) & (y1 >= ymin) & (y1 <= ymax)      # NaN fails: not inside
    if inside.all():
        return seg
    rest = ~inside
    x0, y0, x1, y1 = x0[rest], y0[rest], x1[rest], y1[rest]
    # wholly beyond one edge, or not finite: nothing to draw
    beyond = ((x0 < xmin) & (x1 < xmin)) | ((x0 > xmax) & (x1 > xmax)) | \
             ((y0 < ymin) & (y1 < ymin)) | ((y0 > ymax) & (y1 > ymax)) | \
             ~(np.isfinite(x0) & np.isfinite(y0) & np.isfinite(x1) & np.isfinite(y1))
    ax, ay = x0[~beyond], y0[~beyond]
    dx, dy = x1[~beyond] - ax, y1[~beyond] - ay
    t0 = np.zeros(ax.size)
    t1 = np.ones(ax.size)
    keep = np.ones(ax.size, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-dx, ax - xmin), (dx, xmax - ax), (-dy, ay - ymin), (dy, ymax - ay)):
            parallel = p == 0
            keep &= ~(parallel & (q < 0))
            r = q / np.where(parallel, 1.0, p)
            t0 = np.where((p < 0) & ~parallel, np.maximum(t0, r), t0)
            t1 = np.where((p > 0) & ~parallel, np.minimum(t1, r), t1)
    keep &= t0 <= t1
    t0, t1, ax, ay, dx, dy = t0[keep], t1[keep], ax[keep], ay[keep], dx[keep], dy[keep]
    cut = np.stack([ax + t0 * dx, ay + t0 * dy, ax + t1 * dx, ay + t1 * dy])
    return np.concatenate([seg[:, inside], cut], axis=1)


class PlanLayer(pg.PlotCurveItem):
    """`set_plans_xy(xs, ys, connect, bounds)`: plans [M, H] (connect [M*H] False after each plan's
    last, for pyqtgraph's own view of the data); painted as the visible parts of the plans'
    segments with one QPainter.drawLines."""

    def __init__(self, **opts) -> None:
        self._bounds: tuple | None = None
        self._next_bounds: tuple | None = None
        self._segments: np.ndarray | None = None   # [4, K] all segments of the current data
        self._drawn: tuple | None = None           # (view rect, QLineF array) of the last paint
        super().__init__(**opts)

    def set_plans_xy(self, xs: np.ndarray, ys: np.ndarray, connect: np.ndarray,
                     bounds: tuple[tuple[float, float], tuple[float, float]]) -> None:
        """xs, ys [M, H] projected plans; connect [M*H] bool (False after each plan's last);
        bounds ((x lo, x hi), (y lo, y hi)) enclosing them (NaN-free)."""
        self._next_bounds = bounds
        self.setData(xs.reshape(-1), ys.reshape(-1), connect=connect)
        segments = np.empty((4, xs.shape[0], xs.shape[1] - 1))
        segments[0], segments[1], segments[2], segments[3] = xs[:, :-1], ys[:, :-1], xs[:, 1:], ys[:, 1:]
        self._segments = segments.reshape(4, -1)

    def setData(self, *args, **kargs) -> None:  # noqa: N802 (pyqtgraph's name)
        # bounds only hold for the data set_plans_xy measured; any other data: pyqtgraph's own
        self._bounds, self._next_bounds = self._next_bounds, None
        self._segments, self._drawn = None, None
        super().setData(*args, **kargs)

    def dataBounds(self, ax, frac=1.0, orthoRange=None):  # noqa: N802 (pyqtgraph's name)
        if self._bounds is None or frac < 1.0 or orthoRange is not None:
            return super().dataBounds(ax, frac, orthoRange)
        return self._bounds[ax]

    def paint(self, p, opt, widget) -> None:  # noqa: D401 (Qt override)
        if self._segments is None or self._segments.shape[1] == 0:
            return      # cleared (setData([], [])): nothing to draw
        view = self.viewRect()
        if view is None or view.width() <= 0 or view.height() <= 0:
            return
        mx, my = CLIP_MARGIN * view.width(), CLIP_MARGIN * view.height()
        rect = (view.left() - mx, view.top() - my, view.right() + mx, view.bottom() + my)
        if self._drawn is None or self._drawn[0] != rect:
            clipped = clip_segments(self._segments, rect)
            lines = internals.PrimitiveArray(QtCore.QLineF, 4)
            lines.resize(clipped.shape[1])
            lines.ndarray()[:] = clipped.T
            self._drawn = (rect, lines)
        lines = self._drawn[1]
        if len(lines.ndarray()) == 0:
            return
        p.setRenderHint(p.RenderHint.Antialiasing, bool(self.opts.get("antialias", False)))
        p.setPen(self.opts["pen"])
        p.drawLines(*lines.drawargs())
