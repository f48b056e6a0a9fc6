"""Policies from other libraries in the inspector: the Policy panel shows what LeRobot's files say,
a LeRobot folder dropped on the window loads and samples with the chain through the scene-feature
mapping, and a policy whose features the scene cannot provide is refused in one dialog naming both
sides while the previous policy stays.

References: tests/planners/lerobot/fixtures (made by lerobot 0.4.4 itself) and
fixtures/lerobot_mug_grasp (a LeRobot DiffusionPolicy trained briefly by LeRobot on `planscope
export` of mug_grasp demonstrations; fixtures/train_lerobot_mug.py, pip-freeze-lerobot044.txt).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from app.core.scene_features import map_scene_features
from app.core.inspector.state import InspectorState, LoadedPolicy
from app.core.scene_session import SceneSession
from app.qt import registry
from app.qt.inspector.policy_panel import PolicySlot
from planners.protocol import Feature, PlannerError, PlannerSpec
from tests.app.inspector_fakes import FakeScene

ROOT = Path(__file__).resolve().parents[4]
LEROBOT_REF = ROOT / "tests/planners/lerobot/fixtures/lowdim_044_ddpm"
DP_REF = ROOT / "tests/planners/diffusion_policy/fixtures/lowdim_global_ddpm.ckpt"
MUG_POLICY = Path(__file__).resolve().parent / "fixtures" / "lerobot_mug_grasp"
PLUGIN = "tests.app.inspector_fakes:make_planner"
MUG_OBS = (("ee_pos", 3), ("gripper", 1), ("mug_pos", 3), ("mug_yaw", 2))


def form_texts(slot: PolicySlot) -> dict[str, str]:
    out = {}
    for row in range(slot.form.rowCount()):
        label = slot.form.itemAt(row, slot.form.ItemRole.LabelRole)
        field = slot.form.itemAt(row, slot.form.ItemRole.FieldRole)
        out[label.widget().text()] = field.widget().text()
    return out


def test_policy_panel_shows_the_lerobot_reference_facts(qtbot):
    from planners.loading import load_planner
    golden = json.loads((LEROBOT_REF / "golden.json").read_text())
    config = json.loads((LEROBOT_REF / "pretrained_model" / "config.json").read_text())
    planner = load_planner(str(LEROBOT_REF / "pretrained_model"))
    slot = PolicySlot("policy")
    qtbot.addWidget(slot)
    slot.show_policy(LoadedPolicy(planner, str(LEROBOT_REF / "pretrained_model"), planner.spec))
    rows = form_texts(slot)
    assert rows["Library"].startswith("lerobot >= 0.4 (processor files)")       # the layout LeRobot wrote
    for name, feature in config["input_features"].items():
        kind = {"STATE": "state", "ENV": "environment"}[feature["type"]]
        assert f"{name} {feature['shape']} {kind}" in rows["Features"]
    assert rows["Action"] == f"action [{config['output_features']['action']['shape'][0]}] · MIN_MAX"
    assert rows["Horizons"] == (f"To = {golden['n_obs_steps']} · H = {golden['horizon']} · "
                                f"Ta = {golden['n_action_steps']}")
    assert rows["Scheduler"].startswith(f"{golden['scheduler']} · {config['num_train_timesteps']} train timesteps · "
                                        f"{config['beta_schedule']} · {config['prediction_type']} prediction · clip ±1")
    assert rows["Parameters"] == f"{golden['num_parameters']:,}"
    norm = rows["Normalisation"].splitlines()
    assert norm[0].startswith("observation.state: MIN_MAX") and norm[1].startswith("observation.environment_state: MEAN_STD")
    assert norm[2].startswith("action: MIN_MAX") and "policy_preprocessor" in norm[3]
    assert "x, y, z" not in rows["Action"] and rows["Precision"]


def test_policy_panel_shows_a_diffusion_policy_checkpoint(qtbot):
    from planners.loading import load_planner
    planner = load_planner(str(DP_REF))
    slot = PolicySlot("policy")
    qtbot.addWidget(slot)
    slot.show_policy(LoadedPolicy(planner, str(DP_REF), planner.spec))
    rows = form_texts(slot)
    assert rows["Library"].startswith("diffusion_policy · DiffusionUnetLowdimPolicy (ema_model weights")
    assert rows["Features"] == f"obs [{planner.spec.obs_dim}] state" and rows["Action"] == "action [2]"
    assert "scale + offset" in rows["Normalisation"] and rows["Parameters"] == f"{planner.spec.num_parameters:,}"


def test_scene_features_map_lerobot_names_and_cameras_and_name_both_sides():
    spec = PlannerSpec(name="cam", kind="diffusion", action_dim=4, horizon=8, n_obs_steps=2,
                       features=(Feature("observation.state", (4,), "state"),
                                 Feature("observation.environment_state", (5,), "environment"),
                                 Feature("observation.images.top", (40, 48, 3), "image")))
    fmap = map_scene_features(spec, "mug_grasp", MUG_OBS, ("front", "side", "top"))
    assert fmap.describe() == ("observation.state ← ee_pos + gripper; observation.environment_state ← "
                               "mug_pos + mug_yaw; observation.images.top ← camera top 40x48")

    class Renders:
        asked = []

        def camera_image(self, camera, width, height):
            self.asked.append((camera, width, height))
            return np.full((height, width, 3), 7, np.uint8)
    obs = {"ee_pos": [1, 2, 3], "gripper": [4], "mug_pos": [5, 6, 7], "mug_yaw": [8, 9]}
    frame = fmap.frame(obs, Renders())
    assert frame["observation.state"].tolist() == [1, 2, 3, 4]
    assert frame["observation.environment_state"].tolist() == [5, 6, 7, 8, 9]
    assert frame["observation.images.top"].shape == (40, 48, 3) and Renders.asked == [("top", 48, 40)]
    wrist = PlannerSpec(name="wrist", kind="diffusion", action_dim=4, horizon=8,
                        features=(Feature("observation.images.wrist", (40, 48, 3), "image"),))
    with pytest.raises(PlannerError, match=r"needs image feature 'observation.images.wrist'.*scene 'mug_grasp' "
                                           r"provides ee_pos\[3\].*camera top — no mapping exists: no scene camera"):
        map_scene_features(wrist, "mug_grasp", MUG_OBS, ("front", "top"))


@pytest.fixture(scope="module")
def window(qapp):
    """A real MainWindow on a fake mug_grasp scene; dialogs recorded instead of shown."""
    shown: list[tuple[str, str]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("app.qt.shell.main_window.show_error", lambda parent, title, exc: shown.append((title, str(exc))))
        session = SceneSession("mug_grasp", factory=lambda _n: FakeScene())
        win = registry.main_window(session, restore_layout=False)
        win.dialogs = shown
        win.resize(1100, 760)
        win.show()
        win.load_scene()
        win.features["inspector"].state.update_settings(num_samples=8)
        yield win
        win.close()
        win.deleteLater()
        qapp.processEvents()


def settle(qtbot, window, timeout=60000):
    ws = window.features["inspector"]
    qtbot.waitUntil(lambda: not ws.controller.runner.busy and not ws.state.sampling
                    and not ws.overlay._pending, timeout=timeout)
    return ws


def drop(window, path: Path) -> None:
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    event = QtGui.QDropEvent(QtCore.QPointF(20, 20), QtCore.Qt.DropAction.CopyAction, mime,
                             QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_dropping_a_lerobot_folder_loads_it_and_samples_the_chain(qtbot, window, monkeypatch):
    monkeypatch.setenv("PLANSCOPE_ACCELERATION", "off")   # the model's own forward: no kernel timing here
    before = len(window.dialogs)
    drop(window, MUG_POLICY)                       # the checkpoint folder that holds pretrained_model/
    qtbot.waitUntil(lambda: window.features["inspector"].state.policy is not None, timeout=60000)
    ws = settle(qtbot, window)
    assert len(window.dialogs) == before
    policy = ws.state.policy
    assert policy.spec.library.startswith("lerobot") and policy.source == str(MUG_POLICY)
    batch = ws.state.result.batch
    config = json.loads((MUG_POLICY / "pretrained_model" / "config.json").read_text())
    assert batch.plans.shape == (8, config["horizon"], 4) and np.isfinite(batch.plans).all()
    assert batch.x0_estimates.shape[0] == config["num_inference_steps"] == batch.chain.shape[0] - 1
    rows = form_texts(ws.policy_panel.slots["policy"])
    assert rows["Scene feeds"].splitlines() == ["observation.state ← ee_pos + gripper",
                                                "observation.environment_state ← mug_pos + mug_yaw"]


def test_a_policy_the_scene_cannot_feed_gives_one_dialog_and_the_previous_policy_stays(qtbot, window):
    window.open_policy(PLUGIN)
    ws = settle(qtbot, window)
    assert ws.state.policy.name == "fake-diffusion"
    before = len(window.dialogs)
    drop(window, LEROBOT_REF / "pretrained_model")
    qtbot.waitUntil(lambda: len(window.dialogs) > before, timeout=60000)
    settle(qtbot, window)
    assert len(window.dialogs) == before + 1
    title, text = window.dialogs[-1]
    assert title == "Cannot open policy" and "\n" not in text
    assert "policy 'lowdim_044_ddpm' needs environment feature 'observation.environment_state' [6]" in text
    assert "scene 'mug_grasp' provides ee_pos[3], gripper[1], mug_pos[3], mug_yaw[2]" in text
    assert "no mapping exists" in text
    assert ws.state.policy.name == "fake-diffusion" and window.isVisible()
    window.open_policy(str(DP_REF))                # a diffusion_policy .ckpt through File ▸ Open Policy's path
    qtbot.waitUntil(lambda: len(window.dialogs) > before + 1, timeout=60000)
    assert "needs state feature 'obs' [20]" in window.dialogs[-1][1] and ws.state.policy.name == "fake-diffusion"
