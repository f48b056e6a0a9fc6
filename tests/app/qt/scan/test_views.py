"""The Scan workspace's views on a scan known by construction: one image item for the whole heat
map, a click selects the frame under it, curves and queue follow, tags land in the sidecar."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore
from PySide6.QtTest import QTest

from app.qt.scan.heatmap_view import NOT_SCANNED, colour_table, quantise
from app.qt.scan.workspace import ScanPanel, is_scan_file
from tests.app.core.scan.scan_fixture import write_scan


@pytest.fixture
def panel(qtbot, tmp_path):
    p = ScanPanel()
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.state.open(write_scan(tmp_path / "scan.h5", episodes=9, length=12))
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.state.close()


def test_quantise_and_colours():
    idx = quantise(np.array([[0.0, 0.5, np.nan, 2.0]]), 0.0, 1.0)
    assert idx.tolist() == [[0, 126, NOT_SCANNED, 253]]
    table = colour_table(+1)
    assert table[NOT_SCANNED, 3] == 0 and table[0, 3] == 255
    assert table[253, :3].sum() > table[0, :3].sum()            # worse = brighter
    assert (colour_table(-1)[0] == table[253]).all()


def test_one_image_item_and_click_selects_the_cell(panel, qtbot):
    hm = panel.heatmap
    images = [i for i in hm.plot.getPlotItem().items if type(i).__name__ == "ImageItem"]
    assert images == [hm.image] and hm.image.image.shape == (9, 6)
    assert hm.metric_box.currentText() == "demo_dist_nearest" and hm.policy_box.isVisible()

    # a real click through Qt, at column 2 (frame 4), row 3 (episode 3) mapped image -> view
    point = hm.plot.mapFromScene(hm.image.mapToScene(QtCore.QPointF(2.5, 3.5)))
    QTest.mouseClick(hm.plot.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, point)
    qtbot.waitUntil(lambda: panel.state.selection == (3, 4))
    frames, _ = panel.curves.curves[1].getData()
    assert frames.tolist() == [0, 2, 4, 6, 8, 10] and panel.curves.cursor.value() == 4
    assert "episode 3, frame 4" in panel.queue.details.text()


def test_metric_switch_and_queue(panel, qtbot):
    panel.heatmap.metric_box.setCurrentText("collapsed")
    assert panel.state.metric == "collapsed"
    img = panel.heatmap.image.image
    assert img[3, 0] == 253 and img[3, 2] == 0                  # B collapsed at episode 3, frame 0
    assert panel.queue.table.rowCount() == 20
    assert panel.queue.table.item(0, 4).text() == "collapsed"
    panel.queue.table.cellClicked.emit(0, 0)
    q = panel.state.queue[0]
    assert panel.state.selection == (q.episode, q.frame)
    panel.queue.kind.setCurrentText("hardness")
    assert panel.state.queue_kind == "hardness"


def test_tag_buttons_write_the_sidecar(panel, qtbot, tmp_path):
    panel.state.select(6, 2)
    panel.queue.tag_buttons[3].click()                          # "planning"
    assert [t.tag for t in panel.state.tags(6, 2)] == ["planning"]
    assert panel.queue.tag_list.count() == 1
    assert (tmp_path / "scan.h5.tags.sqlite").exists()
    assert is_scan_file(str(tmp_path / "scan.h5"))
