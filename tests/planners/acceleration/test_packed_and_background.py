"""The MKL-packed kernel equals the eager model; a new batch size samples at once in background
mode (the GUI's) and is calibrated later, off the sampling path; inline mode still measures first."""
from __future__ import annotations

import time

import pytest
import torch

from planners.acceleration import Accelerator, PolicyAcceleration, Variant
from planners.acceleration import calibration as cal
from planners.acceleration.kernels import FastUnet, packing_available
from planners.acceleration.lowering import lower
from planners.nets.unet1d import ConditionalUnet1D as DPUnet
from planners.sampling import SchedulerSettings

H, D, G = 8, 3, 5
needs_mkl = pytest.mark.skipif(not packing_available(), reason="torch built without MKL")


def dp_unet() -> DPUnet:
    torch.manual_seed(1)
    model = DPUnet(D, global_cond_dim=G, diffusion_step_embed_dim=16, down_dims=(16, 32, 64), kernel_size=5,
                   cond_predict_scale=True).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model


def call(m, x, t, c):
    return m(x, t, global_cond=c)


@needs_mkl
@pytest.mark.parametrize("n", [1, 7, 32])
def test_packed_kernel_equals_the_eager_model_at_any_batch(n):
    model = dp_unet()
    fast = FastUnet(lower(model), conv="packed")          # packed once, used for every N
    x, t, cond = torch.randn(n, H, D), torch.tensor(23), torch.randn(1, G)
    with torch.inference_mode():
        eager = call(model, x, t, cond.expand(n, -1))
        out = fast(x, t, cond)
    assert out.dtype == torch.float32
    assert torch.allclose(out, eager, atol=2e-5, rtol=1e-4), float((out - eager).abs().max())


@needs_mkl
def test_packed_is_a_float32_candidate_only(tmp_path):
    model = dp_unet()
    acc = Accelerator(model, horizon=H, native_call=call, cache_dir=tmp_path, reduced="bfloat16")
    names = {v.name for v in acc.candidates()}
    assert "packed float32" in names and "packed bfloat16" not in names
    with pytest.raises(ValueError, match="float32"):
        FastUnet(lower(model), conv="packed", dtype=torch.bfloat16)


class Recorder:
    """A background starter that keeps the jobs instead of running them (the test runs them)."""

    def __init__(self):
        self.jobs = []

    def __call__(self, job):
        self.jobs.append(job)


def spy_calibrate(monkeypatch):
    """Count cal.calibrate calls; each returns a calibration whose winner is 'gemm float32'."""
    calls = []

    def fake(key, n, candidates, make_call, timer=None, hold=None, refine=None):
        calls.append(n)
        if hold is not None:
            with hold():
                pass
        best = Variant("gemm", "float32")
        return cal.Calibration(key=key, n=n, seconds={best.name: 1.0, cal.REFERENCE.name: 2.0}, best=best,
                               best_float32=best, variants={best.name: best, cal.REFERENCE.name: cal.REFERENCE})
    monkeypatch.setattr(cal, "calibrate", fake)
    return calls


def test_a_new_batch_size_samples_at_once_and_is_calibrated_in_the_background(tmp_path, monkeypatch):
    calls = spy_calibrate(monkeypatch)
    acc = Accelerator(dp_unet(), horizon=H, native_call=call, cache_dir=tmp_path, reduced=None)
    started = Recorder()
    acc.background = started
    acc.idle_wait = lambda: None          # the test decides when the job runs
    cond = torch.randn(1, G)

    fn = acc.model_fn(cond, 20)           # bucket 32, nothing known: the model's own float32 forward
    assert calls == [] and fn.variant == cal.REFERENCE
    assert len(started.jobs) == 1 and acc.pending == {32}
    acc.model_fn(cond, 30)                # same bucket while pending: not scheduled twice
    assert len(started.jobs) == 1 and calls == []
    with torch.inference_mode():          # and it samples (same numbers as the eager model)
        x = torch.randn(20, H, D)
        assert torch.allclose(fn(x, torch.tensor(5)), call(acc.model, x, torch.tensor(5), cond.expand(20, -1)))

    started.jobs.pop()()                  # the background job: measured once, off the sampling call
    assert calls == [32] and acc.pending == set()
    assert acc.model_fn(cond, 20).variant == Variant("gemm", "float32")

    # another new bucket meanwhile runs the nearest measured bucket's choice, not the reference
    fn = acc.model_fn(cond, 100)          # bucket 128
    assert calls == [32] and fn.variant.kernel == "gemm" and fn.variant.chunk == 32
    assert acc.pending == {128}


