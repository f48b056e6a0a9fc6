"""End to end on the shipped checkpoints: the real mug_grasp scene (PyBullet), the diffusion
policy and the regression baseline loaded through the window's policy handler, sampled on the
worker thread; the modes view shows two modes and `multimodal`, the baseline `averaging`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[4]
DIFFUSION = ROOT / "resources" / "checkpoints" / "mug_grasp_diffusion"
REGRESSION = ROOT / "resources" / "checkpoints" / "mug_grasp_regression"

pytestmark = pytest.mark.skipif(
    not (DIFFUSION / "model.safetensors").is_file() or not (REGRESSION / "model.safetensors").is_file(),
    reason=f"shipped checkpoints not built yet: {DIFFUSION.name} / {REGRESSION.name} in "
           "resources/checkpoints (make checkpoints)")


def test_shipped_policy_is_multimodal_and_baseline_is_averaging(qtbot, monkeypatch):
    from app.core.scene_session import SceneSession
    from app.qt import registry

    dialogs = []
    monkeypatch.setattr("app.qt.shell.main_window.show_error",
                        lambda parent, title, exc: dialogs.append((title, str(exc))))
    window = registry.main_window(SceneSession("mug_grasp", seed=0), restore_layout=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    assert window.load_scene()
    ws = window.features["inspector"]
    ws.state.update_settings(num_samples=128, seed=0)
    window.open_policy(str(DIFFUSION))                  # File ▸ Open Policy / --policy path
    window.open_policy(str(REGRESSION))                 # a regression model goes to the baseline slot
    qtbot.waitUntil(lambda: ws.state.baseline_result is not None and not ws.state.sampling
                    and not ws.controller.runner.busy and not ws.overlay._pending, timeout=60000)
    assert dialogs == []
    state = ws.state
    assert state.policy.spec.kind == "diffusion" and state.baseline.spec.kind == "regression"
    assert state.batch.num_samples == 128 and state.batch.has_chain
    summary = state.result.summary
    assert summary.names == ["left", "right"]
    assert (summary.shares > 0.1).all(), f"both modes present, got {summary.shares}"
    assert ws.modes_view.policy_verdict.badge.text() == "multimodal"
    # one isolation button per mode, plus the "no mode" button when some plans are in none
    assert [b.text() for b in ws.modes_view.mode_buttons if "no mode" not in b.text()] == \
        [b.text() for b in ws.modes_view.mode_buttons][:2]
    assert len(ws.modes_view.mode_buttons) == 2 + (summary.labels < 0).any()
    assert ws.modes_view.baseline_verdict.badge.text() == "averaging"
    assert summary.data_shares is not None and np.isclose(summary.data_shares.sum(), 1.0, atol=0.05)
    # the chain scrubs from noise to the plans; the overlay draws every plan
    ws.state.set_step(0)
    assert ws.chain_view.slider.value() == 0
    assert ws.overlay.plans.pos.shape[0] == 128 * 15 * 2
    ws.shutdown()
    window.close()
