"""The traced (+jit) executors and the FiLM precomputed per sampling call: same numbers as the
eager executor / the per-step FiLM, the step encoder runs once per sampling call, the calibration
times a traced form only for the candidates that came close, and a model under MIN_PARAMETERS runs
the traced conv2d executor without calibrating."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from planners.acceleration import Accelerator, PolicyAcceleration, Variant
from planners.acceleration import calibration as cal
from planners.acceleration import kernels
from planners.acceleration.kernels import FastUnet
from planners.acceleration.lowering import lower
from planners.acceleration.policy_acceleration import SMALL_MODEL
from planners.diffusion.config import DiffusionConfig
from planners.diffusion.unet import ConditionalUnet1D
from planners.nets.unet1d import ConditionalUnet1D as DPUnet
from planners.sampling import SchedulerSettings, make_scheduler, sample_chain

H, D, G = 8, 3, 5
SETTINGS = SchedulerSettings(num_train_timesteps=50, beta_schedule="squaredcos_cap_v2", prediction_type="epsilon")


def planscope_unet() -> ConditionalUnet1D:
    torch.manual_seed(0)
    model = ConditionalUnet1D(DiffusionConfig(obs_dim=G, action_dim=D, horizon=H, down_dims=(16, 32))).eval()
    with torch.no_grad():   # larger than init weights: every layer matters in the comparison
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model


def dp_unet() -> DPUnet:
    torch.manual_seed(1)
    return DPUnet(D, global_cond_dim=G, diffusion_step_embed_dim=16, down_dims=(16, 32, 64), kernel_size=5,
                  cond_predict_scale=True).eval()


def call(model, x, t, c):
    return model(x, t, global_cond=c) if isinstance(model, DPUnet) else model(x, t, c)


@pytest.mark.parametrize("make", [planscope_unet, dp_unet], ids=["planscope", "dp"])
@pytest.mark.parametrize("conv", ["conv2d", "gemm"])
def test_the_traced_body_computes_exactly_what_the_eager_body_does(make, conv):
    graph = lower(make())
    eager, traced = FastUnet(graph, conv=conv), FastUnet(graph, conv=conv, jit=True)
    cond = torch.randn(1, G)
    with torch.inference_mode():
        for n in (1, 4):
            x = torch.randn(n, H, D)
            for t in (3, 40, 7):   # several calls: TorchScript's profiling runs re-plan after the first
                films = eager.films(torch.tensor(t), cond)
                assert torch.equal(traced.body(x, films), eager.body(x, films))
    assert len(traced._traces) == 2   # one trace per input shape


def test_traces_are_capped_per_executor(monkeypatch):
    monkeypatch.setattr(kernels, "MAX_TRACES", 2)
    fast = FastUnet(lower(dp_unet()), conv="conv2d", jit=True)
    with torch.inference_mode():
        films = fast.films(torch.tensor(5), torch.randn(1, G))
        for n in (1, 2, 3):
            fast.body(torch.randn(n, H, D), films)
    assert sorted(k[0][0] for k in fast._traces) == [2, 3]


@pytest.mark.parametrize("rows", [1, 3])
def test_films_for_all_steps_equal_the_per_step_films(rows):
    fast = FastUnet(lower(dp_unet()), conv="gemm")
    cond = torch.randn(rows, G)
    steps = torch.tensor([49, 30, 12, 0])
    with torch.inference_mode():
        table = fast.films_for_steps(steps, cond)
        assert table.shape == (4, rows, fast._film_w.shape[0])
        for k, t in enumerate(steps):
            # one batched product vs one per step: equal up to the GEMM's summation order
            torch.testing.assert_close(table[k], fast.films(t, cond), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("variant", [Variant("gemm", "float32"), Variant("conv2d+jit", "float32"),
                                     Variant("gemm", "float32", chunk=2)], ids=lambda v: v.name)
@pytest.mark.parametrize("shared", [True, False], ids=["shared-cond", "per-sample-cond"])
def test_sampling_with_precomputed_films_gives_the_per_step_plans(variant, shared, tmp_path, monkeypatch):
    model = dp_unet()
    acc = Accelerator(model, horizon=H, native_call=call, cache_dir=tmp_path, reduced=None)
    n = 5
    cond = torch.randn(1 if shared else n, G)
    encoder_calls = []
    encoder = acc.graph.step_encoder
    acc.graph.step_encoder = lambda t: encoder_calls.append(t.numel()) or encoder(t)

    def plans(fn):
        return sample_chain(fn, SETTINGS, num_samples=n, horizon=H, action_dim=D, seed=3, solver="ddpm", steps=10,
                            to_actions=lambda x: x.numpy()).plans

    precomputed = plans(_fn(acc, variant, cond))
    assert len(encoder_calls) == 1 and encoder_calls[0] == 10 * cond.shape[0]   # once, all steps at once
    per_step = _fn(acc, variant, cond)
    monkeypatch.setattr(per_step, "prepare", lambda timesteps: None)
    expected = plans(per_step)
    calls = -(-n // variant.chunk) if variant.chunk else 1
    assert len(encoder_calls) == 1 + 10 * calls                                 # then once per step (and batch)
    np.testing.assert_allclose(precomputed, expected, rtol=0, atol=1e-5)
    with torch.inference_mode():   # and both are the eager model's plans
        eager = plans(lambda x, t: call(model, x, t, cond.expand(n, -1)))
    np.testing.assert_allclose(precomputed, eager, rtol=0, atol=1e-4)


def _fn(acc, variant, cond):
    from planners.acceleration.accelerator import DenoiserFn
    return DenoiserFn(acc, variant, cond, None)


def test_calibration_times_the_traced_form_only_of_the_close_candidates():
    seconds = {"native float32": 10.0, "gemm float32": 5.0, "conv2d float32": 20.0,
               "gemm+jit float32": 3.0, "conv2d+jit float32": 1.0}
    timed = []

    class Clock:
        now = 0.0

        def __call__(self):
            return self.now

    clock = Clock()

    def make_call(variant, n):
        def run():
            timed.append(variant.name)
            clock.now += seconds[variant.name]
        return run

    def refine(v):
        return None if v.kernel == "native" else Variant(v.kernel + "+jit", v.precision)

    found = cal.calibrate("k", 8, [Variant("native", "float32"), Variant("gemm", "float32"),
                                   Variant("conv2d", "float32")], make_call, timer=clock, refine=refine)
    assert "gemm+jit float32" in timed and "conv2d+jit float32" not in timed   # conv2d was 4x the best
    assert found.best == Variant("gemm+jit", "float32") and found.best_float32 == found.best


def test_a_model_under_the_threshold_runs_the_traced_executor_without_calibrating(tmp_path, monkeypatch):
    monkeypatch.setattr(cal, "calibrate", lambda *a, **k: pytest.fail("a small model was calibrated"))
    monkeypatch.delenv("PLANSCOPE_ACCELERATION", raising=False)
    model = planscope_unet()
    common = dict(native_call=call, horizon=H, device="cpu", settings=SETTINGS, solver="ddim", steps=8,
                  action_range=np.ones(D) * 2, to_actions=lambda x: x.numpy(), cache_dir=tmp_path)
    accel = PolicyAcceleration(model, **common)
    cond = torch.randn(1, G)
    fn = accel.model_fn(cond, 6)
    assert not accel.enabled and fn.variant == SMALL_MODEL and fn.meta["kernel"] == "conv2d+jit"
    assert "fixed rule" in accel.describe()["reason"]
    monkeypatch.setenv("PLANSCOPE_ACCELERATION", "off")
    off = PolicyAcceleration(model, **common)
    ref_fn = off.model_fn(cond, 6)
    assert ref_fn.variant == cal.REFERENCE and off.small_variant is None

    def plans(f):
        return sample_chain(f, SETTINGS, num_samples=6, horizon=H, action_dim=D, seed=0, solver="ddim", steps=8,
                            to_actions=lambda x: x.numpy()).plans
    np.testing.assert_allclose(plans(fn), plans(ref_fn), rtol=0, atol=1e-5)


def test_the_sampler_hands_every_timestep_to_prepare_before_the_first_step():
    seen = []

    class Fn:
        def prepare(self, timesteps):
            seen.append(("prepare", [int(t) for t in timesteps]))

        def __call__(self, x, t):
            seen.append(("step", int(t)))
            return torch.zeros_like(x)

    sample_chain(Fn(), SETTINGS, num_samples=2, horizon=H, action_dim=D, seed=0, solver="ddim", steps=4,
                 to_actions=lambda x: x.numpy())
    scheduler = make_scheduler(SETTINGS, "ddim")
    scheduler.set_timesteps(4)
    expected = [int(t) for t in scheduler.timesteps]
    assert seen == [("prepare", expected)] + [("step", t) for t in expected]


def test_a_film_table_over_the_budget_is_not_precomputed(tmp_path, monkeypatch):
    """A scan's F x N per-sample conditions x 100 DDPM steps would be gigabytes at 65 M: per step."""
    from planners.acceleration import accelerator
    acc = Accelerator(dp_unet(), horizon=H, native_call=call, cache_dir=tmp_path, reduced=None)
    steps = torch.arange(10)
    small, large = _fn(acc, Variant("gemm", "float32"), torch.randn(1, G)), \
        _fn(acc, Variant("gemm", "float32"), torch.randn(40, G))
    width = acc.fast("gemm", "float32").film_width
    monkeypatch.setattr(accelerator, "FILM_TABLE_BYTES", 10 * 10 * width * 4)   # 10 rows x 10 steps
    small.prepare(steps)
    large.prepare(steps)
    assert small._films is not None and small._films.shape == (10, 1, width)
    assert large._films is None
    with torch.inference_mode():
        x = torch.randn(40, H, D)
        torch.testing.assert_close(large(x, torch.tensor(3)), acc.run(Variant("gemm", "float32"), x, torch.tensor(3),
                                                                     large.cond))
