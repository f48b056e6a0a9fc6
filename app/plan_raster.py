"""Rasterise many translucent line segments of one colour into an image, in compiled code.

Why not QPainter.drawLines: Qt's cosmetic stroker blends every pixel of every line through a span
function, ~1.5-2 ns per pixel, and it holds the GIL. Early in a denoising chain the 2-D views draw
15k noise segments that cross the whole plot, 4-6 M line pixels on a 528x107 view (100x overdraw):
13 ms a frame. Here a DDA walk per segment only counts hits per pixel (numba, ~1 ns per pixel),
and the counts become colour in one pass: k overlapping lines of colour C and alpha a, drawn
source-over one after the other, leave coverage 1 - (1 - a)^k of C. The resulting premultiplied
image is what Qt would have painted (same colour, same coverage), drawn with one drawImage.

Geometry: segments are in item (data) coordinates; the painter's affine transform (item -> device
pixels, times the device pixel ratio) is applied per segment, then each segment is cut to the
image (Liang-Barsky). A pixel (i, j) covers [i, i+1) x [j, j+1); a segment lights the pixels
under floor(point) at unit steps along its major axis, its last pixel left to the next segment
(so a polyline's shared waypoints are not counted twice) unless it was cut at the image's edge.
Dashed pens: 4 pixels on, 2 off, from each segment's start (Qt's DashLine at width 1).
"""
from __future__ import annotations

import threading

import numba
import numpy as np

MAX_COUNT = 255          # (1 - a)^255 is below one 8-bit step for any alpha this app uses


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
        # where the segment enters the image it keeps its own phase (the pattern starts at
        # the segment's start, not at the image edge) so dashes do not crawl when panning
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


@numba.njit(nogil=True, cache=True)
def colour_counts(counts, lut, out, x_lo, y_lo, x_hi, y_hi):  # pragma: no cover (compiled)
    """out[y, x] = lut[min(count, MAX_COUNT)] inside the box and the counts there reset to 0
    (the buffer is clean for the next frame without a full clear)."""
    for y in range(y_lo, y_hi):
        for x in range(x_lo, x_hi):
            c = counts[y, x]
            if c > MAX_COUNT:
                c = MAX_COUNT
            out[y, x] = lut[c]
            counts[y, x] = 0


def coverage_lut(r: int, g: int, b: int, a: int) -> np.ndarray:
    """[MAX_COUNT + 1] uint32 premultiplied ARGB of k lines of colour (r, g, b) at alpha a/255
    drawn over each other: coverage 1 - (1 - a)^k."""
    k = np.arange(MAX_COUNT + 1)
    cover = 1.0 - (1.0 - a / 255.0) ** k
    channels = [np.rint(cover * v).astype(np.uint32) for v in (255, r, g, b)]
    return (channels[0] << 24) | (channels[1] << 16) | (channels[2] << 8) | channels[3]


class SegmentRaster:
    """Buffers reused from frame to frame: counts [H, W] uint16 (kept all-zero between calls)
    and the ARGB image. `render(seg, affine, size, lut, dashed)` -> (image [H, W] uint32 view,
    lit box) — the image is valid inside the box only."""

    def __init__(self) -> None:
        self._counts = np.zeros((0, 0), np.uint16)
        self._image = np.zeros((0, 0), np.uint32)

    def render(self, seg: np.ndarray, affine: np.ndarray, size: tuple[int, int], lut: np.ndarray,
               dashed: bool) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        w, h = size
        if self._counts.shape != (h, w):
            self._counts = np.zeros((h, w), np.uint16)
            self._image = np.zeros((h, w), np.uint32)
        box = count_segments(seg, affine, self._counts, dashed)
        if box[0] < box[2]:
            colour_counts(self._counts, lut, self._image, *box)
        return self._image, box


_warming: threading.Thread | None = None


def warm_up() -> None:
    """Compile both kernels, or load them from numba's on-disk cache (~0.9 s the first time on
    a machine, ~0.3 s after): done once per process before the first plans are painted."""
    SegmentRaster().render(np.zeros((1, 4)), np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]), (2, 2),
                           coverage_lut(0, 0, 0, 255), False)


def warm_up_in_background() -> None:
    """Start `warm_up` on a daemon thread once per process; a paint that comes first waits for
    numba's compiler lock, so it is correct either way."""
    global _warming
    if _warming is None:
        _warming = threading.Thread(target=warm_up, name="plan-raster-warm-up", daemon=True)
        _warming.start()
