"""The small-model rule's bfloat16 step (planners/acceleration/policy_acceleration.py) and the
conv2d executor's mixed precision (kernels.py): convolutions in bfloat16, everything between them
in float32; used from SMALL_REDUCED_ROWS samples per thread on a CPU with AMX, only after the
fidelity check passed, never inline in background mode. Nothing here is timed."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from app.core.inspector.warmup import needs_warmup, warm_policy
from planners.acceleration import PolicyAcceleration
from planners.acceleration import calibration as cal
from planners.acceleration import fidelity as fid
from planners.acceleration import kernels
from planners.acceleration import policy_acceleration as pa
from planners.acceleration.kernels import FastUnet
from planners.acceleration.lowering import lower
from tests.planners.acceleration.test_jit_and_films import G, H, SETTINGS, D, call, planscope_unet


def _recording(monkeypatch, name: str) -> list[torch.dtype]:
    """Record the input dtype of every kernels.F.<name> call."""
    seen: list[torch.dtype] = []
    real = getattr(F, name)

    def wrapped(x, *a, **k):
        seen.append(x.dtype)
        return real(x, *a, **k)
    monkeypatch.setattr(kernels.F, name, wrapped)
    return seen


@pytest.mark.parametrize("conv, between", [("conv2d", torch.float32), ("gemm", torch.bfloat16)])
def test_conv2d_in_bfloat16_keeps_float32_between_its_convolutions(monkeypatch, conv, between):
    graph = lower(planscope_unet())
    fast32 = FastUnet(graph, conv=conv)
    fast16 = FastUnet(graph, conv=conv, dtype=torch.bfloat16)
    x, cond = torch.randn(6, H, D, generator=torch.Generator().manual_seed(0)), torch.randn(1, G)
    with torch.inference_mode():
        want = fast32(x, torch.tensor(7), cond)
        norms = _recording(monkeypatch, "group_norm")
        convs = _recording(monkeypatch, "conv2d")
        got = fast16(x, torch.tensor(7), cond)
    assert got.dtype == torch.float32 and norms and set(norms) == {between}
    if conv == "conv2d":
        assert convs and set(convs) == {torch.bfloat16}          # the products: bfloat16
    # bfloat16 products: close to float32, not equal
    err = float((got - want).abs().mean() / want.abs().mean())
    assert 0 < err < 0.03


def _small(tmp_path, monkeypatch, flags="avx512f avx512_bf16 amx_bf16 amx_tile", **kw) -> PolicyAcceleration:
    monkeypatch.setattr(cal, "_cpu_flags", lambda: flags)
    monkeypatch.setattr(cal, "calibrate", lambda *a, **k: pytest.fail("a small model was calibrated"))
    monkeypatch.delenv("PLANSCOPE_ACCELERATION", raising=False)
    monkeypatch.delenv("PLANSCOPE_PRECISION", raising=False)
    return PolicyAcceleration(planscope_unet(), native_call=call, horizon=H, device="cpu", settings=SETTINGS,
                              solver="ddim", steps=8, action_range=np.ones(D) * 2, to_actions=lambda x: x.numpy(),
                              cache_dir=tmp_path, reduced="bfloat16", **kw)


def _threshold() -> int:
    return pa.SMALL_REDUCED_ROWS * torch.get_num_threads()


def test_a_small_model_samples_bfloat16_convolutions_from_the_threshold_after_the_check(tmp_path, monkeypatch):
    acc = _small(tmp_path, monkeypatch)
    cond = torch.randn(1, G)
    assert not acc.enabled and acc.small_reduced == pa.SMALL_REDUCED and "not run yet" in acc.describe()["reason"]
    below = acc.model_fn(cond, _threshold() - 1)
    assert below.variant == pa.SMALL_MODEL and acc.fidelity is None      # no check needed below it
    at = acc.model_fn(cond, _threshold())                                 # the check runs inline, once
    assert acc.fidelity is not None and acc.fidelity.passed, acc.fidelity.reason
    assert at.variant == pa.SMALL_REDUCED and at.meta["precision"] == "bfloat16"
    reason = acc.describe()["reason"]
    assert reason.startswith(f"float32 below {pa.SMALL_REDUCED_ROWS} samples per thread, then bfloat16")
    assert "deviation" in reason and acc.describe()["fidelity"]["passed"]
    # the cached report serves the next load: no second check
    again = _small(tmp_path, monkeypatch)
    monkeypatch.setattr(fid, "run_check", lambda *a, **k: pytest.fail("checked twice"))
    assert again.model_fn(cond, _threshold()).variant == pa.SMALL_REDUCED and again.fidelity.from_cache


def test_the_check_compares_the_rules_own_two_variants(tmp_path, monkeypatch):
    acc = _small(tmp_path, monkeypatch)
    kernels_seen = []
    real = acc.acc.fast

    def fast(kernel, precision):
        kernels_seen.append((kernel, precision))
        return real(kernel, precision)
    monkeypatch.setattr(acc.acc, "fast", fast)
    acc.check_fidelity()
    assert set(kernels_seen) == {("conv2d+jit", "float32"), ("conv2d+jit", "bfloat16")}


def test_a_failed_check_keeps_the_small_model_in_float32_and_says_why(tmp_path, monkeypatch):
    acc = _small(tmp_path, monkeypatch)
    failed = fid.FidelityReport(False, "bfloat16", "float32: bfloat16 plans deviate from float32's by 3.1% of the "
                                "action range on average (limit 2%)", 0.031)
    monkeypatch.setattr(fid, "run_check", lambda *a, **k: failed)
    fn = acc.model_fn(torch.randn(1, G), _threshold() * 2)
    assert fn.variant == pa.SMALL_MODEL
    assert acc.describe()["reason"] == f"float32 (small-model rule): {failed.reason}"


def test_background_mode_never_checks_inline_and_the_warm_up_does(tmp_path, monkeypatch):
    acc = _small(tmp_path, monkeypatch)
    acc.calibrate_in_background(lambda job: pytest.fail("a small model scheduled a calibration"))
    monkeypatch.setattr(acc, "_check_fidelity", lambda: pytest.fail("checked inline"))
    assert acc.model_fn(torch.randn(1, G), _threshold()).variant == pa.SMALL_MODEL
    monkeypatch.undo()

    acc = _small(tmp_path, monkeypatch)
    planner = type("Planner", (), {})()
    planner.acceleration = acc
    planner.spec = type("Spec", (), {"extra": {"precision": acc.describe()}})()
    assert needs_warmup(planner)
    said: list[str] = []
    reads = iter((3.0, 5.0))
    reason = warm_policy(planner, 128, said.append, clock=lambda: next(reads))
    assert "Calibrating" not in said[0] and "bfloat16" in said[0]       # nothing to time: only the check
    assert said[-1] == f"Precision checked in 2 s; {reason}" and acc.fidelity.passed
    assert acc.model_fn(torch.randn(1, G), _threshold()).variant == pa.SMALL_REDUCED


@pytest.mark.parametrize("case", ["no AMX", "PLANSCOPE_PRECISION=float32"])
def test_no_bfloat16_step_without_amx_or_when_precision_is_held_to_float32(tmp_path, monkeypatch, case):
    if case == "no AMX":
        acc = _small(tmp_path, monkeypatch, flags="avx512f avx512_bf16")
    else:
        monkeypatch.setattr(cal, "_cpu_flags", lambda: "avx512f avx512_bf16 amx_bf16 amx_tile")
        monkeypatch.setenv("PLANSCOPE_PRECISION", "float32")
        acc = PolicyAcceleration(planscope_unet(), native_call=call, horizon=H, device="cpu", settings=SETTINGS,
                                 solver="ddim", steps=8, action_range=np.ones(D) * 2,
                                 to_actions=lambda x: x.numpy(), cache_dir=tmp_path, reduced="bfloat16")
    monkeypatch.setattr(fid, "run_check", lambda *a, **k: pytest.fail("checked"))
    assert acc.small_reduced is None and acc.model_fn(torch.randn(1, G), _threshold() * 4).variant == pa.SMALL_MODEL
    assert "bfloat16" not in acc.describe()["reason"]
    assert not needs_warmup(type("Planner", (), {"acceleration": acc})())


def test_the_status_line_says_checking_not_calibrating_for_a_small_model(tmp_path, monkeypatch):
    from app.core.inspector.warmup import CALIBRATING, warmup_message
    acc = _small(tmp_path, monkeypatch)
    planner = type("Planner", (), {"acceleration": acc})()
    assert warmup_message(planner) == "Checking bfloat16 against float32 on this policy (once per machine)…"
    acc.enabled = True
    assert warmup_message(planner) == CALIBRATING
