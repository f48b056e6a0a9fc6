"""At a recorded frame the inspector never shows the live scene as if it were the recorded one
(issue 15): a planscope export of the live scene puts the live scene into the frame's state (the
mug read back from PyBullet where the recorded mug_pos says) and "Back to live scene" gives the
exact live state back; a foreign data set hides the live bodies and the Camera dock shows the
data's camera frame (or says there is none), never the live camera. Real widgets, real scene."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from app.core.inspector.state import DataFrameSource
from app.core.scene_session import SceneSession
from app.qt import registry
from recordings.dataset import open_dataset

EXPORT = Path(__file__).parents[3] / "recordings/formats/data/planscope_export/lerobot"


@pytest.fixture(scope="module")
def window(qapp):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("app.qt.shell.main_window.show_error", lambda parent, title, exc: None)
        win = registry.main_window(SceneSession("mug_grasp", seed=3), restore_layout=False)
        win.resize(1200, 800)
        win.show()
        win.load_scene()
        win.set_workspace("inspector")
        yield win
        win.close()
        win.deleteLater()
        qapp.processEvents()


@pytest.fixture(scope="module")
def scene_export(tmp_path_factory):
    """A planscope recording of the real mug_grasp scene (two resets, the arm holding still for
    12 steps) exported to LeRobot v3 by planscope's exporter: what `planscope export --to lerobot`
    gives for a mug_grasp recording."""
    from app.core.scene_session import hold_action
    from recordings.formats.lerobot_export import export_lerobot
    from recordings.header import write_recording
    from recordings.rollout import Rollout
    from scenes import make_scene
    scene, rollouts = make_scene("mug_grasp"), []
    try:
        for seed in (11, 12):
            obs, frames, actions = scene.reset(seed), [], []
            for _ in range(12):
                frames.append(obs)
                actions.append(hold_action(obs)[0])
                obs = scene.step(hold_action(obs)).obs
            keys = ("ee_pos", "gripper", "mug_pos", "mug_yaw")
            n = len(frames)
            rollouts.append(Rollout(
                obs={k: np.stack([np.atleast_1d(f[k]) for f in frames]) for k in keys},
                actions=np.stack(actions), states=np.zeros((n, 1)), rewards=np.zeros(n, np.float32),
                dones=np.arange(n) == n - 1, events=[], replans=[], metrics={}, seed=seed,
                policy="hold", perturbation={}, success=False, failure_label="unlabelled",
                mode="left", attrs={}))
    finally:
        scene.close()
    root = tmp_path_factory.mktemp("scene_export")
    write_recording(str(root / "demos.h5"), rollouts,
                    env_args={"env_name": "mug_grasp", "type": "planscope", "env_kwargs": {},
                              "obs_spec": [list(k) for k in make_scene_spec()]}, kind="demos")
    return export_lerobot(open_dataset(str(root / "demos.h5")), str(root / "out"), fps=10)


def make_scene_spec():
    from scenes.mug_grasp import MugGrasp
    return MugGrasp.obs_spec


def recorded(export: str, episode: int, frame: int) -> dict[str, np.ndarray]:
    with open_dataset(export) as ds:
        row = ds.frame(episode, frame, ["observation.environment_state", "observation.state"])
    env, st = row["observation.environment_state"], row["observation.state"]
    return {"mug_pos": env[:3], "mug_yaw": math.atan2(env[4], env[3]), "ee_pos": st[:3]}


def test_a_frame_of_the_scenes_own_export_sets_the_live_scene_and_back_restores_it(
        window, qtbot, scene_export):
    ws = window.features["inspector"]
    scene = window.session.scene
    live_state = window.session.get_state().copy()
    live_mug, live_yaw = scene.mug_pose()
    for frame in (10, 11):                   # open_frame, then the banner's ▶ (re-staged from live)
        want = recorded(scene_export, 1, frame)
        assert np.linalg.norm(want["mug_pos"][:2] - live_mug[:2]) > 0.005   # a visible move
        if frame == 10:
            ws.controller.open_frame(DataFrameSource(scene_export, 1, frame, 12))
        else:
            ws.banner.next_button.click()
        assert ws.state.source == DataFrameSource(scene_export, 1, frame)
        pos, yaw = scene.mug_pose()           # read back from PyBullet
        np.testing.assert_allclose(pos, want["mug_pos"], atol=2e-3)
        assert abs(math.remainder(yaw - want["mug_yaw"], 2 * math.pi)) < 1e-3
        np.testing.assert_allclose(scene.robot.ee_pos(), want["ee_pos"], atol=0.01)
        mirrored = window.scene_view.link_nodes
        assert mirrored and all(node.visible() for node in mirrored)
        assert ws.recorded_scene.mode == "staged"
        assert "scene set to the recorded state (mug and hand)" in ws.banner.banner_text()
        assert window.dock("camera").widget() is window.camera_view
    ws.back_to_scene()
    np.testing.assert_array_equal(window.session.get_state(), live_state)
    pos, yaw = scene.mug_pose()
    np.testing.assert_allclose(pos, live_mug, atol=1e-9)
    assert not ws.banner.isVisible() and ws.recorded_scene.mode == "live"


@pytest.fixture
def foreign_lerobot(tmp_path):
    """A LeRobot data set of another task (the synthetic bimodal 2-D task: no mug, no camera)."""
    from recordings.formats.lerobot_export import export_lerobot
    from tests.app.core.scan.conftest import write_bimodal_recording
    h5 = write_bimodal_recording(tmp_path / "bimodal.h5", episodes=3)
    return export_lerobot(open_dataset(str(h5)), str(tmp_path / "foreign"), fps=10)


def test_a_foreign_data_set_hides_the_live_scene_and_never_shows_the_live_camera(
        window, qtbot, foreign_lerobot):
    ws = window.features["inspector"]
    dock = window.dock("camera")
    live_state = window.session.get_state().copy()
    ws.state.set_source(DataFrameSource(foreign_lerobot, 0, 2, None))
    assert ws.recorded_scene.mode == "hidden"
    assert not any(node.visible() for node in window.scene_view.link_nodes)
    assert dock.widget() is ws.recorded_scene.data_camera
    assert not window.camera_view.isVisible()        # not even rendered under the frame
    assert "no camera in this data set" in ws.recorded_scene.data_camera.image.text()
    assert "live scene hidden" in ws.banner.banner_text()
    np.testing.assert_array_equal(window.session.get_state(), live_state)   # untouched
    ws.back_to_scene()
    assert all(node.visible() for node in window.scene_view.link_nodes)
    assert dock.widget() is window.camera_view and window.camera_view.isVisible()


def test_a_data_set_with_a_camera_but_not_the_scenes_state_shows_the_datas_frame(
        window, qtbot, tmp_path):
    """The planscope export with its environment state cut away: the camera dock shows the data's
    own 32x32 front camera frame, pixel for pixel."""
    import json
    import shutil
    folder = tmp_path / "no_env"
    shutil.copytree(EXPORT, folder)
    info = json.loads((folder / "meta/info.json").read_text())
    info["features"]["observation.environment_state"]["names"] = [f"e{i}" for i in range(5)]
    (folder / "meta/info.json").write_text(json.dumps(info))
    ws = window.features["inspector"]
    ws.state.set_source(DataFrameSource(str(folder), 2, 4, None))
    assert ws.recorded_scene.mode == "hidden"
    with open_dataset(str(folder)) as ds:
        want = ds.frame(2, 4, ["observation.images.front"])["observation.images.front"]
    np.testing.assert_array_equal(ws.recorded_scene.data_camera.shown, want)
    assert window.dock("camera").widget() is ws.recorded_scene.data_camera
    ws.back_to_scene()
    assert ws.recorded_scene.mode == "live"
