"""3-D replay of every perturbation kind on the real mug_grasp scene (issue 20, item 1).

A delay=2 rollout's states carry the 2 pending actions (68 values where the nominal scene has
60); the replay fits them to the live scene through the recorded per-rollout state layout. Each
rollout is scrubbed and the live end effector must sit on the recorded end-effector path. A
rollout that cannot replay shows a banner over the 3-D view that stays, with the scene reset.
"""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from app.core.review.state import RolloutKey
from app.core.scene_session import SceneSession
from app.qt.review.workspace import install
from app.qt.shell.main_window import MainWindow

EXPERT = "app.core.evaluation.expert_planner:mug_grasp_expert"
KINDS = [{}, {"delay": 2}, {"obs_noise": 0.001}, {"action_noise": 0.005}, {"pose_shift": 0.01},
         {"friction": 0.8}, {"mass": 1.5}]


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory) -> str:
    """One seed under the nominal scene and every perturbation kind, 16 steps each (~15 s)."""
    from app.core.evaluation.config import EvalConfig, RolloutSettings
    from app.core.evaluation.evaluate import run_evaluation
    out = str(tmp_path_factory.mktemp("replay") / "kinds.h5")
    config = EvalConfig(policies=[EXPERT], seeds=[0], perturbations=[dict(k) for k in KINDS[1:]],
                        settings=RolloutSettings(scene="mug_grasp", record_samples=2,
                                                 max_steps=16))
    result = run_evaluation(config, out, workers=1, durable=False)
    assert result.written == len(KINDS) and result.failed == 0
    return out


def make_window(qtbot):
    window = MainWindow(SceneSession("mug_grasp"), restore_layout=False)
    window.features["review"] = ws = install(window)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window, ws


def live_ee(window) -> np.ndarray:
    return np.asarray(window.session.observation["ee_pos"][:3], dtype=np.float64)


def test_every_perturbation_kind_replays_on_its_recorded_path(qtbot, every_kind):
    window, ws = make_window(qtbot)
    window.open_paths([every_kind])
    s = ws.session
    rec = s.recording()
    sizes = {}
    for row in range(len(rec)):
        data = s.select(RolloutKey(0, row))
        ws.draw_now()
        path = data.ee_path
        sizes[rec.cell(row, "perturbation")] = data.state_at(0).size
        for step in (0, data.num_steps // 2, data.num_steps - 1):
            s.set_step(step)
            ws.draw_now()
            assert ws.replay.problem == "", (data.perturbation, ws.replay.problem)
            # obs_noise=0.001 is in the recorded path; everything else is exact
            np.testing.assert_allclose(live_ee(window), path[step], atol=5e-3,
                                       err_msg=f"{data.perturbation} step {step}")
        assert ws.replay.banner_text == ""
    delay = [k for k in sizes if "delay" in k][0]
    assert sizes[delay] == sizes[""] + 8            # the 68-vs-60 case of the issue


def test_old_file_without_layout_attribute_derives_it_from_the_perturbation(qtbot, every_kind,
                                                                            tmp_path):
    import shutil
    old = tmp_path / "old.h5"
    shutil.copy(every_kind, old)
    with h5py.File(old, "r+") as f:
        groups = [g for g in f["data"].values() if "state_layout" in g.attrs]
        assert groups
        for g in groups:
            del g.attrs["state_layout"]
    window, ws = make_window(qtbot)
    window.open_paths([str(old)])
    s = ws.session
    rec = s.recording()
    row = [r for r in range(len(rec)) if "delay" in rec.cell(r, "perturbation")][0]
    data = s.select(RolloutKey(0, row))
    s.set_step(data.num_steps - 1)
    ws.draw_now()
    assert ws.replay.problem == ""
    np.testing.assert_allclose(live_ee(window), data.ee_path[-1], atol=1e-4)


def test_a_rollout_that_cannot_replay_keeps_a_banner_and_resets_the_scene(qtbot, every_kind,
                                                                         tmp_path):
    import shutil
    bad = tmp_path / "bad.h5"
    shutil.copy(every_kind, bad)
    with h5py.File(bad, "r+") as f:
        # a layout that promises 5 pending actions: the 68 values cannot be this scene's
        for g in f["data"].values():
            if "delay" in str(g.attrs.get("perturbation", "")):
                g.attrs["state_layout"] = '{"action_dim": 4, "pending_actions": 5}'
    window, ws = make_window(qtbot)
    window.open_paths([str(bad)])
    s = ws.session
    rec = s.recording()
    delay_row = [r for r in range(len(rec)) if "delay" in rec.cell(r, "perturbation")][0]
    good_row = [r for r in range(len(rec)) if r != delay_row][0]
    good = s.select(RolloutKey(0, good_row))
    s.set_step(good.num_steps - 1)
    ws.draw_now()
    moved = live_ee(window)
    np.testing.assert_allclose(moved, good.ee_path[-1], atol=5e-3)
    s.select(RolloutKey(0, delay_row))
    ws.draw_now()
    s.set_step(5)
    ws.draw_now()
    assert "68 values" in ws.replay.problem
    from PySide6 import QtWidgets
    banner = window.scene_view.findChild(QtWidgets.QLabel, "replay_banner")
    assert banner.isVisible() and "3-D replay off" in ws.replay.banner_text
    # the scene was reset to the rollout's start, not left at the previous rollout's pose
    window.session.reset(good.seed)
    start = live_ee(window)
    s.set_step(8)
    ws.draw_now()
    np.testing.assert_allclose(live_ee(window), start, atol=1e-6)
    assert np.linalg.norm(live_ee(window) - moved) > 1e-3
    assert banner.isVisible()                              # it stays while scrubbing
    s.select(RolloutKey(0, good_row))
    ws.draw_now()
    assert not banner.isVisible() and ws.replay.problem == ""


def test_snapshot_renders_a_chosen_rollout_and_step(every_kind, tmp_path, capsys):
    """`planscope snapshot --view review --recording F --rollout N --step K`; bad N or K: one
    line naming the file or the range."""
    from PySide6 import QtGui

    from app.cli import main
    out = tmp_path / "review.png"
    assert main(["snapshot", "--view", "review", "--recording", every_kind, "--rollout", "1",
                 "--step", "9", "--size", "1280x800", "--out", str(out)]) == 0
    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)     # review fits 1280x800 now (was 807 high)
    assert main(["snapshot", "--view", "review", "--recording", every_kind, "--rollout", "99",
                 "--out", str(tmp_path / "x.png")]) == 2
    assert "has no rollout 99" in capsys.readouterr().err
    assert main(["snapshot", "--view", "review", "--recording", every_kind, "--rollout", "1",
                 "--step", "500", "--out", str(tmp_path / "y.png")]) == 2
    assert "--step 500" in capsys.readouterr().err
    assert main(["snapshot", "--rollout", "1", "--out", str(tmp_path / "z.png")]) == 2


