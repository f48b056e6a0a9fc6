"""Review workspace in a real MainWindow (fake scene, no pybullet): browse, scrub, keys, tags that
survive a reopen, queue, filters, compare, robomimic files, 3-D replay from states, bad input."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from app.core.review.state import RolloutKey
from app.core.scene_session import SceneSession
from app.qt.review.workspace import install
from app.qt.shell import dialogs
from app.qt.shell.main_window import MainWindow
from tests.app.review_helpers import write_ranked, write_robomimic, write_synthetic
from tests.app.shell_fakes import FakeScene

Qt = QtCore.Qt


@pytest.fixture(autouse=True)
def nonmodal(monkeypatch, qapp):
    """Dialogs never block a test: they stay open, non-modal, and `messages()` lists their texts
    oldest first; every dialog left open is closed afterwards."""
    monkeypatch.setenv(dialogs.NON_MODAL_ENV, "1")
    dialogs.close_messages()
    yield messages
    dialogs.close_messages()


def messages() -> list[str]:
    return [text for _name, text in dialogs.open_messages()]


def make_window(qtbot, scene_name: str = "fake"):
    window = MainWindow(SceneSession(scene_name, factory=lambda _n: FakeScene()), restore_layout=False)
    window.features["review"] = ws = install(window)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()  # window shortcuts need the active window (no WM under Xvfb)
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    return window, ws


def press(qtbot, window, key, modifier=Qt.NoModifier):
    qtbot.keyClick(window, key, modifier)
    QtWidgets.QApplication.processEvents()


@pytest.fixture
def synthetic(tmp_path):
    return write_synthetic(tmp_path / "eval.h5", 6, policies=("diffusion", "regression"))


def test_browse_scrub_tag_with_keys_then_reopen(qtbot, synthetic, manual_clock):
    window, ws = make_window(qtbot)
    window.open_paths([str(synthetic)])
    s = ws.session
    assert window.workspace == "review" and ws.browser.proxy.rowCount() == 12
    # browse: click the row of rollout 3 (seed 3, a failure)
    model = ws.browser.model
    row = ws.browser.proxy.mapFromSource(model.index(model.row_of(RolloutKey(0, 3)), 1))
    rect = ws.browser.table.visualRect(row)
    qtbot.mouseClick(ws.browser.table.viewport(), Qt.LeftButton, pos=rect.center())
    assert s.current == RolloutKey(0, 3) and not s.rollout.success
    assert "FAILED (collision) at step 37" in ws.timeline.headline.text()
    # scrub: click in the middle of the timeline bar
    bar = ws.timeline.bar
    qtbot.mouseClick(bar, Qt.LeftButton, pos=QtCore.QPoint(bar.width() // 2, bar.height() // 2))
    assert abs(s.step - 20) <= 1
    qtbot.waitUntil(lambda: ws.frames_drawn > 0)
    assert ws.replans.top_view.mode_items                   # plans of the replan drawn
    # keys
    window.setFocus()
    press(qtbot, window, Qt.Key_Home)
    assert s.step == 0
    press(qtbot, window, Qt.Key_Right)
    assert s.step == 1
    press(qtbot, window, Qt.Key_Right, Qt.ShiftModifier)    # next event: the replan at 8
    assert s.step == 8
    press(qtbot, window, Qt.Key_Left, Qt.ShiftModifier)
    assert s.step == 0
    press(qtbot, window, Qt.Key_End)
    assert s.step == 39
    press(qtbot, window, Qt.Key_BracketRight)
    assert s.speed == 2.0
    press(qtbot, window, Qt.Key_BracketLeft)
    press(qtbot, window, Qt.Key_BracketLeft)
    assert s.speed == 0.5
    press(qtbot, window, Qt.Key_Space)
    assert s.playing and s.step == 0                        # from the end, play restarts
    ws.timeline.tick()                                      # however late timers fire, no
    assert s.step == 0                                      # clock time passed: no step
    manual_clock.advance(0.25)                              # 0.25 s x 10 Hz x 0.5 = 1.25 steps
    ws.timeline.tick()
    assert s.step == 1
    press(qtbot, window, Qt.Key_Space)
    assert not s.playing and s.step == 1
    s.set_step(37)
    press(qtbot, window, Qt.Key_4)                          # 4 = planning, at step 37
    ws.queue.tags.whole.setChecked(True)
    press(qtbot, window, Qt.Key_2)                          # 2 = representation, whole rollout
    listed = [ws.queue.tags.tag_list.item(i).text() for i in range(ws.queue.tags.tag_list.count())]
    assert listed == ["representation  ·  whole rollout", "planning  ·  step 37"]
    assert "planning" in ws.browser.model.columns["tags"][model.keys.tolist().index([0, 3])]
    window.close()

    window2, ws2 = make_window(qtbot)
    window2.open_paths([str(synthetic)])
    ws2.session.select(RolloutKey(0, 3))
    got = sorted((t.label, t.step) for t in ws2.session.tags())
    assert got == [("planning", 37), ("representation", None)]
    assert ws2.queue.tags.tag_list.count() == 2


def test_browser_search_failed_only_and_sort(qtbot, synthetic):
    window, ws = make_window(qtbot)
    window.open_paths([str(synthetic)])
    b = ws.browser
    b.search.setText("regression")
    b.apply_filter()
    assert b.proxy.rowCount() == 6
    b.failed_only.setChecked(True)
    assert b.proxy.rowCount() == 1                          # seed 3 of 0..5 fails (every 4th)
    b.search.setText("")
    b.apply_filter()
    assert b.proxy.rowCount() == 2
    b.failed_only.setChecked(False)
    from app.qt.review.rollout_browser import COLUMNS
    column = [k for k, _ in COLUMNS].index("hardness")
    b.table.sortByColumn(column, Qt.DescendingOrder)
    top = b.proxy.index(0, column).data()
    assert float(top) == max(float(b.proxy.index(r, column).data())
                             for r in range(b.proxy.rowCount()))
    assert b.proxy.index(0, [k for k, _ in COLUMNS].index("success")).data() == "FAILED"


def test_queue_panel_progress_and_n_p_keys(qtbot, tmp_path):
    window, ws = make_window(qtbot)
    window.open_paths([str(write_ranked(tmp_path / "ranked.h5"))])
    s = ws.session
    assert ws.queue.queue.list.count() == 20
    assert s.current == s.queue[0]                       # opens on #1
    assert ws.queue.queue.progress.text() == "Hardest 20: #1 of 20 · 0 / 20 reviewed"
    window.setFocus()
    press(qtbot, window, Qt.Key_P)
    assert s.current == s.queue[0]
    press(qtbot, window, Qt.Key_N)
    assert s.current == s.queue[1]
    press(qtbot, window, Qt.Key_5)
    assert ws.queue.queue.progress.text() == "Hardest 20: #2 of 20 · 1 / 20 reviewed"
    assert ws.docks["queue"].windowTitle().endswith("#2 of 20 · 1 / 20 reviewed")
    press(qtbot, window, Qt.Key_P)
    assert s.current == s.queue[0]


def test_compare_pairs_the_same_seed_in_the_other_file(qtbot, tmp_path):
    a = write_synthetic(tmp_path / "diffusion.h5", 4, policies=("diffusion",))
    b = write_synthetic(tmp_path / "regression.h5", 4, policies=("regression",))
    window, ws = make_window(qtbot)
    window.open_paths([str(a), str(b)])
    s = ws.session
    s.select(RolloutKey(0, 2))
    assert s.compare == RolloutKey(1, 2) and s.compare_rollout.policy == "regression"
    window.dock("review_compare").raise_()                  # show the Compare tab
    QtWidgets.QApplication.processEvents()
    assert "regression" in ws.compare.right.title.text()
    assert ws.compare.picker.currentData() == RolloutKey(1, 2)
    assert not ws.browser.table.isColumnHidden(0)           # File column with two files
    s.set_step(12)
    ws.draw_now()
    assert ws.compare.right.cursor.value() == 12
    compare_path = ws.replay._items["review_compare_path"].pos
    assert np.allclose(compare_path, s.compare_rollout.ee_path)   # the other path, in 3-D


def test_robomimic_file_opens_with_the_views_that_make_sense(qtbot, tmp_path):
    window, ws = make_window(qtbot)
    window.open_paths([str(write_robomimic(tmp_path / "lift.h5"))])
    s = ws.session
    assert len(s.recordings) == 1 and s.rollout.num_steps == 20
    ws.draw_now()
    assert "no plans recorded" in ws.replans.top_view.getPlotItem().titleLabel.text
    assert ws.replay.problem                                # Lift is not a planscope scene
    assert ws.plots.action_curves[0].getData()[0] is not None


def test_3d_view_replays_recorded_states(qtbot, tmp_path):
    from app.bench._review_data import synthetic_rollout
    from recordings.writer import RecordingWriter
    path = tmp_path / "fake.h5"
    rollout = synthetic_rollout(0, state_size=2)
    rollout.states[:, 0] = np.linspace(0.0, 0.39, 40)       # FakeScene state: robot y, steps
    with RecordingWriter(path, env_args={"env_name": "fake"}, durable=False) as w:
        w.write_rollout(rollout)
    window, ws = make_window(qtbot)
    window.load_scene()
    window.open_paths([str(path)])
    ws.session.set_step(30)
    ws.draw_now()
    assert ws.replay.problem == ""
    assert window.session.scene.robot_y == pytest.approx(0.30)
    assert window.scene_view.overlay("review_plans") is not None
    window.set_workspace("inspector")                        # the live scene is not ours now
    assert window.scene_view.overlay("review_plans") is None
    ws.session.set_step(10)
    ws.draw_now()
    assert window.session.scene.robot_y == pytest.approx(0.30)
    window.set_workspace("review")
    ws.draw_now()
    assert window.session.scene.robot_y == pytest.approx(0.10)


def test_chunk_boundary_jumps(synthetic):
    from app.core.review.state import ReviewSession
    from app.qt.review.replan_view import ChunkBoundaryView
    s = ReviewSession()
    s.open(synthetic)
    jumps = ChunkBoundaryView.switch_jumps(s.rollout, 0)
    assert jumps.shape == (4,) and np.all(np.isfinite(jumps)) and np.all(jumps < 0.05)
    s.close_all()


def test_bad_inputs_give_dialogs_and_keep_tags(qtbot, synthetic, tmp_path, nonmodal):
    window, ws = make_window(qtbot)
    broken = tmp_path / "broken.h5"
    broken.write_bytes(synthetic.read_bytes()[:5000])
    window.open_paths([str(broken)])
    assert nonmodal() and "truncated" in nonmodal()[-1]
    window.open_paths([str(synthetic)])
    ws.session.select(RolloutKey(0, 0))
    ws.session.add_tag("timing")
    # the file is replaced underneath the app: the poll notices, says so and reopens it
    os.replace(write_synthetic(tmp_path / "new.h5", 2), synthetic)
    ws.poll()
    assert any("replaced or changed on disk" in e for e in messages())
    assert len(ws.session.recordings[0]) == 2
    assert [t.label for t in ws.session.tags(RolloutKey(0, 0))] == ["timing"]
    # a store that refuses a tag: a dialog, and nothing shown that was not stored
    def refuse(*_a, **_k):
        from recordings.errors import RecordingError
        raise RecordingError("sidecar is locked")
    ws.session.recordings[0].tags._store.add = refuse
    before = ws.queue.tags.tag_list.count()
    ws.queue.tags.tag_taxonomy(1)
    assert "sidecar is locked" in messages()[-1]
    assert ws.queue.tags.tag_list.count() == before
    assert window.isVisible()


def test_read_only_folder_sends_tags_to_user_dir_with_a_notice(qtbot, synthetic, tmp_path,
                                                               monkeypatch):
    import recordings.tags as tags_module
    elsewhere = tmp_path / "user-data" / "eval.h5.tags.sqlite"
    notice = f"The folder {synthetic.parent} is read-only: tags are kept in {elsewhere}"
    # root ignores folder permissions, so the read-only verdict is simulated
    monkeypatch.setattr(tags_module, "sidecar_location", lambda _rec: (elsewhere, notice))
    window, ws = make_window(qtbot)
    window.open_paths([str(synthetic)])
    assert notice in messages()
    assert "read-only" in ws.queue.tags.store_label.text()
    ws.queue.tags.custom.setText("occluded handle")
    ws.queue.tags.tag_custom()                              # Enter in the user-tag field
    assert elsewhere.exists() and not (synthetic.parent / "eval.h5.tags.sqlite").exists()
    assert [t.label for t in ws.session.tags()] == ["occluded handle"]


def test_review_command_rejects_bad_files_in_one_line(tmp_path, capsys):
    from app.cli import main
    assert main(["review", str(tmp_path / "missing.h5")]) == 2
    assert "missing.h5: no such file" in capsys.readouterr().err
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"nope" * 100)
    assert main(["review", str(junk)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an HDF5 file" in err


def test_review_keys_are_listed_and_only_active_in_review(qtbot, synthetic):
    window, ws = make_window(qtbot)
    texts = {a.text(): a for a in window.actions()}
    assert "Review: tag planning" in texts and texts["Review: tag planning"].shortcut().toString() == "4"
    assert not texts["Review: play / pause"].isEnabled()    # inspector workspace: keys off
    home = window.reset_view_action.shortcut().toString()
    window.open_paths([str(synthetic)])
    assert texts["Review: play / pause"].isEnabled()
    ours = {a.shortcut().toString() for a in ws._shortcuts}
    clashes = [a.text() for a in window.findChildren(QtGui.QAction)
               if a not in ws._shortcuts and a.shortcut().toString() in ours]
    assert clashes == []                                     # no ambiguous key while reviewing
    window.set_workspace("inspector")
    assert window.reset_view_action.shortcut().toString() == home   # parked keys come back
    assert not texts["Review: play / pause"].isEnabled()


def test_chunk_boundary_tab_draws_predicted_chunks_when_shown(qtbot, synthetic):
    window, ws = make_window(qtbot)
    window.open_paths([str(synthetic)])
    ws.draw_now()
    chunks = ws.replans.chunk_view.chunks
    assert chunks[0].getData()[0] is None or len(chunks[0].getData()[0]) == 0  # hidden: not read
    ws.replans.tabs.setCurrentIndex(1)
    QtWidgets.QApplication.processEvents()
    ws.draw_now()
    x_even, _ = chunks[0].getData()
    x_odd, _ = chunks[1].getData()
    # replans at 0, 16, 32 (even) and 8, 24 (odd), each a 16-step predicted plan
    assert len(x_even) == 3 * 16 and len(x_odd) == 2 * 16 and x_odd[0] == 8


def test_ten_thousand_rows_are_one_model_not_widgets(qtbot, tmp_path):
    """10,000 summary rows: one table model, sorted and filtered with numpy masks."""
    from app.core.review.files import OpenRecording
    from app.core.review.state import ReviewSession
    from app.qt.review.rollout_browser import COLUMNS, RolloutBrowser
    m = 10_000

    class SummaryOnly:
        env_args = {"env_name": "synthetic_review"}
        is_planscope = True
        summary = {"id": np.arange(m), "seed": np.arange(m) % 100,
                   "policy": np.where(np.arange(m) % 2, "diffusion", "regression"),
                   "perturbation": np.full(m, ""), "success": np.arange(m) % 5 != 0,
                   "failure_label": np.full(m, "collision"), "mode": np.full(m, ""),
                   "mode_switches": (np.arange(m) * 7919 % m).astype(float)}

        def __len__(self):
            return m

        def close(self):
            pass

    anchor = tmp_path / "rows.h5"
    anchor.write_bytes(b"")
    session = ReviewSession()
    session.recordings.append(OpenRecording(anchor, SummaryOnly()))
    browser = RolloutBrowser(session)
    qtbot.addWidget(browser)
    session.events.recordings_changed.emit()
    assert browser.proxy.rowCount() == m
    assert len(browser.findChildren(QtWidgets.QWidget)) < 60          # no widget per row
    column = [k for k, _ in COLUMNS].index("hardness")
    browser.proxy.sort(column, Qt.DescendingOrder)
    top = [float(browser.proxy.index(r, column).data()) for r in range(50)]
    assert top == sorted(top, reverse=True)
    assert browser.proxy.index(0, [k for k, _ in COLUMNS].index("success")).data() == "FAILED"
    browser.search.setText("diffusion")
    browser.failed_only.setChecked(True)
    assert browser.proxy.rowCount() == sum(1 for i in range(m) if i % 2 and i % 5 == 0)
    browser.search.setText("")
    browser.apply_filter()
    assert browser.proxy.rowCount() == m // 5


def test_weights_dialog_reorders_the_queue(qtbot, tmp_path, monkeypatch):
    from app.qt.review.dialogs import WeightsDialog
    window, ws = make_window(qtbot)
    window.open_paths([str(write_ranked(tmp_path / "ranked.h5"))])
    before = list(ws.session.queue)

    def accept(dialog):
        dialog.spins["failure"].setValue(0.0)
        return QtWidgets.QDialog.Accepted
    monkeypatch.setattr(WeightsDialog, "exec", accept)
    ws.queue.queue.weights_button.click()
    assert ws.session.weights["failure"] == 0.0 and ws.session.queue != before
    first = ws.session.recordings[0].rollout_id(ws.session.queue[0].row)
    assert first == 17                                     # the most mode switches
    assert ws.queue.queue.list.item(0).text().startswith("○  1. #17 ")


def test_a_growing_file_is_reopened_quietly(qtbot, tmp_path):
    path = write_synthetic(tmp_path / "live.h5", 3)
    window, ws = make_window(qtbot)
    window.open_paths([str(path)])
    ws.session.select(RolloutKey(0, 0))
    ws.session.add_tag("timing")
    os.replace(write_synthetic(tmp_path / "more.h5", 5), path)   # same rollouts + 2 more
    ws.poll()
    assert len(ws.session.recordings[0]) == 5 and ws.browser.proxy.rowCount() == 5
    assert not any("replaced" in e for e in messages())
    assert [t.label for t in ws.session.tags(RolloutKey(0, 0))] == ["timing"]
