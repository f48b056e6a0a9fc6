"""A real mouse on the scan heat map, in the registry's main window: a click on a cell selects
that frame, a double-click opens it in the dataset-conditioned inspector, which samples there
again with its chain. The events go through Qt (QTest on the plot's viewport, at the cell's
centre mapped image -> scene -> view), not through the item's handler."""
from __future__ import annotations

import pytest
from PySide6 import QtCore
from PySide6.QtTest import QTest

from app.core.scene_session import SceneSession
from app.qt import registry
from tests.app.inspector_fakes import FakeScene

Qt = QtCore.Qt


@pytest.fixture
def window(qtbot):
    shown: list[tuple[str, str]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("app.qt.shell.main_window.show_error",
                   lambda parent, title, exc: shown.append((title, str(exc))))
        win = registry.main_window(SceneSession("mug_grasp", factory=lambda _n: FakeScene()),
                                   restore_layout=False)
        win.dialogs = shown
        win.resize(1200, 800)
        win.show()
        qtbot.waitExposed(win)
        win.load_scene()
        yield win
        win.close()


def _cell_point(heatmap, row: int, column: int) -> QtCore.QPoint:
    """The viewport pixel at the centre of cell (row, column) of the heat map's image."""
    scene = heatmap.image.mapToScene(QtCore.QPointF(column + 0.5, row + 0.5))
    return heatmap.plot.mapFromScene(scene)


def _settled_points(qtbot, heatmap, cells: list[tuple[int, int]]) -> list[QtCore.QPoint]:
    """The viewport pixels of `cells` once the plot has stopped moving: every pending layout pass
    is delivered (sendPostedEvents: the dock and the plot's graphics layout are laid out in
    posted LayoutRequest events) and the view box's deferred auto-range and matrix update is
    applied (prepareForPaint: what its next paint would do), until two readings agree and every
    cell is inside the viewport. A state to wait for, not a time (it replaced a
    `qtbot.wait(50)`, which only hoped a paint would come within 50 ms)."""
    viewbox = heatmap.plot.getViewBox()
    readings: list[list[QtCore.QPoint]] = []

    def settled() -> bool:
        QtCore.QCoreApplication.sendPostedEvents()
        viewbox.prepareForPaint()
        points = [_cell_point(heatmap, row, column) for row, column in cells]
        stable = bool(readings) and readings[-1] == points
        readings.append(points)
        rect = heatmap.plot.viewport().rect()
        return stable and all(rect.contains(p) for p in points)

    qtbot.waitUntil(settled)
    return readings[-1]


def double_click(viewport, point: QtCore.QPoint) -> None:
    """What the window system delivers for a double-click: press, release, double-click,
    release (QTest.mouseDClick sends the double-click event alone; pyqtgraph's scene hands the
    double click to the item on the release that follows it)."""
    QTest.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier, point)
    QTest.mouseDClick(viewport, Qt.LeftButton, Qt.NoModifier, point)
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, point)


def test_click_selects_and_double_click_opens_the_frame_in_the_inspector(
        qtbot, window, tmp_path, bimodal_h5, bimodal_ckpt):
    from app.core.scan.config import ScanConfig, ScanSettings
    from app.core.scan.engine import run_scan

    out = tmp_path / "scan.h5"
    run_scan(ScanConfig((str(bimodal_ckpt),), bimodal_h5,
                        ScanSettings(episodes=(0, 3), every=10, num_samples=8, neighbours=4)),
             str(out), workers=0)
    scan, inspector = window.features["scan"], window.features["inspector"]
    window.set_workspace("scan")
    scan.open(str(out))
    heatmap = scan.heatmap
    qtbot.waitUntil(lambda: heatmap.plot.viewport().isVisible()
                    and heatmap.plot.viewport().height() > 50)
    assert scan.state.cell(2, 1) == (2, 10) and scan.state.cell(0, 0) == (0, 0)
    inspector.state.set_result(None)

    # the click is sent right after the reading, with no event processed in between
    first, = _settled_points(qtbot, heatmap, [(0, 0)])
    QTest.mouseClick(heatmap.plot.viewport(), Qt.LeftButton, Qt.NoModifier, first)
    qtbot.waitUntil(lambda: scan.state.selection == (0, 0))
    assert window.workspace == "scan" and inspector.state.data is None   # a click only selects

    # the selection marker may move the auto-range by its pixel padding: read the cell again
    second, = _settled_points(qtbot, heatmap, [(2, 1)])
    double_click(heatmap.plot.viewport(), second)
    qtbot.waitUntil(lambda: inspector.state.data is not None, timeout=60_000)
    qtbot.waitUntil(lambda: not inspector.controller.runner.busy
                    and not inspector.state.sampling, timeout=60_000)
    assert scan.state.selection == (2, 10)
    assert window.workspace == "inspector"
    assert (inspector.state.data.episode, inspector.state.data.frame) == (2, 10)
    assert inspector.state.source.episode == 2 and inspector.state.source.frame == 10
    assert inspector.state.result.batch.chain.shape[0] == inspector.state.settings.steps + 1
    assert window.dialogs == []
    inspector.back_to_scene()
    qtbot.waitUntil(lambda: not inspector.controller.runner.busy, timeout=60_000)
    scan.state.close()
