"""Issue 20 item 6 inside the real MainWindow: key 0 isolates the plans in no mode; the default
layout at 1600x1000 and 1280x800 gives the chain plots >= 160 px; workspace switches never grow
the window."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6 import QtCore

from app.core.inspector.state import NO_MODE
from tests.app.qt.inspector.test_workspace import key_owners, load, press, window  # noqa: F401


def test_key_0_isolates_the_plans_in_no_mode(qtbot, window):  # noqa: F811
    ws = load(qtbot, window)
    state = ws.state
    owners = key_owners(window, "0")
    assert [a.text() for a in owners] == ["Isolate the plans in no mode"]   # no ambiguous shortcut
    labels = np.array(state.result.summary.labels, copy=True)
    labels[:3] = -1
    state.set_result(replace(state.result, summary=replace(state.result.summary, labels=labels)))
    press(qtbot, window, QtCore.Qt.Key.Key_0)
    assert state.isolated == NO_MODE and ws.modes_view.mode_buttons[-1].isChecked()
    press(qtbot, window, QtCore.Qt.Key.Key_0)
    assert state.isolated is None


@pytest.mark.parametrize("size", [(1600, 1000), (1280, 800)])
def test_default_layout_gives_the_chain_plots_160_px_and_switches_never_grow_the_window(qtbot, qapp, size):
    from app.core.scene_session import SceneSession
    from app.qt import registry
    from app.qt.inspector.chain_view import MIN_PLOT_HEIGHT
    from app.qt.shell.main_window import WORKSPACES
    from tests.app.inspector_fakes import FakeScene
    session = SceneSession("mug_grasp", factory=lambda _n: FakeScene())
    win = registry.main_window(session, restore_layout=False)
    try:
        win.resize(*size)
        win.show()
        qtbot.waitExposed(win)
        win.set_workspace("inspector")
        qapp.processEvents()
        chain = win.features["inspector"].chain_view
        assert MIN_PLOT_HEIGHT == 160
        for plot in (chain.top, chain.side, chain.stats):
            assert plot.height() >= MIN_PLOT_HEIGHT, (size, plot.height())
        for name in list(WORKSPACES) + ["inspector"]:
            win.set_workspace(name)
            for _ in range(4):      # the deferred size check and the layout requests it causes
                qapp.processEvents()
            # never larger than asked, unless that workspace's own minimum forces it
            assert win.height() <= max(size[1], win.minimumSizeHint().height()), (name, win.size())
            assert win.width() <= max(size[0], win.minimumSizeHint().width()), name
        assert win.size().toTuple() == size     # back in the inspector: the size the user had
        assert min(p.height() for p in (chain.top, chain.side, chain.stats)) >= MIN_PLOT_HEIGHT
    finally:
        win.close()
        win.deleteLater()
        qapp.processEvents()
