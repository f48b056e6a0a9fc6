"""Rasterise many translucent line segments into an image, in compiled code.

Why not QPainter.drawLines: Qt's cosmetic stroker blends every pixel of every line through a span
function, ~1.5-2 ns per pixel, and it holds the GIL. Early in a denoising chain the 2-D views draw
15k noise segments that cross the whole plot, 4-6 M line pixels on a 528x107 view (100x overdraw):
13 ms a frame. Here a DDA walk per segment only counts hits per pixel and style (numba, ~0.6 ns
per pixel), and the counts become colour in one pass.

Colour: k lines of one colour C at alpha a, drawn source-over one after the other, leave C at
coverage 1 - (1 - a)^k: exactly what this gives for one style. Where styles (modes) overlap, Qt's
result depends on which was drawn last (the noise of the last mode hid the others); here every
style adds its optical depth k * -ln(1 - a), coverage is 1 - exp(-sum), and the colour is the
mix of the styles' colours weighted by their depth: order-free, so plans still mixed in the
noise read as mixed and a mode shows its own colour where it is alone.

Geometry: segments are in item (data) coordinates; the painter's affine transform (item -> device
pixels, times the device pixel ratio) is applied per segment, then each segment is cut to the
image (Liang-Barsky). A pixel (i, j) covers [i, i+1) x [j, j+1); a segment lights the pixels
under floor(point) at unit steps along its major axis, its last pixel left to the next segment
(so a polyline's shared waypoints are not counted twice) unless it was cut at the image's edge.
Dashed styles: 4 pixels on, 2 off, from each segment's start (Qt's DashLine at width 1).
"""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def count_segments(seg, affine, counts, dashed):  # pragma: no cover (compiled)
    """seg [K, 4] float64 (x0, y0, x1, y1) item coordinates; affine [6] (m11, m12, m21, m22,
    dx, dy): device = (m11 x + m21 y + dx, m12 x + m22 y + dy) in image pixels; counts [H, W]
    uint16 gets +1 per lit pixel (saturating). Returns the lit box (x_lo, y_lo, x_hi, y_hi),
    exclusive hi; x_lo > x_hi when nothing was lit."""
    h, w = counts.shape
    m11, m12, m21, m22, tx, ty = affine[0], affine[1], affine[2], affine[3], affine[4], affine[5]
    xmax, ymax = w - 1e-6, h - 1e-6
    x_lo, y_lo, x_hi, y_hi = w, h, -1, -1
    for k in range(seg.shape[0]):
        sx0, sy0, sx1, sy1 = seg[k, 0], seg[k, 1], seg[k, 2], seg[k, 3]
        x0 = m11 * sx0 + m21 * sy0 + tx
        y0 = m12 * sx0 + m22 * sy0 + ty
        x1 = m11 * sx1 + m21 * sy1 + tx
        y1 = m12 * sx1 + m22 * sy1 + ty
        if not (np.isfinite(x0) and np.isfinite(y0) and np.isfinite(x1) and np.isfinite(y1)):
            continue
        dx, dy = x1 - x0, y1 - y0
        t0, t1 = 0.0, 1.0
        visible = True
        for edge in range(4):          # Liang-Barsky against [0, xmax] x [0, ymax]
            if edge == 0:
                p, q = -dx, x0
            elif edge == 1:
                p, q = dx, xmax - x0
            elif edge == 2:
                p, q = -dy, y0
            else:
                p, q = dy, ymax - y0
            if p == 0.0:
                if q < 0.0:
                    visible = False
            elif p < 0.0:
                t0 = max(t0, q / p)
            else:
                t1 = min(t1, q / p)
        if not visible or t0 > t1:
            continue
        ax, ay = x0 + t0 * dx, y0 + t0 * dy
        bx, by = x0 + t1 * dx, y0 + t1 * dy
        n = int(max(abs(bx - ax), abs(by - ay)))
        if n == 0:
            if t1 < 1.0 or t0 > 0.0:
                continue           # a sliver of a cut segment: nothing of its own to light
            n = 1                  # a one-pixel segment lights its start
        sx, sy = (bx - ax) / n, (by - ay) / n
        # the last pixel belongs to the next segment, unless this one was cut at the edge
        last = n if t1 < 1.0 else n - 1
        # a cut segment keeps its dash phase (the pattern starts at the segment's start, not
        # at the image's edge), so dashes do not crawl when the view pans
        phase = int(t0 * max(abs(dx), abs(dy)))
        xi0, yi0 = int(ax), int(ay)
        xi1, yi1 = int(ax + last * sx), int(ay + last * sy)
        x_lo, x_hi = min(x_lo, xi0, xi1), max(x_hi, xi0 + 1, xi1 + 1)
        y_lo, y_hi = min(y_lo, yi0, yi1), max(y_hi, yi0 + 1, yi1 + 1)
        x, y = ax, ay
        for i in range(last + 1):
            if not dashed or (phase + i) % 6 < 4:
                xi, yi = int(x), int(y)
                c = counts[yi, xi]
                if c < 65535:
                    counts[yi, xi] = c + 1
            x += sx
            y += sy
    return x_lo, y_lo, x_hi, y_hi


