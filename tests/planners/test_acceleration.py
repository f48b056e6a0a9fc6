"""planners.acceleration: the fast path equals the eager model for every kernel, the calibration
picks from measured timings (a fake clock here), its disk cache hits, misses and invalidates, a
failed fidelity check keeps float32 and says why, and split batches give the same plans."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from planners.acceleration import Accelerator, PolicyAcceleration, StepCancelled, Variant
from planners.acceleration import calibration as cal
from planners.acceleration import fidelity as fid
from planners.acceleration.kernels import FastUnet
from planners.acceleration.lowering import LoweringError, lower
from planners.diffusion.config import DiffusionConfig
from planners.diffusion.unet import ConditionalUnet1D
from planners.nets.unet1d import LEROBOT_BLOCK_NAMES
from planners.nets.unet1d import ConditionalUnet1D as DPUnet
from planners.sampling import SchedulerSettings, sample_chain

H, D, G = 8, 3, 5


def planscope_unet() -> ConditionalUnet1D:
    torch.manual_seed(0)
    model = ConditionalUnet1D(DiffusionConfig(obs_dim=G, action_dim=D, horizon=H, down_dims=(16, 32))).eval()
    with torch.no_grad():   # larger than init weights: every layer matters in the comparison
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model


def dp_unet(**kw) -> DPUnet:
    torch.manual_seed(1)
    return DPUnet(D, global_cond_dim=G, diffusion_step_embed_dim=16, down_dims=(16, 32, 64), kernel_size=5,
                  **kw).eval()


def native(model):
    if isinstance(model, DPUnet):
        return lambda m, x, t, c: m(x, t, global_cond=c)
    return lambda m, x, t, c: m(x, t, c)


MODELS = {"planscope": planscope_unet, "dp": lambda: dp_unet(cond_predict_scale=True),
          "dp-bias-only": lambda: dp_unet(cond_predict_scale=False),
          "lerobot-names": lambda: dp_unet(cond_predict_scale=True, block_names=LEROBOT_BLOCK_NAMES)}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("kernel", ["gemm", "conv2d", "conv1d"])
def test_fast_unet_equals_the_eager_model(name, kernel):
    model = MODELS[name]()
    x, t, cond = torch.randn(4, H, D), torch.tensor(37), torch.randn(1, G)
    with torch.inference_mode():
        eager = native(model)(model, x, t, cond.expand(4, -1))
        graph = lower(model)
        fast32 = FastUnet(graph, conv=kernel)(x, t, cond)
        fast16 = FastUnet(graph, conv=kernel, dtype=torch.bfloat16)(x, t, cond)
    assert torch.allclose(fast32, eager, atol=2e-5, rtol=1e-4)
    rel = float((fast16 - eager).norm() / eager.norm())
    assert rel < 0.03, rel     # bfloat16: ~3 significant digits per layer
    assert fast16.dtype == torch.float32


@pytest.mark.parametrize("variant", [Variant(k, p) for k in ("native", "gemm", "conv2d", "conv1d", "gemm+jit")
                                     for p in ("float32", "bfloat16")], ids=lambda v: v.name)
def test_every_accelerator_variant_runs_the_same_model(variant, tmp_path):
    model = dp_unet(cond_predict_scale=True)
    acc = Accelerator(model, horizon=H, native_call=native(model), cache_dir=tmp_path, reduced="bfloat16")
    x, t, cond = torch.randn(6, H, D), torch.tensor(11), torch.randn(1, G)
    with torch.inference_mode():
        eager = model(x, t, global_cond=cond.expand(6, -1))
        out = acc.run(variant, x, t, cond)
    tol = 0.03 if variant.reduced else 1e-5
    assert float((out - eager).norm() / eager.norm()) < tol


def test_an_unknown_model_runs_natively_only(tmp_path):
    class Mlp(torch.nn.Module):
        input_dim, global_cond_dim = D, G

        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(H * D + G, H * D)

        def forward(self, x, t, c):
            return self.net(torch.cat([x.flatten(1), c], 1)).reshape(x.shape)

    with pytest.raises(LoweringError):
        lower(Mlp())
    acc = Accelerator(Mlp(), horizon=H, native_call=lambda m, x, t, c: m(x, t, c), cache_dir=tmp_path)
    assert {v.kernel for v in acc.candidates()} == {"native"}
    assert "not available" in acc.describe()["fast_path"]


class FakeClock:
    """Time advances only when a fake kernel 'runs': cost per sample of each variant."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fake_calls(clock: FakeClock, per_sample: dict[str, float], overhead: float = 0.0):
    def make_call(variant: Variant, n: int):
        base = variant.with_chunk(0).name

        def call():
            calls = -(-n // variant.chunk) if variant.chunk else 1
            clock.now += per_sample[base] * n + overhead * calls
        return call
    return make_call


def test_calibration_picks_the_fastest_measured_variant():
    clock = FakeClock()
    costs = {"native float32": 1.0, "gemm float32": 0.6, "conv2d float32": 0.8,
             "native bfloat16": 0.9, "gemm bfloat16": 0.3, "conv2d bfloat16": 0.5}
    candidates = [Variant(k, p) for p in ("float32", "bfloat16") for k in ("native", "gemm", "conv2d")]
    c = cal.calibrate("k", 32, candidates, fake_calls(clock, costs), timer=clock)
    assert c.best == Variant("gemm", "bfloat16")
    assert c.best_float32 == Variant("gemm", "float32")
    assert c.choice(allow_reduced=False) == Variant("gemm", "float32")
    assert c.seconds["native float32"] == pytest.approx(32.0)
    assert c.speedup(c.best) == pytest.approx(1.0 / 0.3)


def test_calibration_splits_n_only_when_that_measured_faster():
    clock = FakeClock()
    # a per-call overhead makes one big call best ...
    c = cal.calibrate("k", 128, [Variant("native", "float32")], fake_calls(clock, {"native float32": 1.0}, 5.0),
                      timer=clock)
    assert c.best.chunk == 0 and "native float32, batches of 32" in c.seconds
    # ... a cost growing faster than N (cache spills) makes the split best

    def superlinear(variant: Variant, n: int):
        def call():
            size = variant.chunk or n
            clock.now += (n / size) * size ** 2 / 100
        return call
    c = cal.calibrate("k", 128, [Variant("native", "float32")], superlinear, timer=clock)
    assert c.best == Variant("native", "float32", 32)


def test_the_reference_is_always_a_candidate_so_the_choice_is_never_slower():
    clock = FakeClock()
    c = cal.calibrate("k", 4, [Variant("gemm", "float32")],
                      fake_calls(clock, {"gemm float32": 2.0, "native float32": 1.0}), timer=clock)
    assert c.best == cal.REFERENCE


def raising_timer():
    raise AssertionError("a cached calibration must not measure")


def test_calibration_cache_hits_misses_and_invalidates(tmp_path, monkeypatch):
    model = planscope_unet()
    acc = Accelerator(model, horizon=H, native_call=native(model), cache_dir=tmp_path, reduced="bfloat16",
                      timer=FakeClock())
    first = acc.calibration(20)
    assert not first.from_cache and first.n == 32          # bucket: next power of two
    files = list(tmp_path.glob("calibration-*.json"))
    assert len(files) == 1

    again = Accelerator(model, horizon=H, native_call=native(model), cache_dir=tmp_path, reduced="bfloat16",
                        timer=raising_timer)
    hit = again.calibration(30)                              # same bucket: read, not measured
    assert hit.from_cache and hit.best == first.best and hit.seconds == pytest.approx(first.seconds)
    assert hit.variants == first.variants and hit.best_in("bfloat16") == first.best_in("bfloat16")

    # another torch version (or CPU, or thread count) is another key: measured again
    monkeypatch.setattr(torch, "__version__", "0.0-other")
    other = Accelerator(model, horizon=H, native_call=native(model), cache_dir=tmp_path, reduced="bfloat16",
                        timer=FakeClock())
    assert not other.calibration(30).from_cache
    assert len(list(tmp_path.glob("calibration-*.json"))) == 2
    monkeypatch.undo()

    # a corrupt or foreign file is a miss, and is rewritten
    files[0].write_text("{not json")
    fresh = Accelerator(model, horizon=H, native_call=native(model), cache_dir=tmp_path, reduced="bfloat16",
                        timer=FakeClock())
    assert not fresh.calibration(30).from_cache
    assert json.loads(files[0].read_text())["schema"] == cal.SCHEMA


def two_mode_plans(n: int, left: int) -> np.ndarray:
    """n plans [n, H, 4]: `left` curve left (y < 0), the rest right; x runs 0..1."""
    s = np.linspace(0.0, 1.0, H)
    plans = np.zeros((n, H, 4), dtype=np.float32)
    plans[:, :, 0] = s
    plans[:, :, 2] = 0.3
    sign = np.where(np.arange(n) < left, -1.0, 1.0)[:, None]
    plans[:, :, 1] = sign * 0.4 * np.sin(np.pi * s)[None, :]
    rng = np.random.default_rng(n + left)
    return plans + rng.normal(0, 0.01, plans.shape).astype(np.float32)


def test_fidelity_rules():
    rng = np.ones(4)
    same = fid.compare_plans([two_mode_plans(64, 32)], [two_mode_plans(64, 32) + 0.001], rng, "bfloat16")
    assert same.passed and same.reason.startswith("bfloat16:") and same.deviation == pytest.approx(0.001, rel=0.01)
    moved = fid.compare_plans([two_mode_plans(64, 32)], [two_mode_plans(64, 8)], rng, "bfloat16")
    assert not moved.passed and moved.reason.startswith("float32:") and "share" in moved.reason
    gripper = two_mode_plans(64, 32)
    gripper[..., 3] += 0.12    # clustering reads positions only: same modes, 0.12 / 4 dims = 3 % deviation
    off = fid.compare_plans([two_mode_plans(64, 32)], [gripper], rng, "bfloat16")
    assert not off.passed and "3.0% of the action range" in off.reason
    nan = two_mode_plans(64, 32)
    nan[3, 2, 1] = np.nan
    broken = fid.compare_plans([two_mode_plans(64, 32)], [nan], rng, "bfloat16")
    assert not broken.passed and "non-finite" in broken.reason


SETTINGS = SchedulerSettings(num_train_timesteps=20)


def policy_acceleration(model, tmp_path, **kw) -> PolicyAcceleration:
    return PolicyAcceleration(model, native_call=native(model), horizon=H, device="cpu", settings=SETTINGS,
                              solver="ddim", steps=4, action_range=np.full(D, 2.0), enabled=True,
                              to_actions=lambda x: x.detach().float().numpy(), cache_dir=tmp_path, **kw)


def test_a_failed_fidelity_check_keeps_float32_and_says_why(tmp_path, monkeypatch):
    model = planscope_unet()
    clock = FakeClock()
    acc = policy_acceleration(model, tmp_path, reduced="bfloat16", timer=clock)
    # measured: bfloat16 is the fastest variant at this N (fake clock: every bfloat16 call costs 1, float32 3)
    monkeypatch.setattr(acc.acc, "_timed_call", lambda v, n: lambda: setattr(clock, "now", clock.now +
                                                                              (1.0 if v.reduced else 3.0)))
    assert acc.acc.calibration(16).best.reduced
    real_sample = acc._sample

    def drifting(precision, obs_index, seed):   # reduced precision moves every waypoint by 10 % of the range
        # (random weights give one tight cluster: the shifted plans form a second one)
        plans = real_sample(precision, obs_index, seed)
        return plans + (0.2 if precision != "float32" else 0.0)
    monkeypatch.setattr(acc, "_sample", drifting)
    fn = acc.model_fn(torch.zeros(1, G), 16)                 # the check runs on first need
    assert acc.fidelity is not None and not acc.fidelity.passed
    assert fn.meta["precision"] == "float32"
    described = acc.describe()
    assert described["reason"].startswith("float32: bfloat16 moved a mode's share from 0% to 100%")
    assert described["reduced_allowed"] is False
    # cached with the calibration: a second load reads the verdict instead of sampling again
    again = policy_acceleration(model, tmp_path, reduced="bfloat16", timer=raising_timer)
    monkeypatch.setattr(again, "_sample", lambda *a: pytest.fail("fidelity must come from the cache"))
    assert not again.check_fidelity().passed and again.fidelity.from_cache


def test_a_bad_sample_count_is_one_clear_error(tmp_path):
    from planners.protocol import PlannerError
    acc = policy_acceleration(planscope_unet(), tmp_path, reduced=None)
    for bad in (0, -3, 2.5, "8", True):
        with pytest.raises(PlannerError, match="num_samples must be a positive integer"):
            acc.model_fn(torch.zeros(1, G), bad)


def test_a_passing_fidelity_check_allows_bfloat16(tmp_path):
    model = planscope_unet()
    acc = policy_acceleration(model, tmp_path, reduced="bfloat16", timer=FakeClock())
    report = acc.check_fidelity()
    assert report.passed, report.reason
    assert report.deviation < fid.MAX_DEVIATION and report.num_samples == 2 * fid.CHECK_SAMPLES
    assert acc.acc.allow_reduced and acc.describe()["fidelity"]["passed"]


def sample(model_fn, cancel=None, n=12):
    return sample_chain(model_fn, SETTINGS, num_samples=n, horizon=H, action_dim=D, seed=3, solver="ddpm",
                        steps=6, to_actions=lambda x: x.detach().float().numpy(), cancel=cancel,
                        meta=getattr(model_fn, "meta", None))


@pytest.mark.parametrize("kernel", ["native", "gemm"])
def test_split_batches_give_the_same_plans(kernel, tmp_path):
    model = dp_unet(cond_predict_scale=True)
    acc = Accelerator(model, horizon=H, native_call=native(model), cache_dir=tmp_path)
    cond = torch.randn(1, G)
    from planners.acceleration.accelerator import DenoiserFn
    whole = sample(DenoiserFn(acc, Variant(kernel, "float32"), cond, None))
    split = sample(DenoiserFn(acc, Variant(kernel, "float32", 5), cond, None))
    assert split.meta["batch_split"] == 5 and whole.meta["batch_split"] == 0
    np.testing.assert_allclose(split.plans, whole.plans, atol=1e-5)
    np.testing.assert_allclose(split.chain, whole.chain, atol=1e-5)


def test_cancel_is_seen_between_the_batches_of_one_step(tmp_path):
    model = dp_unet(cond_predict_scale=True)
    acc = Accelerator(model, horizon=H, native_call=native(model), cache_dir=tmp_path)
    from planners.acceleration.accelerator import DenoiserFn
    polls = []

    def cancel():
        polls.append(1)
        return len(polls) > 4
    with pytest.raises(StepCancelled):   # called alone: cancel before the second batch raises
        DenoiserFn(acc, Variant("gemm", "float32", 4), torch.randn(1, G), lambda: True)(
            torch.randn(12, H, D), torch.tensor(3))
    # in the sampler: polls 1 (before step 1), 2-3 (between step 1's three batches), 4 (before
    # step 2), 5 (inside step 2: True) -> the batch returns with step 1 only
    batch = sample(DenoiserFn(acc, Variant("gemm", "float32", 4), torch.randn(1, G), cancel), cancel=cancel)
    assert batch.cancelled and batch.num_steps == 1 and len(polls) == 5
    assert np.isfinite(batch.plans).all()


def test_cuda_graph_variants_capture_once_per_shape_and_replay(tmp_path, monkeypatch):
    """The CPU side of the CUDA-graph path (no GPU here): graph variants are candidates when
    enabled, each (kernel, precision, shape) is captured once and replayed after."""
    from planners.acceleration import accelerator
    captured = []

    class FakeGraph:   # stands in for torch.cuda.CUDAGraph capture/replay
        def __init__(self, fn, x, t, cond):
            captured.append(tuple(x.shape))
            self.fn = fn

        def __call__(self, x, t, cond):
            return self.fn(x, t, cond)

    monkeypatch.setattr(accelerator, "CudaGraphCall", FakeGraph)
    model = dp_unet(cond_predict_scale=True)
    acc = Accelerator(model, horizon=H, native_call=native(model), cache_dir=tmp_path, reduced=None)
    acc.cuda_graphs = True
    assert Variant("gemm+graph", "float32") in acc.candidates()
    assert Variant("native+graph", "float32") not in acc.candidates()
    cond = torch.randn(1, G)
    x = torch.randn(8, H, D)
    with torch.inference_mode():
        eager = acc.run(Variant("gemm", "float32"), x, torch.tensor(4), cond)
        graphed = [acc.run(Variant("gemm+graph", "float32"), x, torch.tensor(4), cond) for _ in range(3)]
        acc.run(Variant("gemm+graph", "float32"), x[:5], torch.tensor(4), cond)
    assert captured == [(8, H, D), (5, H, D)]
    for out in graphed:
        assert torch.equal(out, eager)
