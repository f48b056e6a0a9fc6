"""Issue 20 item 6 inside the real MainWindow: key 0 isolates the plans in no mode."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
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