def test_snapshot_shows_the_cannot_replay_banner(every_kind, tmp_path, monkeypatch):
    """`planscope snapshot --view review --recording F --rollout N --step K` of a rollout that
    cannot replay carries the banner over the 3-D view (painted over the GL frame), not a
    silently reset scene."""
    import shutil

    from PySide6 import QtGui

    from app.cli import main
    from app.qt.review import replay
    bad = tmp_path / "bad.h5"
    shutil.copy(every_kind, bad)
    with h5py.File(bad, "r+") as f:
        delay_id = [int(g.attrs["rollout_id"]) for g in f["data"].values()
                    if "delay" in str(g.attrs.get("perturbation", ""))][0]
        for g in f["data"].values():
            if "delay" in str(g.attrs.get("perturbation", "")):
                g.attrs["state_layout"] = '{"action_dim": 4, "pending_actions": 5}'
    # a colour nothing else on screen has, so the banner's pixels can be counted
    monkeypatch.setattr(replay, "BANNER_STYLE", "QLabel { background: rgb(1, 254, 1); "
                                                "color: rgb(1, 254, 1); }")

    def banner_pixels(rollout: int) -> int:
        out = tmp_path / f"r{rollout}.png"
        assert main(["snapshot", "--view", "review", "--recording", str(bad), "--rollout",
                     str(rollout), "--step", "5", "--size", "1280x800", "--out", str(out)]) == 0
        image = QtGui.QImage(str(out)).convertToFormat(QtGui.QImage.Format.Format_RGB888)
        pixels = np.frombuffer(image.constBits(), np.uint8).reshape(
            image.height(), image.bytesPerLine())[:, :image.width() * 3].reshape(
            image.height(), image.width(), 3)
        near = np.abs(pixels.astype(int) - (1, 254, 1)).max(axis=-1) <= 3
        return int(near.sum())

    assert banner_pixels(delay_id) > 5000          # a full-width banner of two lines or more
    good_id = 0 if delay_id != 0 else 1
    assert banner_pixels(good_id) == 0
