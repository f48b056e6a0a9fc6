"""The compiled plan rasteriser (app/qt/plots/plan_raster.py) paints what Qt's stroker would: the same
pixels for aliased 1-px lines, the same colour for k translucent lines over each other, dashes
with gaps, segments cut to the image, nothing for NaN; overlapping modes mix whatever their
order; and PlanCurve draws through it."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from app.qt.plots.plan_projection import PlanProjection
from app.qt.plots.plan_raster import SegmentRaster, count_segments

IDENTITY = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0])


def counts_of(seg, size=(40, 30), affine=IDENTITY, dashed=False):
    w, h = size
    counts = np.zeros((h, w), np.uint16)
    box = count_segments(np.asarray(seg, float).reshape(-1, 4), affine, counts, dashed)
    return counts, box


def test_a_segment_lights_its_pixels_but_not_its_last():
    counts, box = counts_of([0.5, 2.5, 10.5, 2.5])
    assert counts[2, :10].tolist() == [1] * 10 and counts.sum() == 10
    assert box == (0, 2, 10, 3)
    # a polyline's shared waypoint is counted once
    counts, _ = counts_of([[0.5, 0.5, 5.5, 5.5], [5.5, 5.5, 5.5, 9.5]])
    assert counts[5, 5] == 1 and counts.sum() == 9


def test_segments_are_cut_to_the_image_and_nan_is_dropped():
    counts, box = counts_of([[-100.5, 3.5, 100.5, 3.5], [5.5, -50.0, 5.5, 50.0],
                             [np.nan, 1.0, 3.0, 3.0], [60.0, 60.0, 90.0, 80.0]])
    assert counts[3].tolist() == [1] * 5 + [2] + [1] * 34       # the horizontal line crosses it all
    assert (counts[:, 5] >= 1).all()                              # so does the vertical one
    assert counts.sum() == 40 + 30
    assert box == (0, 0, 40, 30)
    counts, box = counts_of([[np.inf, 0.0, 1.0, 1.0], [-5.0, -5.0, -1.0, -2.0]])
    assert counts.sum() == 0 and box[0] > box[2]


def test_the_affine_maps_item_to_image_pixels():
    # y flipped and scaled, as a plot's view transform does: data (0..1, 0..1) -> 40 x 30 pixels
    affine = np.array([40.0, 0.0, 0.0, -30.0, 0.0, 30.0])
    counts, _ = counts_of([0.0, 0.5, 1.0, 0.5], affine=affine)
    assert counts[15].sum() == 40 and counts.sum() == 40


def test_dashed_segments_have_gaps():
    counts, _ = counts_of([0.5, 1.5, 30.5, 1.5], dashed=True)
    assert counts[1, :12].tolist() == [1, 1, 1, 1, 0, 0] * 2


def render_points(groups, size=(1, 12)):
    """groups [(count per row [rows], rgba, dashed)]: row y gets count[y] one-pixel segments."""
    raster = SegmentRaster()
    out = []
    for counts, rgba, dashed in groups:
        rows = np.repeat(np.arange(len(counts)), counts)
        out.append((np.column_stack([np.full(len(rows), 0.5), rows + 0.5,
                                     np.full(len(rows), 0.5), rows + 0.5]), rgba, dashed))
    image, _ = raster.render(out, IDENTITY, size)
    return image.copy()


def test_counts_become_the_colour_qt_blends_for_k_lines(qapp):
    colour = QtGui.QColor(230, 159, 0, 48)
    image = QtGui.QImage(1, 12, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(image)
    painter.setPen(QtGui.QPen(colour, 0))
    for k in range(12):           # row k: k lines over each other
        for _ in range(k):
            painter.drawPoint(0, k)
    painter.end()
    ours = render_points([(np.arange(12), colour.getRgb(), False)])
    for k in range(12):
        qt, mine = QtGui.QColor.fromRgba(image.pixel(0, k)), QtGui.QColor.fromRgba(int(ours[k, 0]))
        assert max(abs(qt.red() - mine.red()), abs(qt.green() - mine.green()),
                   abs(qt.blue() - mine.blue()), abs(qt.alpha() - mine.alpha())) <= 3, k
    assert ours[0, 0] == 0 and (int(ours[11, 0]) >> 24) > 200


def test_overlapping_modes_mix_whatever_their_order():
    blue, orange = (86, 180, 233, 60), (230, 159, 0, 60)
    counts = np.array([5, 5, 0])          # row 0, 1: five lines of each; row 2: none
    a = render_points([(counts, blue, False), (counts * [1, 0, 0], orange, False)], (1, 3))
    b = render_points([(counts * [1, 0, 0], orange, False), (counts, blue, False)], (1, 3))
    assert (a == b).all()
    def straight(pixel):            # premultiplied ARGB -> (r, g, b), alpha
        alpha = int(pixel) >> 24
        return [((int(pixel) >> s) & 255) * 255 / alpha for s in (16, 8, 0)], alpha

    (mixed, mixed_alpha), (alone, alone_alpha) = straight(a[0, 0]), straight(a[1, 0])
    assert alone == pytest.approx(blue[:3], abs=3)                  # blue alone: blue
    assert blue[2] > mixed[2] + 50 and mixed[2] > orange[2] + 50    # both: between the two
    assert mixed_alpha > alone_alpha and a[2, 0] == 0


def test_pixels_match_qts_aliased_stroker(qapp):
    rng = np.random.default_rng(0)
    w, h = 160, 90
    seg = np.column_stack([rng.uniform(-40, 200, 300), rng.uniform(-30, 120, 300),
                           rng.uniform(-40, 200, 300), rng.uniform(-30, 120, 300)])
    image = QtGui.QImage(w, h, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(image)
    painter.setPen(QtGui.QPen(QtGui.QColor(255, 255, 255), 0))
    painter.drawLines([QtCore.QLineF(*s) for s in seg])
    painter.end()
    qt = np.frombuffer(image.constBits(), np.uint32, w * h).reshape(h, w) != 0
    ours, _ = counts_of(seg, (w, h))
    ours = ours > 0
    near = np.zeros_like(qt)            # Qt's pixels, grown by one (rounding may differ by one)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near |= np.roll(np.roll(qt, dy, 0), dx, 1)
    assert (ours & near).sum() / ours.sum() > 0.99
    assert 0.95 < ours.sum() / qt.sum() < 1.05


def test_raster_buffer_is_clean_between_frames():
    raster = SegmentRaster()
    red = (255, 0, 0, 255)
    image, box = raster.render([(np.array([[0.5, 0.5, 9.5, 0.5]]), red, False)], IDENTITY, (10, 4))
    assert box == (0, 0, 9, 1) and image[0, 3] >> 16 == 0xFFFF
    image, box = raster.render([(np.array([[0.5, 2.5, 9.5, 2.5]]), red, False)], IDENTITY, (10, 4))
    assert image[2, 3] >> 16 == 0xFFFF and box == (0, 2, 9, 3)  # the first line's counts are gone
    assert raster._counts.sum() == 0


def test_plan_curve_paints_its_plans_in_their_colour(qtbot):
    proj = PlanProjection((0, 1), "top")
    qtbot.addWidget(proj)
    proj.resize(400, 300)
    proj.setXRange(0, 1, padding=0)
    proj.setYRange(0, 1, padding=0)
    s = np.linspace(0, 1, 16)
    plans = np.zeros((2, 16, 3))
    plans[:, :, 0] = s
    plans[0, :, 1], plans[1, :, 1] = 0.25, 0.75             # two horizontal plans, two modes
    proj.set_plans(plans, np.array([0, 1]))
    image = proj.grab().toImage()
    vb = proj.getPlotItem().vb

    def colour_at(x, y):
        p = proj.mapFromScene(vb.mapViewToScene(QtCore.QPointF(x, y)))
        around = [QtGui.QColor(image.pixel(p.x(), p.y() + d)) for d in (-1, 0, 1)]
        return max(around, key=lambda c: c.saturation())

    from app.qt.plots.mode_colors import MODE_HEX
    for y, hex_colour in ((0.25, MODE_HEX[0]), (0.75, MODE_HEX[1])):
        got, want = colour_at(0.5, y), QtGui.QColor(hex_colour)
        assert abs(got.hue() - want.hue()) <= 12 and got.saturation() > 60, (y, got.name())
    assert colour_at(0.5, 0.5).saturation() < 40                # nothing drawn between them
