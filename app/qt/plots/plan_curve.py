"""PlanCurve: every drawn plan of a projection as ONE pyqtgraph curve item (a `connect` array
breaks the line after each plan's last waypoint), painted as one image rasterised in compiled
code (app/qt/plots/plan_raster.py) with a style (colour, alpha, dashed) per plan.

Why not let Qt stroke it: early in the denoising chain the plans are noise metres long while the
view frames the final plans a few centimetres wide; 1024 plans then put 4-6 M line pixels on a
528x107 plot and Qt's stroker blends each one (13 ms a frame); and where modes overlap, Qt shows
whichever mode was drawn last. Counting hits per pixel and style and mixing the counts once gives
an order-free picture in a fraction of the time.

Data bounds are the ones the projection measured once (pyqtgraph's own nanmin/nanmax per axis
cost ~1.4 ms per frame for 1024 plans).
"""
from __future__ import annotations

import threading

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui

Style = tuple[tuple[int, int, int, int], bool]     # (r, g, b, alpha), dashed
_warming: threading.Thread | None = None


def warm_up_in_background() -> None:
    """Import numba and load the rasteriser's kernels (app/qt/plots/plan_raster.py) on a daemon thread,
    once per process, so neither the app's start (numba's import alone is ~0.2 s) nor its first
    plans wait for them; a paint that comes first waits on the import, so it is correct anyway."""
    global _warming
    if _warming is None:
        def warm() -> None:
            from app.qt.plots.plan_raster import warm_up
            warm_up()
        _warming = threading.Thread(target=warm, name="plan-raster-warm-up", daemon=True)
        # Started once the event loop has run for a while: numba's import (which pulls in
        # scipy.linalg when scipy is installed) holds the GIL for ~0.5 s and would otherwise
        # compete with the window's start; a paint before then imports it itself.
        QtCore.QTimer.singleShot(WARM_UP_DELAY_MS, _start_warming)


WARM_UP_DELAY_MS = 3000
_holds = 0          # hold_warm_up() calls not yet released: the warm-up waits for them
_due = False        # the delay has passed while held: start on the last release


def hold_warm_up() -> None:
    """Keep the warm-up thread from starting until release_warm_up() (counted). The demo holds
    it while its first card loads torch, diffusers and scikit-learn on the inspector's worker:
    numba's import there would take the GIL from that critical path (1.1 s of samples under
    load), and card 1 draws no 2-D plan view. A paint before the release imports it itself."""
    global _holds
    _holds += 1


def release_warm_up() -> None:
    """Undo one hold_warm_up(); the last one starts a warm-up that fell due while held."""
    global _holds
    _holds = max(0, _holds - 1)
    if _holds == 0 and _due:
        _start_warming()


def warm_up_holds() -> int:
    """How many hold_warm_up() calls are not yet released."""
    return _holds


def _start_warming() -> None:
    global _due
    if _holds:
        _due = True
        return
    _due = False
    if _warming is not None and not _warming.is_alive() and _warming.ident is None:
        _warming.start()


