"""Issue 20, item 6: the mouse wheel over the inspector's real side panel (sampling settings and
the what-if spin boxes) never changes a value unless that field has focus; the focused field
does take it. The window `planscope` builds, with a fake scene and planner."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

Qt = QtCore.Qt
PLUGIN = "tests.app.inspector_fakes:make_planner"


def wheel(widget: QtWidgets.QWidget) -> None:
    """One notch of the wheel (down) over the middle of `widget`, as the window system sends it."""
    pos = QtCore.QPointF(widget.width() / 2, widget.height() / 2)
    event = QtGui.QWheelEvent(pos, widget.mapToGlobal(pos), QtCore.QPoint(0, 0),
                              QtCore.QPoint(0, -120), Qt.NoButton, Qt.NoModifier,
                              Qt.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(widget, event)
    QtWidgets.QApplication.processEvents()


def test_wheel_over_the_inspector_side_panel_changes_no_value(qtbot, qapp):
    from app.core.scene_session import SceneSession
    from app.qt import registry
    from tests.app.inspector_fakes import FakeScene
    win = registry.main_window(SceneSession("mug_grasp", factory=lambda _n: FakeScene()),
                               restore_layout=False)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    win.load_scene()
    ws = win.features["inspector"]
    win.open_policy(PLUGIN)
    qtbot.waitUntil(lambda: ws.state.result is not None and not ws.controller.runner.busy
                    and not ws.state.sampling, timeout=60000)
    boxes = [b for panel in (ws.sampling_panel, ws.whatif)
             for b in panel.findChildren(QtWidgets.QAbstractSpinBox)
             if b.isVisibleTo(panel) and b.isEnabled()]
    assert ws.whatif.x in boxes and ws.sampling_panel.num in boxes and len(boxes) >= 6
    win.setFocus()
    qapp.processEvents()
    before = [b.value() for b in boxes]
    mug = win.session.observation["mug_pos"].copy() if "mug_pos" in win.session.observation else None
    for box in boxes:
        assert not box.hasFocus()
        wheel(box)
    assert [b.value() for b in boxes] == before            # the what-if x did not move 3.5 cm
    if mug is not None:
        assert (win.session.observation["mug_pos"] == mug).all()
    # a field being edited takes the wheel
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=2000)
    box = ws.whatif.x
    box.setFocus(Qt.MouseFocusReason)
    qtbot.waitUntil(box.hasFocus, timeout=1000)
    value = box.value()
    wheel(box)
    assert box.value() == value - box.singleStep() or box.value() == box.minimum()
    win.close()
