"""PlanLayer: many plans of one colour as ONE pyqtgraph item, painted as one image of its
segments rasterised in compiled code (app/plan_raster.py).

Why not let Qt stroke them: early in the denoising chain the plans are noise metres long while
the view frames the final plans a few centimetres wide; 1024 plans then put 4-6 M line pixels on a
528x107 plot, and Qt's stroker blends each one (13 ms a frame). Counting hits per pixel and
colouring the counts once gives the same picture in a fraction of the time.

Data bounds are the ones the projection measured once for all its layers (pyqtgraph's own
nanmin/nanmax per layer and axis cost ~1.4 ms per frame for 1024 plans).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui

from app.plan_raster import SegmentRaster, coverage_lut, warm_up_in_background


class PlanLayer(pg.PlotCurveItem):
    """`set_plans_xy(xs, ys, connect, bounds)`: plans [M, H] (connect [M*H] False after each plan's
    last, for pyqtgraph's own view of the data); painted as one image of the plans' segments in
    the pen's colour (dashed when the pen is), covering the visible part of the view."""

    def __init__(self, **opts) -> None:
        self._bounds: tuple | None = None
        self._next_bounds: tuple | None = None
        self._segments: np.ndarray | None = None   # [K, 4] x0, y0, x1, y1 of the current data
        self._raster = SegmentRaster()
        self._drawn: tuple | None = None           # (key, image, lit box) of the last paint
        self._luts: dict[tuple, np.ndarray] = {}
        warm_up_in_background()
        super().__init__(**opts)

    def set_plans_xy(self, xs: np.ndarray, ys: np.ndarray, connect: np.ndarray,
                     bounds: tuple[tuple[float, float], tuple[float, float]]) -> None:
        """xs, ys [M, H] projected plans; connect [M*H] bool (False after each plan's last);
        bounds ((x lo, x hi), (y lo, y hi)) enclosing them (NaN-free)."""
        self._next_bounds = bounds
        self.setData(xs.reshape(-1), ys.reshape(-1), connect=connect)
        segments = np.empty((xs.shape[0], xs.shape[1] - 1, 4))
        segments[..., 0], segments[..., 1] = xs[:, :-1], ys[:, :-1]
        segments[..., 2], segments[..., 3] = xs[:, 1:], ys[:, 1:]
        self._segments = segments.reshape(-1, 4)

    def setData(self, *args, **kargs) -> None:  # noqa: N802 (pyqtgraph's name)
        # bounds only hold for the data set_plans_xy measured; any other data: pyqtgraph's own
        self._bounds, self._next_bounds = self._next_bounds, None
        self._segments, self._drawn = None, None
        super().setData(*args, **kargs)

    def dataBounds(self, ax, frac=1.0, orthoRange=None):  # noqa: N802 (pyqtgraph's name)
        if self._bounds is None or frac < 1.0 or orthoRange is not None:
            return super().dataBounds(ax, frac, orthoRange)
        return self._bounds[ax]

    def _lut(self, pen: QtGui.QPen) -> np.ndarray:
        rgba = pen.color().getRgb()
        lut = self._luts.get(rgba)
        if lut is None:
            if len(self._luts) > 16:
                self._luts.clear()
            lut = self._luts[rgba] = coverage_lut(*rgba)
        return lut

    def paint(self, p, opt, widget) -> None:  # noqa: D401 (Qt override)
        if self._segments is None or len(self._segments) == 0:
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
        pen = self.opts["pen"]
        dashed = pen.style() != QtCore.Qt.PenStyle.SolidLine
        key = (tuple(affine), w, h, pen.color().rgba(), dashed)
        if self._drawn is None or self._drawn[0] != key:
            image, box = self._raster.render(self._segments, affine, (w, h), self._lut(pen), dashed)
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
