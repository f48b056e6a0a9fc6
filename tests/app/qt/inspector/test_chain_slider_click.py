"""Issue 20: a click on the chain slider's groove goes to the chain step under the mouse."""
from __future__ import annotations

from PySide6 import QtCore

from app.qt.inspector.chain_view import ChainView
from tests.app.qt.inspector.test_views import state  # noqa: F401  (fixture)


def test_chain_slider_click_jumps_to_the_click(qtbot, state):  # noqa: F811
    view = ChainView(state)
    qtbot.addWidget(view)
    view.resize(1200, 380)
    view.show()
    qtbot.waitExposed(view)
    slider = view.slider
    view.slider.setValue(0)
    assert slider.maximum() == 8
    qtbot.mouseClick(slider, QtCore.Qt.LeftButton,
                     pos=QtCore.QPoint(int(slider.width() * 0.75), slider.height() // 2))
    assert state.step == 6                               # 3/4 of 8, not a page step
