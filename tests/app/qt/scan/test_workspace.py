"""The Scan workspace in a real MainWindow (fake scene view, real scan file): a scan dropped on
the window opens here and not in review, the docks show, the hardest frame is selected, and a
recording still opens in review."""
from __future__ import annotations

import os

import pytest
from PySide6 import QtCore

from app.core.scene_session import SceneSession
from app.qt.review.workspace import install as install_review
from app.qt.scan.workspace import install as install_scan
from app.qt.shell import dialogs
from app.qt.shell.main_window import MainWindow
from tests.app.core.scan.scan_fixture import write_scan
from tests.app.shell_fakes import FakeScene


@pytest.fixture
def window(qtbot, monkeypatch):
    monkeypatch.setenv(dialogs.NON_MODAL_ENV, "1")
    win = MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()), restore_layout=False)
    win.features["scan"] = install_scan(win)          # the registry's order: scan before review
    win.features["review"] = install_review(win)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.features["scan"].state.close()


def test_dropped_scan_opens_in_the_scan_workspace(window, tmp_path):
    path = write_scan(tmp_path / "scan.h5", episodes=9, length=12)
    window.open_paths([path])
    ws = window.features["scan"]
    assert window.workspace == "scan"
    assert all(d.isVisible() for d in ws.docks.values())
    assert ws.state.path == path and ws.state.selection == (ws.state.queue[0].episode,
                                                            ws.state.queue[0].frame)
    assert ws.queue.table.rowCount() == 20 and ws.heatmap.image.image.shape == (9, 6)
    assert not window.features["review"].session.recordings       # review did not take it
    assert not ws.open_in_inspector()             # no dataset-frame opener in this window


def test_a_recording_still_opens_in_review(window, tmp_path):
    from recordings.header import write_recording
    from tests.recordings.helpers import ENV_ARGS, make_rollout
    rec = tmp_path / "rec.h5"
    write_recording(rec, [make_rollout(0)], env_args=ENV_ARGS)
    window.open_paths([str(rec)])
    assert window.features["review"].session.recordings
    assert window.features["scan"].state.reader is None


class _Click:
    """A pyqtgraph MouseClickEvent's surface: a double-click at an image position."""

    def __init__(self, pos: QtCore.QPointF) -> None:
        self._pos, self.accepted = pos, False

    def pos(self) -> QtCore.QPointF:
        return self._pos

    def double(self) -> bool:
        return True

    def accept(self) -> None:
        self.accepted = True


def test_double_click_on_a_heat_map_cell_samples_that_frame_in_the_inspector(
        qtbot, monkeypatch, tmp_path, bimodal_h5, bimodal_ckpt):
    """A real scan of the bimodal recording: double-clicking a cell opens the data set in the
    dataset-conditioned inspector (review's data set view), at that episode and frame, and the
    scanned policy samples there again with its denoising chain."""
    from app.core.scan.config import ScanConfig, ScanSettings
    from app.core.scan.engine import run_scan

    out = tmp_path / "scan.h5"
    run_scan(ScanConfig((str(bimodal_ckpt),), bimodal_h5,
                        ScanSettings(episodes=(0, 3), every=10, num_samples=8, neighbours=4)),
             str(out), workers=0)
    monkeypatch.setenv(dialogs.NON_MODAL_ENV, "1")
    win = MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()), restore_layout=False)
    win.raise_errors = True
    win.features["scan"] = install_scan(win)
    win.features["review"] = install_review(win)
    from app.qt.review import dataset_workspace
    win.features["review"].datasets = dataset_workspace.install(win)   # as the registry does
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    ws = win.features["scan"]
    ws.open(str(out))
    datasets = win.features["review"].datasets
    assert hasattr(datasets, "open_data_frame")
    row, column = 2, 1                     # episode 2, the cell of frame 10
    episode, frame = ws.state.cell(row, column)
    assert (episode, frame) == (2, 10)
    # the image item's double-click, as pyqtgraph delivers it (position in cell coordinates)
    ws.heatmap.image.mouseClickEvent(_Click(QtCore.QPointF(column + 0.5, row + 0.5)))
    qtbot.waitUntil(lambda: datasets.result is not None, timeout=30_000)
    result = datasets.result
    assert (result.episode, result.frame) == (2, 10)
    assert ws.state.selection == (2, 10)
    assert os.path.samefile(result.data, bimodal_h5) or result.data.endswith("bimodal.h5")
    assert result.batch.chain.shape[0] > 1 and result.plans.shape[0] > 0   # sampled, with chain
    assert (datasets.browser.episode, datasets.browser.frame) == (2, 10)
    assert win.workspace == "review"
    datasets._runner.shutdown()
    ws.state.close()