DEPTH_STEPS = 256        # coverage table: 1 - exp(-depth) at depth steps of 1/256 ...
DEPTH_MAX = 8.0          # ... up to 8 (coverage 0.9997; beyond it, opaque)
COVERAGE = 1.0 - np.exp(-np.arange(int(DEPTH_MAX * DEPTH_STEPS) + 1) / DEPTH_STEPS)
COVERAGE[-1] = 1.0


@numba.njit(nogil=True, cache=True)
def blend_counts(counts, colours, depth, coverage, out,  # pragma: no cover (compiled)
                 x_lo, y_lo, x_hi, y_hi):
    """counts [C, H, W] hits per style; colours [C, 3] float (0-255 RGB); depth [C] optical depth
    of one line, -ln(1 - alpha); coverage: the COVERAGE table. Inside the box: out[y, x] =
    premultiplied ARGB of the styles' depth-weighted colour at coverage 1 - exp(-sum of depths);
    the counts there reset to 0 (the buffer is clean for the next frame without a full clear).
    Row by row, style by style, so the per-style loops are straight-line and vectorise."""
    n_styles = counts.shape[0]
    width = x_hi - x_lo
    last = coverage.shape[0] - 1
    total = np.empty(width, np.float32)
    red = np.empty(width, np.float32)
    green = np.empty(width, np.float32)
    blue = np.empty(width, np.float32)
    for y in range(y_lo, y_hi):
        total[:] = 0.0
        red[:] = 0.0
        green[:] = 0.0
        blue[:] = 0.0
        for c in range(n_styles):
            d = np.float32(depth[c])
            cr, cg, cb = (np.float32(colours[c, 0]), np.float32(colours[c, 1]),
                          np.float32(colours[c, 2]))
            row = counts[c, y, x_lo:x_hi]          # a slice, not offset indexing: it vectorises
            for i in range(width):
                w = np.float32(row[i]) * d
                total[i] += w
                red[i] += w * cr
                green[i] += w * cg
                blue[i] += w * cb
            row[:] = 0
        line = out[y, x_lo:x_hi]
        for i in range(width):
            t = total[i]
            if t == 0.0:
                line[i] = 0
                continue
            cover = coverage[min(int(t * DEPTH_STEPS + 0.5), last)]
            scale = cover / t                      # premultiplied: mixed colour x coverage
            line[i] = (np.uint32(int(255.0 * cover + 0.5)) << 24) | \
                (np.uint32(int(red[i] * scale + 0.5)) << 16) | \
                (np.uint32(int(green[i] * scale + 0.5)) << 8) | \
                np.uint32(int(blue[i] * scale + 0.5))


def optical_depth(alpha: int) -> float:
    """-ln(1 - a) of one line at alpha/255 (opaque is capped just below 1)."""
    return float(-np.log(1.0 - min(alpha / 255.0, 0.999)))


class SegmentRaster:
    """Buffers reused from frame to frame: counts [C, H, W] uint16 (kept all-zero between calls)
    and the ARGB image. `render(groups, affine, size)` with groups [(segments [K, 4], (r, g, b,
    a), dashed)] -> (image [H, W] uint32 premultiplied ARGB, lit box (x_lo, y_lo, x_hi, y_hi));
    the image is valid inside the box only (empty when x_lo >= x_hi)."""

    def __init__(self) -> None:
        self._counts = np.zeros((0, 0, 0), np.uint16)
        self._image = np.zeros((0, 0), np.uint32)

    def render(self, groups: list[tuple[np.ndarray, tuple[int, int, int, int], bool]],
               affine: np.ndarray, size: tuple[int, int]
               ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        w, h = size
        n = len(groups)
        if self._counts.shape[1:] != (h, w) or self._counts.shape[0] < n:
            self._counts = np.zeros((max(n, self._counts.shape[0]), h, w), np.uint16)
        if self._image.shape != (h, w):
            self._image = np.zeros((h, w), np.uint32)
        x_lo, y_lo, x_hi, y_hi = w, h, 0, 0
        for c, (segments, _rgba, dashed) in enumerate(groups):
            box = count_segments(segments, affine, self._counts[c], dashed)
            x_lo, y_lo = min(x_lo, box[0]), min(y_lo, box[1])
            x_hi, y_hi = max(x_hi, box[2]), max(y_hi, box[3])
        if x_lo < x_hi:
            colours = np.array([rgba[:3] for _, rgba, _ in groups], np.float64).reshape(-1, 3)
            depth = np.array([optical_depth(rgba[3]) for _, rgba, _ in groups], np.float64)
            blend_counts(self._counts[:n], colours, depth, COVERAGE, self._image, x_lo, y_lo, x_hi,
                         y_hi)
        return self._image, (x_lo, y_lo, x_hi, y_hi)


def warm_up() -> None:
    """Compile both kernels, or load them from numba's on-disk cache (~1 s the first time on a
    machine, ~0.3 s after): `make` does it at install; the app on a thread at its first plans."""
    SegmentRaster().render([(np.zeros((1, 4)), (0, 0, 0, 255), False)],
                           np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]), (2, 2))