class PlanCurve(pg.PlotCurveItem):
    """`set_plans_xy(xs, ys, connect, bounds, style_of_plan, styles)`: plans [M, H] with their
    style index [M] into `styles` [(rgba, dashed)]; painted as one image covering the visible
    part of the view."""

    def __init__(self) -> None:
        self._bounds: tuple | None = None
        self._next_bounds: tuple | None = None
        self._groups: list[tuple[np.ndarray, tuple[int, int, int, int], bool]] = []
        self._style_of_plan = np.zeros(0, dtype=np.int64)
        self._styles: list[Style] = []
        self._version = 0                          # bumped with the data: the image's cache key
        self._raster = None                        # SegmentRaster, made at the first paint
        self._drawn: tuple | None = None           # (key, image, lit box) of the last paint
        warm_up_in_background()
        super().__init__(skipFiniteCheck=True, antialias=False)

    def set_plans_xy(self, xs: np.ndarray, ys: np.ndarray, connect: np.ndarray,
                     bounds: tuple[tuple[float, float], tuple[float, float]],
                     style_of_plan: np.ndarray, styles: list[Style]) -> None:
        """xs, ys [M, H] projected plans; connect [M*H] bool (False after each plan's last);
        bounds ((x lo, x hi), (y lo, y hi)) enclosing them (NaN-free); style_of_plan [M] index
        into styles, which are painted in their order (the mix does not depend on it)."""
        self._next_bounds = bounds
        self.setData(xs.reshape(-1), ys.reshape(-1), connect=connect)
        self._style_of_plan = np.asarray(style_of_plan, dtype=np.int64)
        self._styles = list(styles)
        for index, (rgba, dashed) in enumerate(self._styles):
            rows = self._style_of_plan == index
            if not rows.any():
                continue
            px, py = xs[rows], ys[rows]
            segments = np.empty((px.shape[0], px.shape[1] - 1, 4))
            segments[..., 0], segments[..., 1] = px[:, :-1], py[:, :-1]
            segments[..., 2], segments[..., 3] = px[:, 1:], py[:, 1:]
            self._groups.append((segments.reshape(-1, 4), rgba, dashed))

    def plan_styles(self) -> list[Style]:
        """The style of every plan in the data, in order."""
        return [self._styles[i] for i in self._style_of_plan]

    def setData(self, *args, **kargs) -> None:  # noqa: N802 (pyqtgraph's name)
        # bounds only hold for the data set_plans_xy measured; any other data: pyqtgraph's own
        self._bounds, self._next_bounds = self._next_bounds, None
        self._groups, self._drawn = [], None
        self._style_of_plan, self._styles = np.zeros(0, dtype=np.int64), []
        self._version += 1
        super().setData(*args, **kargs)

    def dataBounds(self, ax, frac=1.0, orthoRange=None):  # noqa: N802 (pyqtgraph's name)
        if self._bounds is None or frac < 1.0 or orthoRange is not None:
            return super().dataBounds(ax, frac, orthoRange)
        return self._bounds[ax]

    def paint(self, p, opt, widget) -> None:  # noqa: D401 (Qt override)
        if not self._groups:
            return      # cleared (setData([], [])): nothing to draw
        view = self.viewRect()
        if view is None or view.width() <= 0 or view.height() <= 0:
            return
        # the image covers the visible part of the view on the paint device (the window's
        # backing store or an export's pixmap), in the device's pixels
        if p.hasClipping():
            view = view.intersected(p.clipBoundingRect())
        t = p.transform()
        dpr = p.device().devicePixelRatioF()
        area = t.mapRect(view)
        ox, oy = np.floor(area.left() * dpr), np.floor(area.top() * dpr)
        w, h = int(np.ceil(area.right() * dpr) - ox), int(np.ceil(area.bottom() * dpr) - oy)
        if w <= 0 or h <= 0:
            return
        affine = np.array([t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy()]) * dpr
        affine[4] -= ox
        affine[5] -= oy
        key = (tuple(affine), w, h, self._version)
        if self._drawn is None or self._drawn[0] != key:
            if self._raster is None:
                from app.qt.plots.plan_raster import SegmentRaster
                self._raster = SegmentRaster()
            image, box = self._raster.render(self._groups, affine, (w, h))
            self._drawn = (key, image, box)
        _, image, (x0, y0, x1, y1) = self._drawn
        if x0 >= x1:
            return
        qimage = QtGui.QImage(image.data, w, h, 4 * w,
                              QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        target = QtCore.QRectF((ox + x0) / dpr, (oy + y0) / dpr, (x1 - x0) / dpr, (y1 - y0) / dpr)
        p.save()
        p.resetTransform()
        p.drawImage(target, qimage, QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        p.restore()
