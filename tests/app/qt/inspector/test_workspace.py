"""The Inspector workspace inside the real MainWindow (fake scene, fake planner plugin): docks,
policy handler, keyboard shortcuts, error dialogs, export of PNG / MP4 / GIF."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from app.core.scene_session import SceneSession
from app.qt import registry
from tests.app.inspector_fakes import FakeScene

PLUGIN = "tests.app.inspector_fakes:make_planner"


@pytest.fixture(scope="module")
def window(qapp):
    """One window for the module (building one costs seconds under software GL); the tests run
    in file order and each leaves the inspector usable."""
    shown: list[tuple[str, str]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("app.qt.shell.main_window.show_error", lambda parent, title, exc: shown.append((title, str(exc))))
        session = SceneSession("mug_grasp", factory=lambda _n: FakeScene())
        win = registry.main_window(session, restore_layout=False)
        win.dialogs = shown
        win.resize(1100, 760)
        win.show()
        win.load_scene()
        win.features["inspector"].state.update_settings(num_samples=32)
        yield win
        win.close()
        win.deleteLater()
        qapp.processEvents()


def ws_of(window):
    return window.features["inspector"]


def load(qtbot, window, spec=PLUGIN):
    ws = ws_of(window)
    window.open_policy(spec)
    qtbot.waitUntil(lambda: not ws.controller.runner.busy and not ws.state.sampling
                    and not ws.overlay._pending, timeout=10000)
    return ws


def key_owners(window, key: str) -> list:
    """Enabled window actions that react to `key`."""
    return [a for a in window.findChildren(QtGui.QAction)
            if a.isEnabled() and any(seq.toString() == key for seq in a.shortcuts())]


def press(qtbot, window, key, modifier=QtCore.Qt.KeyboardModifier.NoModifier):
    if not window.isActiveWindow():       # window shortcuts fire only in the active window
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    window.scene_view.setFocus()
    qtbot.keyClick(window.scene_view, key, modifier)


def test_docks_and_policy_from_the_file_menu_handler(qtbot, window):
    ws = load(qtbot, window)
    assert {"inspector_policy", "inspector_modes", "inspector_chain", "inspector_sweep"} <= set(window.docks)
    assert ws.state.policy.name == "fake-diffusion" and ws.state.result is not None
    assert ws.modes_view.policy_verdict.badge.text() == "multimodal"
    assert window.scene_view.overlay("inspector.plans") is ws.overlay.plans
    assert ws.overlay.plans.pos.shape[0] == 32 * 15 * 2
    titles = [a.text() for a in window.file_menu.actions()]
    assert "Open &Baseline Policy…" in titles and "E&xport" in titles


def test_keyboard_shortcuts(qtbot, window):
    ws = load(qtbot, window)
    state = ws.state
    texts = {a.text(): a for a in window.actions() if not a.shortcut().isEmpty()}
    for name in ("Sample plans", "Play/pause denoising chain", "Chain step back", "Isolate mode 1",
                 "Cancel sampling / clear selection and isolation"):
        assert name in texts                               # listed by Help ▸ Keyboard shortcuts
    assert key_owners(window, "Space") == [ws.chain_play_action]   # no ambiguous shortcut
    press(qtbot, window, QtCore.Qt.Key.Key_Left)
    assert state.step == state.num_steps - 1
    press(qtbot, window, QtCore.Qt.Key.Key_Right)
    assert state.step == state.num_steps
    press(qtbot, window, QtCore.Qt.Key.Key_Space)
    assert ws.chain_view.playing
    press(qtbot, window, QtCore.Qt.Key.Key_Space)
    assert not ws.chain_view.playing
    press(qtbot, window, QtCore.Qt.Key.Key_2)
    assert state.isolated == 1
    state.select(0)
    press(qtbot, window, QtCore.Qt.Key.Key_Escape)
    assert state.isolated is None and state.selected is None
    before = state.result
    state.update_settings(seed=5)
    press(qtbot, window, QtCore.Qt.Key.Key_Return, QtCore.Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: state.result is not before and not state.sampling, timeout=10000)
    assert state.batch.seed == 5
    window.set_workspace("evaluation")
    assert not texts["Sample plans"].isEnabled() and ws.chain_play_action not in key_owners(window, "Space")
    window.set_workspace("inspector")
    qtbot.waitUntil(lambda: key_owners(window, "Space") == [ws.chain_play_action], timeout=2000)


def test_other_scene_policy_and_missing_checkpoint_give_dialogs(qtbot, window, tmp_path):
    ws = load(qtbot, window)
    load(qtbot, window, "tests.app.inspector_fakes:make_other_scene_planner")
    assert window.dialogs and "obstacle_reach" in window.dialogs[-1][1]
    assert ws.state.policy.name == "fake-diffusion"
    load(qtbot, window, str(tmp_path / "nope"))
    assert "does not exist" in window.dialogs[-1][1]
    assert window.isVisible()


def test_export_png_mp4_and_gif_of_the_chain(qtbot, window, tmp_path):
    from app.qt.inspector.export import chain_frames, save_png, write_gif, write_mp4
    ws = load(qtbot, window)
    out = save_png(ws.chain_view, tmp_path / "chain.png")
    image = QtGui.QImage(str(out))
    assert image.width() == ws.chain_view.width() and not image.isNull()
    scene_png = save_png(window.scene_view, tmp_path / "scene.png")
    pixels = QtGui.QImage(str(scene_png))
    assert pixels.width() == window.scene_view.width()
    frames = chain_frames(ws.state, [ws.chain_view])
    assert len(frames) == ws.state.num_steps + 1 + 4
    assert frames[0].shape[0] % 2 == 0 and frames[0].shape[1] % 2 == 0
    assert not np.array_equal(frames[0], frames[-1])        # noise and final plans differ
    assert ws.state.step == ws.state.num_steps              # restored afterwards
    mp4 = write_mp4(frames, tmp_path / "chain.mp4")
    gif = write_gif(frames, tmp_path / "chain.gif")
    assert mp4.stat().st_size > 1000 and mp4.read_bytes()[4:8] == b"ftyp"
    assert gif.read_bytes()[:6] == b"GIF89a"


def test_what_if_spin_boxes_move_the_mug_and_resample(qtbot, window):
    ws = load(qtbot, window)
    panel = ws.whatif
    assert panel.x.value() == pytest.approx(0.6, abs=1e-3)
    before = ws.state.result
    panel.y.setValue(0.1)
    qtbot.mouseClick(panel.apply_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ws.state.result is not before and not ws.state.sampling, timeout=10000)
    assert ws.state.observation["mug_pos"][1] == pytest.approx(0.1, abs=1e-6)
    assert window.session.scene.mug[1] == pytest.approx(0.1)   # the mirror's scene moved too
    panel.live.setChecked(True)
    before = ws.state.result
    for y in (0.02, 0.03, 0.04):                             # a burst -> one throttled re-sample
        panel.y.setValue(y)
    qtbot.waitUntil(lambda: ws.state.result is not before and not ws.state.sampling, timeout=10000)
    assert ws.state.observation["mug_pos"][1] == pytest.approx(0.04, abs=1e-6)


def test_solver_sweep_runs_off_the_gui_thread(qtbot, window):
    ws = load(qtbot, window)
    view = ws.sweep_view
    view.num.setValue(16)
    view.run()
    qtbot.waitUntil(lambda: view._job is None, timeout=20000)
    result = view.result
    assert result is not None and len(result.points) == 3 * 7
    assert result.reference == ("all solvers", 100)
    assert "Fewest steps" in view.answer.text()


def test_snapshot_command_renders_the_inspector(tmp_path):
    """`planscope snapshot --view inspector --policy ...` writes a PNG after sampling."""
    from app.cli import main
    out = tmp_path / "inspector.png"
    assert main(["snapshot", "--view", "inspector", "--size", "1200x800", "--policy", PLUGIN,
                 "--out", str(out)]) == 0
    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (1200, 800)
    # the bottom third (denoising chain dock) holds drawn plans: many distinct colours
    colours = {image.pixel(x, y) for x in range(0, 1200, 7) for y in range(560, 780, 7)}
    assert len(colours) > 40
    assert main(["snapshot", "--view", "inspector", "--policy",
                 "tests.app.inspector_fakes:make_other_scene_planner", "--out", str(out)]) == 2


def test_exports_for_slides_hide_the_controls_and_carry_a_caption(qtbot, window, tmp_path, monkeypatch):
    from PySide6 import QtGui

    from app.qt.inspector import export
    ws = load(qtbot, window)
    chain, state = ws.chain_view, ws.state
    batch = state.batch
    text = ws.export_menu.caption()
    for part in ("policy fake-diffusion", "scene mug_grasp", f"seed {batch.seed}",
                 f"N = {batch.num_samples}", f"solver {batch.solver}",
                 f"step {state.num_steps}/{state.num_steps} (final plans)"):
        assert part in text, (part, text)
    # the controls are hidden while the view is grabbed, shown again after
    seen = []
    real_grab = export.grab_with_gl
    monkeypatch.setattr(export, "grab_with_gl", lambda w: seen.append(
        (chain.play_button.isVisible(), chain.slider.isVisible(), w.height())) or real_grab(w))
    out = export.save_png(chain, tmp_path / "chain.png", text)
    assert seen[0][:2] == (False, False) and chain.play_button.isVisible() and chain.slider.isVisible()
    image = QtGui.QImage(str(out))
    strip = image.height() - seen[0][2]
    assert image.width() == chain.width() and 14 <= strip <= 60
    caption = export.qimage_to_array(image)[:strip]
    assert caption.max() > 200            # light text drawn on the dark strip
    # the animation: scaled to the GIF width, each frame captioned with its own step
    frames = export.chain_frames(state, [chain], scene="mug_grasp", max_width=400)
    assert all(f.shape[1] <= 400 and f.shape[1] % 2 == 0 and f.shape[0] % 2 == 0 for f in frames)
    # the step is in every frame's caption (the last line of a wrapped caption holds it)
    for k in (0, state.num_steps):
        width = frames[k].shape[1]
        blank = QtGui.QImage(width, 2, QtGui.QImage.Format.Format_RGB888)
        blank.fill(QtGui.QColor(0, 0, 0))
        alone = export.qimage_to_array(export.add_caption(blank, export.caption_text(state, "mug_grasp", k)))
        h = alone.shape[0] - 2
        np.testing.assert_array_equal(frames[k][:h], alone[:h])     # this step's caption strip
        assert (alone[:h] > 200).any(axis=(1, 2)).sum() > 10          # light text, several rows
    assert not np.array_equal(frames[0][:h], frames[state.num_steps][:h])
    assert chain.play_button.isVisible() and state.step == state.num_steps
