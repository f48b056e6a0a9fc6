"""Calibration and the fidelity check paid on the loading worker (app/core/inspector/warmup.py):
afterwards the first sample at the inspector's N neither calibrates nor checks again, and the
Policy panel's precision state says what the check found. Clocks are fakes: nothing is timed."""
from __future__ import annotations

import pytest
import torch

from app.core.inspector.warmup import CALIBRATING, needs_warmup, warm_policy
from tests.planners.test_acceleration import FakeClock, planscope_unet, policy_acceleration


class Planner:
    """What warm_policy reads of a diffusion planner: its spec.extra and its acceleration."""

    def __init__(self, acceleration) -> None:
        self.acceleration = acceleration
        self.spec = type("Spec", (), {"extra": {"precision": acceleration.describe()}})()


class StepClock:
    """Reads 10.0, then 52.0: the warm-up's start and end."""

    def __init__(self) -> None:
        self.reads = iter((10.0, 52.0))

    def __call__(self) -> float:
        return next(self.reads)


def test_warm_policy_calibrates_checks_fidelity_and_refreshes_the_precision(tmp_path, monkeypatch):
    acc = policy_acceleration(planscope_unet(), tmp_path, reduced="bfloat16", timer=FakeClock())
    planner = Planner(acc)
    assert needs_warmup(planner) and "has not run" in planner.spec.extra["precision"]["reason"]
    said: list[str] = []
    reason = warm_policy(planner, 16, said.append, clock=StepClock())
    assert said[0] == CALIBRATING and "bfloat16" in said[1]
    assert said[-1] == f"Kernels calibrated in 42 s; {reason}"
    assert acc.fidelity is not None and reason == acc.fidelity.reason
    assert planner.spec.extra["precision"]["fidelity"]["passed"] == acc.fidelity.passed
    assert planner.spec.extra["precision"]["reason"] == reason
    # the first interactive sample at that N measures nothing more
    monkeypatch.setattr(acc.acc, "_calibrate", lambda bucket: pytest.fail("calibrated again"))
    monkeypatch.setattr(acc, "_check_fidelity", lambda: pytest.fail("checked again"))
    fn = acc.model_fn(torch.zeros((1, acc.acc.global_cond_dim)), 16)
    assert fn.meta["precision"] in ("float32", "bfloat16")


def test_a_failing_warm_up_keeps_the_policy_and_says_so(tmp_path, monkeypatch):
    acc = policy_acceleration(planscope_unet(), tmp_path, reduced="bfloat16", timer=FakeClock())
    monkeypatch.setattr(acc.acc, "calibration", lambda n: (_ for _ in ()).throw(MemoryError("no room")))
    said: list[str] = []
    warm_policy(Planner(acc), 16, said.append, clock=FakeClock())
    assert said[-1].startswith("Kernel calibration failed (MemoryError: no room)")


def test_planners_without_the_fast_path_need_no_warm_up(tmp_path):
    off = policy_acceleration(planscope_unet(), tmp_path)
    off.enabled = False
    said: list[str] = []
    assert not needs_warmup(Planner(off)) and not needs_warmup(object())
    assert warm_policy(Planner(off), 16, said.append) == "" and said == []
