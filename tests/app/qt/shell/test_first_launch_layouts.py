"""Issue 20, "layouts that work at first launch" at 1600x1000 and 1280x800: the whole window
(every registered workspace, as `planscope` builds it) with content in each workspace — a
sampled policy in the inspector, a 300-rollout evaluation in review and evaluation, a scan in
scan — at both sizes. For every workspace: its minimum size fits the screen, a switch keeps the
window's size, and the key widgets have their room (chain plots >= 160 px, the Modes legend
beside — never over — the bars and its texts whole or elided with a tooltip, all 20 queue rows at
the default size, the scan heat map, curves and queue on screen)."""
from __future__ import annotations

import pytest
from PySide6 import QtCore, QtTest, QtWidgets

from tests.app.qt.review.test_keyboard_review import fifty_seeds_once  # noqa: F401  (fixture)

SIZES = [(1600, 1000), (1280, 800)]
PLUGIN = "tests.app.inspector_fakes:make_planner"


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def filled(request, qapp, tmp_path_factory, fifty_seeds_once):  # noqa: F811
    """A registry window at the size, with content in every workspace; back in the inspector.
    One window per size for the module (each test shows the workspace it checks first)."""
    import shutil
    import time

    from app.core.scene_session import SceneSession
    from app.qt import registry
    from app.qt.shell import dialogs
    from tests.app.core.scan.scan_fixture import write_scan
    from tests.app.inspector_fakes import FakeScene
    size = request.param
    tmp = tmp_path_factory.mktemp("layouts")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(dialogs.NON_MODAL_ENV, "1")
        win = registry.main_window(SceneSession("mug_grasp", factory=lambda _n: FakeScene()),
                                   restore_layout=False)
        try:
            win.resize(*size)
            win.show()
            QtTest.QTest.qWaitForWindowExposed(win)
            win.load_scene()
            ws = win.features["inspector"]
            win.open_policy(PLUGIN)
            deadline = time.monotonic() + 60       # the first sample (fake planner, under load)
            while not (ws.state.result is not None and not ws.controller.runner.busy
                       and not ws.state.sampling):
                assert time.monotonic() < deadline, "the first sample never came"
                QtTest.QTest.qWait(20)
            win.open_paths([write_scan(tmp / "scan.h5", episodes=40, length=60)])
            win.open_paths([shutil.copy(fifty_seeds_once, tmp / "eval50.h5")])
            win.set_workspace("inspector")
            settle(qapp)
            assert win.size().toTuple() == size
            yield win, size
        finally:
            win.features["scan"].state.close()
            win.close()
            win.deleteLater()
            qapp.processEvents()


def settle(qapp, rounds: int = 6) -> None:
    for _ in range(rounds):     # the deferred size check and the layout requests it causes
        qapp.processEvents()


def on_screen(widget: QtWidgets.QWidget, window: QtWidgets.QWidget) -> QtCore.QRect:
    """The widget's rectangle in window coordinates (it must be shown and inside the window)."""
    assert widget.isVisible(), widget
    rect = QtCore.QRect(widget.mapTo(window, QtCore.QPoint(0, 0)), widget.size())
    assert window.rect().contains(rect), (widget, rect, window.rect())
    return rect


def show_workspace(win, name: str, size, qapp) -> None:
    win.set_workspace(name)
    settle(qapp)
    hint = win.minimumSizeHint()
    assert hint.width() <= size[0] and hint.height() <= size[1], (name, hint.toTuple())
    assert win.size().toTuple() == size, (name, win.size().toTuple())


def test_inspector_chain_plots_and_modes_dock(filled, qapp):
    from app.qt.inspector.chain_view import MIN_PLOT_HEIGHT
    win, size = filled
    show_workspace(win, "inspector", size, qapp)
    ws = win.features["inspector"]
    for plot in (ws.chain_view.top, ws.chain_view.side, ws.chain_view.stats):
        assert plot.height() >= MIN_PLOT_HEIGHT, (size, plot.height())
    # the side panel's forms fit its width (no horizontal bar: narrower cut "Cancel", "New seed")
    scroll = ws.docks["inspector_policy"].widget()
    assert scroll.viewport().width() >= scroll.widget().minimumSizeHint().width(), size
    modes = ws.modes_view
    summary = ws.state.result.summary
    assert summary is not None and summary.num_modes >= 2
    legend = on_screen(modes._legend, win)
    bars = modes.plot.getPlotItem().vb
    plot = on_screen(modes.plot, win)
    box = bars.sceneBoundingRect().toRect().translated(plot.topLeft())
    assert not legend.intersects(box), (legend, box)           # the legend is never over the bars
    assert box.height() >= 40, box                               # bars readable
    assert modes._legend.sizeHint().width() <= legend.width()    # every legend entry whole
    assert modes._legend.labels == ["policy", "data"]
    for label in (modes.policy_verdict.reason, modes.metrics):
        rect = on_screen(label, win)
        doc = label._document(label.shown_text)        # laid out at the label's width
        assert doc.size().height() <= rect.height() + 1, (label.shown_text, rect)   # not cut
        full = label.text()
        assert label.shown_text == full or (label.shown_text.endswith("…")
                                            and label.toolTip() == full)
    for button in modes.mode_buttons:
        assert modes.rect().contains(QtCore.QRect(button.mapTo(modes, QtCore.QPoint(0, 0)),
                                                  button.size()))
        assert button.fontMetrics().horizontalAdvance(button.text()) <= button.width()


def test_review_queue_and_timeline(filled, qapp):
    win, size = filled
    show_workspace(win, "review", size, qapp)
    ws = win.features["review"]
    lst = ws.queue.queue.list
    assert lst.count() == 20
    visible = [i for i in range(20) if lst.viewport().rect().contains(lst.visualItemRect(lst.item(i)))]
    if size == (1600, 1000):
        assert len(visible) == 20, visible                 # the default size: every row
    else:
        assert len(visible) >= 10, visible                 # 1280x800: half the queue, scrolling
    on_screen(ws.queue.tags, win)
    assert on_screen(ws.timeline, win).height() >= 46
    assert on_screen(ws.plots, win).height() >= 120
    assert on_screen(ws.replans, win).height() >= 150
    assert on_screen(win.scene_view, win).height() >= 200


def test_scan_and_evaluation_docks(filled, qapp):
    win, size = filled
    show_workspace(win, "scan", size, qapp)
    scan = win.features["scan"]
    assert on_screen(scan.heatmap, win).height() >= 150
    assert on_screen(scan.curves, win).height() >= 180
    assert on_screen(scan.queue, win).height() >= 400
    show_workspace(win, "evaluation", size, qapp)
    ev = win.features["evaluation"]
    for dock in ev.docks.values():
        rect = on_screen(dock, win)
        assert rect.height() >= 150 and rect.width() >= 150, rect


def test_switching_every_workspace_twice_keeps_the_window_size(filled, qapp):
    from app.qt.shell.main_window import WORKSPACES
    win, size = filled
    for name in [*WORKSPACES, *WORKSPACES, "inspector"]:
        show_workspace(win, name, size, qapp)
