"""A policy the live scene cannot feed, inspected at a data set's frames (issue 15): loaded for the
open data set and checked against ITS features, never refused by the scene's. CLI (`planscope
snapshot --view inspector --policy P --data DS ...`) and GUI (File ▸ Open Policy with a data set
open in the browser, then "Inspect policy at this frame")."""
from __future__ import annotations

import pytest
from PySide6 import QtGui

from app.core.scene_session import SceneSession
from app.qt import registry
from tests.app.inspector_fakes import FakeScene

LEROBOT_DATA = "tests/recordings/formats/data/lerobot_v3/dataset"


@pytest.fixture(scope="module")
def window(qapp):
    shown: list[tuple[str, str]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("app.qt.shell.main_window.show_error",
                   lambda parent, title, exc: shown.append((title, str(exc))))
        session = SceneSession("mug_grasp", factory=lambda _n: FakeScene())
        win = registry.main_window(session, restore_layout=False)
        win.dialogs = shown
        win.resize(1200, 800)
        win.show()
        win.load_scene()
        win.features["inspector"].state.update_settings(num_samples=16)
        yield win
        win.close()
        win.deleteLater()
        qapp.processEvents()


def idle(qtbot, ws, timeout=60_000):
    qtbot.waitUntil(lambda: not ws.controller.runner.busy and not ws.state.sampling,
                    timeout=timeout)


def test_snapshot_of_a_policy_the_scene_cannot_feed_at_a_data_frame(tmp_path, capsys,
                                                                   bimodal_ckpt, bimodal_h5):
    from app.cli import main
    out = tmp_path / "frame.png"
    assert main(["snapshot", "--view", "inspector", "--size", "1200x800", "--policy",
                 str(bimodal_ckpt), "--data", bimodal_h5, "--episode", "2", "--frame", "10",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (1200, 800)
    # a data set whose features it cannot take: one line naming both sides, no PNG
    bad = tmp_path / "bad.png"
    assert main(["snapshot", "--view", "inspector", "--policy", str(bimodal_ckpt), "--data",
                 LEROBOT_DATA, "--episode", "0", "--frame", "0", "--out", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and not bad.exists()
    assert "lerobot_v3/dataset" in err and "observation.state" in err     # the data's side
    assert "obstacle" in err or "ee_pos" in err                           # the policy's side
    assert "mug_grasp" not in err          # judged against the data set, not the scene


def test_open_policy_with_a_data_set_open_then_inspect_at_this_frame(qtbot, window, bimodal_ckpt,
                                                                     bimodal_h5):
    ws = window.features["inspector"]
    datasets = window.features["review"].datasets
    datasets.open(bimodal_h5)
    window.open_policy(str(bimodal_ckpt))          # File ▸ Open Policy: the scene cannot feed it
    qtbot.waitUntil(lambda: ws.state.policy is not None or bool(window.dialogs), timeout=60_000)
    idle(qtbot, ws)
    assert window.dialogs == []
    policy = ws.state.policy
    assert policy.source == str(bimodal_ckpt) and not policy.scene_fed
    assert ws.state.result is None                 # nothing sampled on the live scene
    messages: list[str] = []
    ws.state.events.message.connect(messages.append)
    ws.controller.sample()                         # Sample on the live scene: said, not failed
    assert ws.state.result is None and "cannot be fed by the live scene" in messages[-1]
    ws.state.events.message.disconnect(messages.append)
    window.set_workspace("review")
    datasets.browser.select_episode(1)
    datasets.browser.set_frame(3)
    datasets.inspect()                             # the browser's "Inspect policy at this frame"
    qtbot.waitUntil(lambda: ws.state.data is not None or bool(window.dialogs), timeout=60_000)
    idle(qtbot, ws)
    assert window.dialogs == [] and window.workspace == "inspector"
    assert (ws.state.data.episode, ws.state.data.frame) == (1, 3)
    assert ws.state.policy is policy and ws.state.result.batch.num_samples == 16
    ws.back_to_scene()
    idle(qtbot, ws)


def test_a_policy_neither_the_scene_nor_the_open_data_set_feeds_is_one_dialog(
        qtbot, window, bimodal_ckpt):
    ws = window.features["inspector"]
    window.features["review"].datasets.open(LEROBOT_DATA)
    held = ws.state.policy
    window.dialogs.clear()
    window.open_policy(str(bimodal_ckpt))
    qtbot.waitUntil(lambda: bool(window.dialogs), timeout=60_000)
    idle(qtbot, ws)
    (title, text), = window.dialogs
    assert "\n" not in text and "lerobot_v3/dataset" in text and "observation.state" in text
    assert ws.state.policy is held                 # the previous policy stays


def test_snapshot_judges_a_lerobot_checkpoint_by_the_data_sets_features(tmp_path, capsys):
    """A checkpoint LeRobot 0.4.4 wrote (state 4, environment state 6) against the data set
    LeRobot wrote (environment state 5): refused in one line naming both sides, the data set's
    and the policy's, not the scene's."""
    from app.cli import main
    out = tmp_path / "x.png"
    assert main(["snapshot", "--view", "inspector", "--policy",
                 "tests/planners/lerobot/fixtures/lowdim_044_ddpm/pretrained_model", "--data",
                 LEROBOT_DATA, "--episode", "0", "--frame", "0", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and not out.exists()
    assert "observation.environment_state" in err and "6" in err and "(5,)" in err
    assert "lerobot_v3/dataset" in err and "mug_grasp" not in err