def test_inline_mode_still_measures_before_the_first_sample(tmp_path, monkeypatch):
    calls = spy_calibrate(monkeypatch)
    acc = Accelerator(dp_unet(), horizon=H, native_call=call, cache_dir=tmp_path, reduced=None)
    assert acc.model_fn(torch.randn(1, G), 20).variant == Variant("gemm", "float32")
    assert calls == [32]
    again = Accelerator(dp_unet(), horizon=H, native_call=call, cache_dir=tmp_path, reduced=None)
    again.background = Recorder()
    assert again.model_fn(torch.randn(1, G), 20).variant == Variant("gemm", "float32")   # disk cache
    assert calls == [32] and again.background.jobs == []


def test_policy_in_background_mode_runs_no_fidelity_check_inline(tmp_path, monkeypatch):
    spy_calibrate(monkeypatch)
    settings = SchedulerSettings(num_train_timesteps=10, beta_schedule="squaredcos_cap_v2")
    acc = PolicyAcceleration(dp_unet(), native_call=call, horizon=H, device="cpu", settings=settings, solver="ddim",
                             steps=4, action_range=torch.ones(D).numpy() * 2, to_actions=lambda x: x.numpy(),
                             cache_dir=tmp_path, reduced="bfloat16", enabled=True)
    started = Recorder()
    acc.calibrate_in_background(started)
    monkeypatch.setattr(acc, "check_fidelity", lambda: pytest.fail("fidelity check ran on the sampling call"))
    fn = acc.model_fn(torch.randn(1, G), 64)
    assert fn.variant == cal.REFERENCE and len(started.jobs) == 1


def test_the_inspector_warm_up_switches_the_policy_to_background_calibration(tmp_path, monkeypatch):
    from app.core.inspector.warmup import warm_policy
    spy_calibrate(monkeypatch)
    settings = SchedulerSettings(num_train_timesteps=10, beta_schedule="squaredcos_cap_v2")
    accel = PolicyAcceleration(dp_unet(), native_call=call, horizon=H, device="cpu", settings=settings,
                               solver="ddim", steps=4, action_range=torch.ones(D).numpy() * 2,
                               to_actions=lambda x: x.numpy(), cache_dir=tmp_path, reduced=None, enabled=True)

    class Planner:
        acceleration = accel
    lines = []
    warm_policy(Planner(), 16, progress=lines.append, clock=iter(range(100)).__next__)
    assert accel.acc.known_calibration(16) is not None          # the inspector's N: measured at load
    assert accel.acc.background is not None                     # any other N: in the background
    assert accel.acc.known_calibration(200) is None
    accel.acc.background = Recorder()
    accel.model_fn(torch.randn(1, G), 200)
    assert accel.acc.pending == {256}


def test_calibration_reads_cpu_time_when_torch_runs_one_thread():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert cal.default_timer(torch.device("cpu")) is time.thread_time
        assert cal.default_timer(torch.device("cuda")) is time.perf_counter
        torch.set_num_threads(2)
        assert cal.default_timer(torch.device("cpu")) is time.perf_counter
    finally:
        torch.set_num_threads(threads)


def test_background_calibrations_stop_and_are_joined_at_exit(tmp_path, monkeypatch):
    """A daemon calibration thread still inside torch while Python finalizes aborts the process
    (exit status 134): at exit the job stops before its next candidate and is joined."""
    from planners.acceleration import accelerator as accelerator_module
    from planners.acceleration import policy_acceleration as pa
    calls = spy_calibrate(monkeypatch)
    registered = []
    monkeypatch.setattr(pa.atexit, "register", registered.append)
    monkeypatch.setattr(pa, "_THREADS", [])
    acc = Accelerator(dp_unet(), horizon=H, native_call=call, cache_dir=tmp_path, reduced=None)
    acc.background = pa._daemon_thread
    acc._last_call = float("inf")           # sampling never goes idle: the job waits to time
    acc.model_fn(torch.randn(1, G), 20)
    assert registered == [pa.stop_background_calibrations] and len(pa._THREADS) == 1
    thread = pa._THREADS[0]
    thread.join(0.2)
    assert thread.is_alive() and acc.pending == {32}
    try:
        assert pa.stop_background_calibrations(timeout_s=10)
    finally:
        accelerator_module.SHUTDOWN.clear()
    assert not thread.is_alive() and calls == [32]
    assert acc.pending == set() and acc.known_calibration(20) is None   # stopped: nothing measured
