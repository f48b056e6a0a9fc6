"""Opening a policy with the fast path: the loading worker calibrates and runs the fidelity check
before the first sample; the status line says "Calibrating kernels for this machine…" and the
Policy panel's Precision row is drawn again with what the check found. A ManualClock: no timing."""
from __future__ import annotations

import pytest
from PySide6 import QtWidgets

from app.core.clock import ManualClock, using_clock
from app.core.inspector.state import InspectorState
from app.core.inspector.warmup import CALIBRATING
from app.qt.inspector import controller as controller_module
from app.qt.inspector.controller import InspectorController
from app.qt.inspector.policy_panel import PolicyPanel
from tests.app.inspector_fakes import FakeScene
from tests.app.qt.inspector.test_controller import PLUGIN, Session, wait_idle
from tests.planners.test_acceleration import FakeClock, planscope_unet, policy_acceleration


def _precision_row(panel: PolicyPanel) -> str:
    form = panel.slots["policy"].form
    for row in range(form.rowCount()):
        label = form.itemAt(row, QtWidgets.QFormLayout.ItemRole.LabelRole)
        if label is not None and label.widget().text() == "Precision":
            return form.itemAt(row, QtWidgets.QFormLayout.ItemRole.FieldRole).widget().text()
    return ""


def test_loading_warms_the_fast_path_before_the_first_sample(qtbot, tmp_path, monkeypatch):
    acc = policy_acceleration(planscope_unet(), tmp_path, reduced="bfloat16", timer=FakeClock())
    real_load = controller_module.load_policy

    def load_with_fast_path(*args, **kw):
        policy = real_load(*args, **kw)
        policy.planner.acceleration = acc          # the plugin, given a real PolicyAcceleration
        policy.spec.extra["precision"] = acc.describe()
        return policy
    monkeypatch.setattr(controller_module, "load_policy", load_with_fast_path)

    state = InspectorState()
    errors: list = []
    ctl = InspectorController(state, Session(), scene_factory=FakeScene,
                              report_error=lambda title, exc: errors.append((title, str(exc))))
    panel = PolicyPanel(state)
    qtbot.addWidget(panel)
    messages: list[str] = []
    state.events.message.connect(messages.append)
    rows_when_sampled: list[str] = []
    state.events.sampling.connect(lambda on: on and rows_when_sampled.append(_precision_row(panel)))
    try:
        with using_clock(ManualClock(100.0)):
            state.update_settings(num_samples=16, seed=1)
            ctl.open_policy(PLUGIN)
            wait_idle(qtbot, ctl)
    finally:
        ctl.shutdown()
    assert errors == []
    assert CALIBRATING in messages
    done = [m for m in messages if m.startswith("Kernels calibrated in")]
    assert done and acc.fidelity is not None and done[-1].endswith(acc.fidelity.reason)
    assert messages.index(CALIBRATING) < messages.index(done[-1])
    # the panel's Precision row shows the check's outcome, already when the first sample started
    assert _precision_row(panel) == acc.fidelity.reason
    assert rows_when_sampled and rows_when_sampled[0] == acc.fidelity.reason
    assert "has not run" not in _precision_row(panel)
    assert state.result is not None and state.batch.num_samples == 16


def test_a_policy_loaded_for_a_recorded_frame_is_warmed_and_never_calibrates_while_sampling(
        qtbot, tmp_path, monkeypatch, bimodal_ckpt, bimodal_h5):
    """The data-frame path (a scan's double-click, `snapshot --data`: open_frame with a checkpoint)
    gets the live inspector's warm-up: N's bucket calibrated on the loading worker, the sampler
    switched to background calibration, and no calibration runs inside a sampling at the frame."""
    from app.core.inspector.state import DataFrameSource
    from planners.acceleration import accelerator, policy_acceleration as pa

    monkeypatch.setattr(pa, "MIN_PARAMETERS", 0)          # the tiny policy takes the fast path
    monkeypatch.setenv("PLANSCOPE_CACHE_DIR", str(tmp_path))   # a cold calibration cache
    monkeypatch.setenv("PLANSCOPE_PRECISION", "float32")       # no bf16 fidelity check: quick
    state = InspectorState()
    calls: list[tuple[int, bool]] = []                    # (bucket, sampling at the time)
    real = accelerator.Accelerator._calibrate

    def spy(self, bucket, *args, **kwargs):
        calls.append((int(bucket), state.sampling))
        return real(self, bucket, *args, **kwargs)
    monkeypatch.setattr(accelerator.Accelerator, "_calibrate", spy)
    errors: list = []
    ctl = InspectorController(state, Session(), scene_factory=FakeScene,
                              report_error=lambda title, exc: errors.append((title, str(exc))))
    messages: list[str] = []
    state.events.message.connect(messages.append)
    try:
        with using_clock(ManualClock(100.0)):
            state.update_settings(num_samples=8, seed=1, steps=4)
            ctl.open_frame(DataFrameSource(bimodal_h5, 1, 3), str(bimodal_ckpt))
            qtbot.waitUntil(lambda: state.data is not None or bool(errors), timeout=60_000)
            wait_idle(qtbot, ctl, timeout=60_000)
            assert errors == [] and not state.policy.scene_fed
            acc = state.policy.planner.acceleration
            assert acc.enabled and acc.acc.background is not None    # background mode switched on
            assert CALIBRATING in messages
            assert calls and not any(sampling for _, sampling in calls)   # all in the warm-up
            before = len(calls)
            ctl.sample()                                  # again at the frame: nothing measured
            wait_idle(qtbot, ctl, timeout=60_000)
            assert len(calls) == before and state.data.frame == 3
    finally:
        ctl.shutdown()
