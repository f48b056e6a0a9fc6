"""The Scan workspace in a real MainWindow (fake scene view, real scan file): a scan dropped on
the window opens here and not in review, the docks show, the hardest frame is selected, and a
recording still opens in review. A real double-click on a cell: test_heatmap_click.py."""
from __future__ import annotations

import pytest

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
