"""Issue 20: keyboard-first review. Focus after clicking every tab, Enter in the note field,
delete / context menu / undo, compare pairing, the wheel over an unfocused spin box, the queue
opening where the reviewer stopped, and a reviewer going through the 20 hardest rollouts of a
50-seed evaluation with two perturbations using only the keyboard."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from app.bench._review_data import synthetic_rollout
from app.core.review.state import RolloutKey
from app.core.scene_session import SceneSession
from app.qt.review.workspace import install
from app.qt.shell import dialogs
from app.qt.shell.main_window import MainWindow
from recordings.writer import RecordingWriter
from tests.app.shell_fakes import FakeScene

Qt = QtCore.Qt
PERTURBATIONS = ({}, {"delay": 2}, {"obs_noise": 0.01})


@pytest.fixture(autouse=True)
def nonmodal(monkeypatch, qapp):
    monkeypatch.setenv(dialogs.NON_MODAL_ENV, "1")
    dialogs.close_messages()
    yield
    dialogs.close_messages()


@pytest.fixture(scope="session")
def fifty_seeds_once(tmp_path_factory) -> Path:
    """A 50-seed evaluation of two policies, nominal plus two perturbations (300 rollouts of 12
    steps, written once per session through the real RecordingWriter)."""
    path = tmp_path_factory.mktemp("kbd") / "eval50.h5"
    with RecordingWriter(path, env_args={"env_name": "synthetic_review"}, kind="eval",
                         durable=False) as writer:
        for policy in ("diffusion", "regression"):
            for pert in PERTURBATIONS:
                for seed in range(50):
                    fail = (seed * 7 + len(pert) * 3 + len(policy)) % 5 == 0
                    r = synthetic_rollout(seed, steps=12, samples=4, state_size=2, policy=policy,
                                          fail=fail, metrics={"mode_switches": float(seed % 9)})
                    r.perturbation = dict(pert)
                    writer.write_rollout(r)
    return path


@pytest.fixture
def fifty_seeds(fifty_seeds_once, tmp_path) -> Path:
    """A private copy per test: tags live in a sidecar beside the file."""
    import shutil
    return Path(shutil.copy(fifty_seeds_once, tmp_path / "eval50.h5"))


def make_window(qtbot):
    window = MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()), restore_layout=False)
    window.features["review"] = ws = install(window)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    return window, ws


def key(qtbot, key, modifier=Qt.NoModifier):
    """Press a key where the keyboard is now (the focused widget, else the window)."""
    target = QtWidgets.QApplication.focusWidget() or QtWidgets.QApplication.activeWindow()
    qtbot.keyClick(target, key, modifier)
    QtWidgets.QApplication.processEvents()


def typed(qtbot, text: str):
    qtbot.keyClicks(QtWidgets.QApplication.focusWidget(), text)


def focus_by_click(qtbot, window, box: QtWidgets.QAbstractSpinBox) -> None:
    """Click into the text part of a spin box (not its arrows), as a user does to edit it."""
    if not window.isActiveWindow():
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    edit = box.lineEdit()
    qtbot.mouseClick(edit, Qt.LeftButton, pos=QtCore.QPoint(4, edit.height() // 2))
    qtbot.waitUntil(box.hasFocus, timeout=1000)


def click_tab(qtbot, bar: QtWidgets.QTabBar, index: int) -> None:
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(index).center())
    QtWidgets.QApplication.processEvents()


def test_tag_keys_reach_review_after_clicking_every_tab(qtbot, fifty_seeds):
    window, ws = make_window(qtbot)
    window.open_paths([str(fifty_seeds)])
    s = ws.session
    seed = window.seed_box.value()
    bars = [b for b in window.findChildren(QtWidgets.QTabBar) if b.isVisible() and b.count() > 1]
    assert bars                                          # dock tabs and the plans tabs
    clicks = 0
    for bar in bars:
        for index in range(bar.count()):
            # the toolbar's seed box had the keyboard (a click into it) ...
            focus_by_click(qtbot, window, window.seed_box)
            click_tab(qtbot, bar, index)                 # ... then a tab is clicked
            before = len(s.tags())
            key(qtbot, Qt.Key_3)
            assert len(s.tags()) == before + 1, f"tab {bar.tabText(index)!r} kept the keys"
            assert window.seed_box.value() == seed
            clicks += 1
    assert clicks >= 4
    # Esc leaves a field too
    focus_by_click(qtbot, window, window.seed_box)
    key(qtbot, Qt.Key_Escape)
    before = len(s.tags())
    key(qtbot, Qt.Key_2)
    assert len(s.tags()) == before + 1 and window.seed_box.value() == seed


def test_enter_in_the_note_field_saves_onto_the_selected_tag(qtbot, fifty_seeds):
    window, ws = make_window(qtbot)
    window.open_paths([str(fifty_seeds)])
    s, tags = ws.session, ws.queue.tags
    s.set_step(5)
    key(qtbot, Qt.Key_4)                                 # tag: it becomes the selected one
    key(qtbot, Qt.Key_E)
    assert QtWidgets.QApplication.focusWidget() is tags.note
    typed(qtbot, "gripper closes late")
    key(qtbot, Qt.Key_Return)
    assert [(t.label, t.step, t.note) for t in s.tags()] == [("planning", 5, "gripper closes late")]
    assert QtWidgets.QApplication.focusWidget() is not tags.note   # keys are review's again
    key(qtbot, Qt.Key_Right)
    assert s.step == 6 and len(s.tags()) == 1            # no duplicate tag
    # edit the note again: E shows it, Enter saves the new text onto the same tag
    key(qtbot, Qt.Key_E)
    assert tags.note.text() == "gripper closes late"
    tags.note.clear()
    typed(qtbot, "closes 2 steps late")
    key(qtbot, Qt.Key_Return)
    assert [t.note for t in s.tags()] == ["closes 2 steps late"]
    # nothing selected: Enter creates a tag carrying the note
    tags.tag_list.setCurrentItem(None)
    tags._selected_id = None
    tags.tag_list.clearSelection()
    key(qtbot, Qt.Key_E)
    typed(qtbot, "odd pause")
    key(qtbot, Qt.Key_Return)
    assert sorted((t.label, t.note) for t in s.tags()) == [("note", "odd pause"),
                                                           ("planning", "closes 2 steps late")]


def test_delete_context_menu_and_undo(qtbot, fifty_seeds):
    window, ws = make_window(qtbot)
    window.open_paths([str(fifty_seeds)])
    s, tags = ws.session, ws.queue.tags
    key(qtbot, Qt.Key_1)
    key(qtbot, Qt.Key_Right)
    key(qtbot, Qt.Key_6)
    labels = sorted(t.label for t in s.tags())
    assert labels == ["data coverage", "perception"]
    key(qtbot, Qt.Key_Delete)                            # the selected (newest) tag goes
    assert len(s.tags()) == 1
    key(qtbot, Qt.Key_Z, Qt.ControlModifier)             # and comes back
    assert sorted(t.label for t in s.tags()) == labels
    # the context menu of a tag offers note, delete and undo
    item = tags.tag_list.item(0)
    tags._context_menu(tags.tag_list.visualItemRect(item).center())
    menu = tags.context_menu
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts == ["Edit note (E)", "Delete tag (Del)", "Undo (Ctrl+Z)"]
    gone = tags.selected_tag()
    menu.actions()[1].trigger()
    menu.close()
    assert gone.tag_id not in [t.tag_id for t in s.tags()] and len(s.tags()) == 1
    # undo of a note edit
    tags.select_tag(s.tags()[0].tag_id)
    key(qtbot, Qt.Key_E)
    typed(qtbot, "x")
    key(qtbot, Qt.Key_Return)
    assert s.tags()[0].note == "x"
    key(qtbot, Qt.Key_Z, Qt.ControlModifier)
    assert s.tags()[0].note == ""


def test_compare_pairs_same_seed_and_perturbation_under_the_other_policy(qtbot, fifty_seeds):
    window, ws = make_window(qtbot)
    window.open_paths([str(fifty_seeds)])
    s = ws.session
    rec = s.recording()
    row = next(r for r in range(len(rec)) if rec.cell(r, "policy") == "diffusion"
               and rec.cell(r, "seed") == 7 and "delay" in rec.cell(r, "perturbation"))
    s.select(RolloutKey(0, row))
    pair = s.compare
    assert rec.cell(pair.row, "policy") == "regression" and rec.cell(pair.row, "seed") == 7
    assert rec.cell(pair.row, "perturbation") == rec.cell(row, "perturbation")
    compare_dock = window.dock("review_compare")
    compare_dock.show()
    compare_dock.raise_()
    QtWidgets.QApplication.processEvents()
    ws.draw_now()
    view = ws.compare
    texts = [view.picker.itemText(i) for i in range(view.picker.count())]
    assert "delay=2" in view.picker.currentText() and "regression" in view.picker.currentText()
    assert any("obs_noise=0.01" in t for t in texts) and any("nominal" in t for t in texts)
    assert "delay=2" in view.left.title.text() and "delay=2" in view.right.title.text()
    left, right = view.left.curves.viewRange(), view.right.curves.viewRange()
    np.testing.assert_allclose(left, right)
    # the same region of the table on both sides (centres equal; aspect lock may widen one axis)
    centre = lambda r: np.mean(r, axis=1)                # noqa: E731
    np.testing.assert_allclose(centre(view.left.top.viewRange()),
                               centre(view.right.top.viewRange()), atol=1e-6)
    assert left[0][0] <= 0 and left[0][1] >= 11          # the whole time range, both sides


def test_wheel_over_an_unfocused_spin_box_changes_nothing(qtbot):
    """A side panel (scroll area) with a spin box, as in the inspector's what-if panel: the wheel
    over the unfocused box scrolls the panel; only the focused box takes the wheel."""
    window, _ws = make_window(qtbot)               # installs the app's focus model
    panel = QtWidgets.QScrollArea()
    inner = QtWidgets.QWidget()
    inner.setMinimumHeight(2000)
    box = QtWidgets.QDoubleSpinBox(inner)
    box.setRange(-1, 1)
    box.setSingleStep(0.01)
    box.move(10, 10)
    box.resize(120, 28)
    panel.setWidget(inner)
    panel.resize(200, 300)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)

    def wheel(widget):
        pos = QtCore.QPointF(widget.width() / 2, widget.height() / 2)
        event = QtGui.QWheelEvent(pos, widget.mapToGlobal(pos), QtCore.QPoint(0, 0),
                                  QtCore.QPoint(0, -120), Qt.NoButton, Qt.NoModifier,
                                  Qt.NoScrollPhase, False)
        QtWidgets.QApplication.sendEvent(widget, event)
        QtWidgets.QApplication.processEvents()

    wheel(box)
    assert box.value() == 0.0
    assert panel.verticalScrollBar().value() > 0        # the panel scrolled instead
    panel.verticalScrollBar().setValue(0)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=2000)
    box.setFocus(Qt.MouseFocusReason)
    qtbot.waitUntil(box.hasFocus, timeout=1000)
    wheel(box)
    assert box.value() == pytest.approx(-0.01)          # the focused field does take it


def test_review_reopens_where_the_reviewer_stopped(qtbot, fifty_seeds):
    window, ws = make_window(qtbot)
    window.open_paths([str(fifty_seeds)])
    s = ws.session
    assert s.current == s.queue[0]
    window.setFocus()
    key(qtbot, Qt.Key_N)
    key(qtbot, Qt.Key_N)
    stopped = s.current
    assert stopped == s.queue[2]
    window.close()
    window2, ws2 = make_window(qtbot)
    window2.open_paths([str(fifty_seeds)])
    assert ws2.session.current == stopped
    assert "#3 of 20" in ws2.queue.queue.progress.text()


def test_queue_shows_all_twenty_rows_at_the_default_size(qtbot, fifty_seeds):
    window, ws = make_window(qtbot)
    window.resize(1600, 1000)
    window.open_paths([str(fifty_seeds)])
    ws.size_docks()
    QtWidgets.QApplication.processEvents()
    lst = ws.queue.queue.list
    assert lst.count() == 20
    last = lst.visualItemRect(lst.item(19))
    assert lst.viewport().rect().contains(last), "row 20 is not visible"
    width = lst.viewport().width()
    cut = [lst.item(i).text() for i in range(20)
           if lst.fontMetrics().horizontalAdvance(lst.item(i).text()) > width]
    assert not cut, f"cut rows: {cut}"


def test_twenty_hardest_with_the_keyboard_only(qtbot, fifty_seeds):
    """N, P, 1-8, E + a note + Enter, Space, arrows: 20 tagged rollouts with their notes."""
    window, ws = make_window(qtbot)
    window.open_paths([str(fifty_seeds)])
    s = ws.session
    assert len(s.recording()) == 300 and len(s.queue) == 20
    window.setFocus()
    key(qtbot, Qt.Key_P)                                 # already on #1: stays there
    assert s.current == s.queue[0]
    for k in range(20):
        assert s.queue_position == k
        key(qtbot, Qt.Key_Space)                         # play ...
        assert s.playing
        key(qtbot, Qt.Key_Space)                         # ... pause
        key(qtbot, Qt.Key_Right)
        key(qtbot, Qt.Key_Right)
        key(qtbot, Qt.Key_Left)
        step = s.step
        key(qtbot, getattr(Qt, f"Key_{k % 8 + 1}"))
        key(qtbot, Qt.Key_E)
        typed(qtbot, f"rollout {k + 1} note")
        key(qtbot, Qt.Key_Return)
        tags = s.tags()
        assert [(t.step, t.note) for t in tags] == [(step, f"rollout {k + 1} note")]
        if k < 19:
            key(qtbot, Qt.Key_N)
    assert s.reviewed_count == 20
    from app.core.review.tags import TAXONOMY
    got = [(s.tags(q)[0].label, s.tags(q)[0].note) for q in s.queue]
    assert got == [(TAXONOMY[k % 8], f"rollout {k + 1} note") for k in range(20)]
    assert "20 / 20 reviewed" in ws.queue.queue.progress.text()


def test_slider_click_jumps_to_the_click(qtbot):
    from app.qt.shell.focus import jump_to_click
    slider = QtWidgets.QSlider(Qt.Horizontal)
    slider.setRange(0, 50)
    slider.resize(500, 24)
    jump_to_click(slider)
    qtbot.addWidget(slider)
    slider.show()
    qtbot.waitExposed(slider)
    qtbot.mouseClick(slider, Qt.LeftButton, pos=QtCore.QPoint(375, 12))
    assert abs(slider.value() - 37) <= 1                  # not a page step of 10
    qtbot.mouseClick(slider, Qt.LeftButton, pos=QtCore.QPoint(60, 12))
    assert abs(slider.value() - 5) <= 1


def test_file_dialogs_remember_the_last_folder(qtbot, fifty_seeds, tmp_path, monkeypatch):
    window, ws = make_window(qtbot)
    window.open_paths([str(fifty_seeds)])
    ws.session.add_tag("timing")
    folder = tmp_path / "exports"
    folder.mkdir()
    asked = []

    def save(_parent, _title, start, _filter):
        asked.append(start)
        return str(folder / "mine.csv"), ""

    def open_(_parent, _title, start, _filter):
        asked.append(start)
        return str(folder / "mine.csv"), ""

    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", save)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", open_)
    ws.export_tags()
    assert (folder / "mine.csv").exists()
    ws.export_tags()                                     # the second dialog starts there
    ws.import_tags()
    assert Path(asked[1]).parent == folder and Path(asked[2]) == folder
