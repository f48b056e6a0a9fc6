"""`planscope bench sampling --size dp|lerobot|shipped`: planscope against the plain eager loop.

One run prints, for one model size:
  - this machine's float32 and bfloat16 GEMM rates (square matrices of 2048, and 4096 without
    --quick; best of the readings before and after the sampling runs);
  - the calibration planscope made for each N (every variant's time per denoiser call);
  - for N in {1, 32, 128} x {DDIM 16, DDPM 100} x {float32, reduced precision}: the plain eager
    reference loop (app/bench/_sampling_reference.py: Conv1d modules, the diffusers scheduler's
    step, no chain, float32) and planscope (sample_chain keeping the whole chain, through
    planners.acceleration) run ALTERNATELY in the same run, best of the repeats, and the ratio;
  - the denoiser rate planscope reached (FLOPs of one call counted by torch's FlopCounterMode x
    steps / sampling time) as a fraction of the GEMM rate in the precision it used.
Sizes: dp = diffusion_policy's low-dimensional default (down_dims 256/512/1024, kernel 5, step
embedding 256, ~65 M parameters), lerobot = LeRobot's default (512/1024/2048, step embedding 128,
~250 M): random weights (speed does not depend on them; the fidelity check then compares random
networks' plans), loaded into planners/nets/unet1d.py — the module LeRobot and diffusion_policy
checkpoints load into — and into the reference, the same tensors. shipped = the shipped checkpoint
through DiffusionPlanner.plan (its U-Net is under the acceleration threshold: native path).
`--policy FILE.ckpt` (with --size dp or lerobot) also runs a diffusion_policy checkpoint loaded
through planscope's adapter (planners/diffusion_policy): DiffusionPolicyPlanner.plan, whose U-Net
samples through the same fast path, against the reference loop with the checkpoint's own weights
(DDIM 16; real weights, so its fidelity check compares the trained policy's plans).
"""
from __future__ import annotations

import os
import statistics
import time

import numpy as np

SIZES = {
    # down_dims, step embedding, action dim, global condition (obs features x obs steps)
    "dp": ((256, 512, 1024), 256, 2, 40),
    "lerobot": ((512, 1024, 2048), 128, 2, 132),
}
HORIZON = 16
NS = (1, 32, 128)
SOLVERS = (("ddim", 16), ("ddpm", 100))


def gemm_rate(dtype_name: str, size: int, seconds: float = 1.0) -> float:
    """GFLOP/s of size x size matrix products in `dtype_name`, best call over ~`seconds`."""
    import torch
    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    a @ b
    best, spent = float("inf"), 0.0
    while spent < seconds or best == float("inf"):
        start = time.perf_counter()
        a @ b
        took = time.perf_counter() - start
        best, spent = min(best, took), spent + took
    return 2 * size ** 3 / best / 1e9


def gemm_rates(quick: bool) -> dict:
    sizes = (2048,) if quick else (2048, 4096)
    return {d: max(gemm_rate(d, s, 0.5 if quick else 1.5) for s in sizes) for d in ("float32", "bfloat16")}


def build(size: str):
    """(reference module, planscope-side module, native_call, settings, global_cond_dim, label)."""
    import torch

    from app.bench._sampling_reference import ReferenceUnet1D
    from planners.nets.unet1d import ConditionalUnet1D
    from planners.sampling import SchedulerSettings
    dims, dsed, action_dim, cond_dim = SIZES[size]
    torch.manual_seed(0)
    reference = ReferenceUnet1D(action_dim, cond_dim, dims, 5, 8, dsed, "mish").eval()
    model = ConditionalUnet1D(action_dim, global_cond_dim=cond_dim, diffusion_step_embed_dim=dsed, down_dims=dims,
                              kernel_size=5, n_groups=8, cond_predict_scale=True).eval()
    model.load_state_dict(reference.state_dict(), strict=True, assign=True)   # the same tensors
    settings = SchedulerSettings(num_train_timesteps=100, beta_schedule="squaredcos_cap_v2",
                                 prediction_type="epsilon", clip_sample=True)
    return reference, model, lambda m, x, t, c: m(x, t, global_cond=c), settings, cond_dim


def flops_per_call(model, n: int, action_dim: int, cond_dim: int, horizon: int = HORIZON) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(torch.randn(n, horizon, action_dim), torch.tensor(10), torch.zeros(1, cond_dim))
    return float(counter.get_total_flops())


def run_size(size: str, quick: bool, policy: str | None = None) -> dict:
    import torch

    from app.bench._sampling_reference import sample_reference
    from planners.acceleration import PolicyAcceleration
    from planners.sampling import make_scheduler, sample_chain

    threads = torch.get_num_threads()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    gemm = gemm_rates(quick)
    print(f"machine: torch {torch.__version__}, {threads} threads, load average {load:.1f} (figures measured "
          f"under this load); GEMM {'2048' if quick else '2048/4096'}^2: float32 {gemm['float32']:.0f} GFLOP/s, "
          f"bfloat16 {gemm['bfloat16']:.0f} GFLOP/s", flush=True)
    reference, model, native_call, settings, cond_dim = build(size)
    action_dim = SIZES[size][2]
    params = sum(p.numel() for p in reference.parameters())
    print(f"model: {size} ({params / 1e6:.1f} M parameters, random weights), horizon {HORIZON}, action dim "
          f"{action_dim}, global condition {cond_dim}; planscope side: planners.nets.unet1d.ConditionalUnet1D "
          f"(the module diffusion_policy / LeRobot checkpoints load into), same tensors as the reference",
          flush=True)
    unit = lambda x: x.detach().float().cpu().numpy()   # noqa: E731  (normalised units: no normalizer here)
    accel = PolicyAcceleration(model, native_call=native_call, horizon=HORIZON, device="cpu", settings=settings,
                               solver="ddim", steps=16, action_range=np.full(action_dim, 2.0), to_actions=unit,
                               enabled=True)
    cond = torch.randn(1, cond_dim, generator=torch.Generator().manual_seed(1))
    results = {"size": size, "parameters": params, "threads": threads, "load_average": load, "gemm": gemm,
               "cells": [], "calibration": {}, "trimmed": []}
    for n in NS:
        start = time.perf_counter()
        c = accel.acc.calibration(n)
        results["calibration"][n] = {"seconds": c.seconds, "best": c.best.name, "best_float32": c.best_float32.name,
                                     "from_cache": c.from_cache}
        cost = "read from cache" if c.from_cache else f"measured in {time.perf_counter() - start:.1f} s"
        table = ", ".join(f"{k} {v * 1000:.0f}" for k, v in sorted(c.seconds.items(), key=lambda kv: kv[1]))
        print(f"calibration N={n} ({cost}), ms per call: {table}", flush=True)
    start = time.perf_counter()
    report = accel.check_fidelity() if accel.acc.reduced else None
    if report is not None:
        print(f"fidelity check ({'cached' if report.from_cache else f'{time.perf_counter() - start:.1f} s'}, "
              f"{report.solver} {report.steps}, {report.num_samples} plans per precision): "
              f"{'PASSED' if report.passed else 'FAILED'} - {report.reason}", flush=True)
    precisions = ["float32"] + ([accel.acc.reduced] if report is not None and report.passed else [])
    if report is not None and not report.passed:
        results["trimmed"].append(f"{accel.acc.reduced} rows: the fidelity check failed")
    flops = {n: flops_per_call(reference, n, action_dim, cond_dim) for n in NS}
    for solver, steps in SOLVERS:
        for n in NS:
            if quick and solver == "ddpm" and n == 128:
                results["trimmed"].append("DDPM 100 at N=128 (--quick)")
                continue
            noise = torch.randn((n, HORIZON, action_dim), generator=torch.Generator().manual_seed(0))
            for precision in precisions:
                model_fn = accel.acc.model_fn(cond, n, precision=precision)
                results["cells"].append(_cell(
                    lambda: sample_reference(reference, make_scheduler(settings, solver), cond.expand(n, -1), noise,
                                             steps, generator=torch.Generator().manual_seed(0)),
                    lambda: sample_chain(model_fn, settings, num_samples=n, horizon=HORIZON, action_dim=action_dim,
                                         seed=0, solver=solver, steps=steps, to_actions=unit),
                    solver, steps, n, precision, model_fn.variant.name, flops[n], gemm, quick))
    if policy:
        results["adapter"] = run_adapter(policy, quick, gemm)
    if results["trimmed"]:
        print("trimmed: " + "; ".join(results["trimmed"]))
    return results


def run_shipped(checkpoint: str, quick: bool) -> dict:
    """The shipped checkpoint through DiffusionPlanner.plan against the reference loop with its weights."""
    import torch

    from app.bench._sampling_reference import from_planscope, sample_reference
    from planners import load_planner
    from planners.acceleration import PolicyAcceleration
    from planners.sampling import make_scheduler
    planner = load_planner(checkpoint)
    cfg = planner.config
    reference = from_planscope(planner.model, cfg).eval()
    gemm = gemm_rates(quick)
    threads = torch.get_num_threads()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: torch {torch.__version__}, {threads} threads, load average {load:.1f} (figures measured under "
          f"this load); GEMM: float32 {gemm['float32']:.0f} GFLOP/s, bfloat16 {gemm['bfloat16']:.0f} GFLOP/s")
    print(f"model: shipped {checkpoint} ({planner.spec.num_parameters:,} parameters); planscope side: "
          f"DiffusionPlanner.plan (normalisation, chain kept); precision: {planner.spec.extra['precision']['reason']}")
    forced = PolicyAcceleration(planner.model, native_call=lambda m, x, t, c: m(x, t, c), horizon=cfg.horizon,
                                device="cpu", settings=cfg.scheduler_settings(), solver="ddim", steps=16,
                                action_range=np.ones(cfg.action_dim), to_actions=planner._to_actions, enabled=True)
    c = forced.acc.calibration(128)
    table = ", ".join(f"{k} {v * 1000:.1f}" for k, v in sorted(c.seconds.items(), key=lambda kv: kv[1]))
    print(f"for context, what the fast path would measure at N=128 (ms per call): {table}")
    obs = np.array([0.45, 0.0, 0.30, 1.0, 0.52, 0.02, 0.0, 0.0, -1.0], dtype=np.float32)[:cfg.obs_dim]
    cond = planner._obs_tensor(obs)
    results = {"size": "shipped", "parameters": planner.spec.num_parameters, "threads": threads,
               "load_average": load, "gemm": gemm, "cells": [], "trimmed": ["reduced precision: not used at this size"]}
    for solver, steps in SOLVERS:
        for n in NS:
            noise = torch.randn((n, cfg.horizon, cfg.action_dim), generator=torch.Generator().manual_seed(0))
            flops = flops_per_call(reference, n, cfg.action_dim, cfg.obs_dim, cfg.horizon)
            variant = planner.acceleration.model_fn(cond, n).variant.name
            results["cells"].append(_cell(
                lambda: sample_reference(reference, make_scheduler(cfg.scheduler_settings(), solver), cond.expand(n, -1),
                                         noise, steps, generator=torch.Generator().manual_seed(0)),
                lambda: planner.plan(obs, n, seed=0, solver=solver, steps=steps),
                solver, steps, n, "float32", variant, flops, gemm, quick))
    return results


def run_adapter(path: str, quick: bool, gemm: dict) -> dict:
    """A diffusion_policy checkpoint through planners.loading.load_planner vs the reference loop."""
    import torch

    from app.bench._sampling_reference import ReferenceUnet1D, sample_reference
    from planners.loading import load_planner
    from planners.sampling import make_scheduler
    start = time.perf_counter()
    planner = load_planner(path)
    unet, u = planner.module.model, planner.config.unet
    print(f"adapter: {path} loaded through planners.loading in {time.perf_counter() - start:.1f} s "
          f"({type(planner).__name__}, {planner.spec.num_parameters / 1e6:.1f} M parameters)", flush=True)
    if u is None or u.local_cond_dim is not None or not u.cond_predict_scale:
        print("adapter: skipped (the reference loop covers global-condition FiLM-scale U-Nets)")
        return {"path": path, "skipped": True}
    reference = ReferenceUnet1D(u.input_dim, u.global_cond_dim or 0, u.down_dims, u.kernel_size, u.n_groups,
                                u.diffusion_step_embed_dim, "mish").eval()
    reference.load_state_dict(unet.state_dict(), strict=True, assign=True)
    rng = np.random.default_rng(0)
    obs = {f.name: (rng.normal(size=(planner.spec.n_obs_steps, *f.shape)) * 40 + 200).astype(np.float32)
           for f in planner.spec.features}
    cond, _ = planner.module.condition(planner._tensors(obs))
    horizon, settings = planner.config.sample_horizon, planner.config.scheduler
    out = {"path": path, "parameters": planner.spec.num_parameters, "cells": []}
    for n in NS:
        noise = torch.randn((n, horizon, u.input_dim), generator=torch.Generator().manual_seed(0))
        planner.plan(obs, n, seed=0, solver="ddim", steps=16)     # calibration / fidelity on first need
        variant = planner.acceleration.model_fn(cond, n).variant
        flops = flops_per_call(reference, n, u.input_dim, u.global_cond_dim or 0, horizon)
        out["cells"].append(_cell(
            lambda: sample_reference(reference, make_scheduler(settings, "ddim"), cond.expand(n, -1), noise, 16),
            lambda: planner.plan(obs, n, seed=0, solver="ddim", steps=16),
            "ddim", 16, n, variant.precision, variant.name, flops, gemm, quick))
    print(f"adapter precision: {planner.spec.extra['precision']['reason']}")
    out["precision"] = planner.spec.extra["precision"]
    return out


def _cell(ref_run, own_run, solver, steps, n, precision, variant, flops, gemm, quick) -> dict:
    single = (flops * steps / 1e9) / (gemm["float32"] * 0.25)        # a rough guess of one run's seconds
    repeats = 1 if quick or single > 20 else (2 if single > 3 else 3)
    if single < 3:   # first calls pay one-off costs (oneDNN primitives, allocator): not the loop's speed
        ref_run()
        own_run()
    ref_times, own_times = [], []
    for _ in range(repeats):   # alternate: a busy moment on the shared machine hits both sides
        start = time.perf_counter()
        ref_run()
        ref_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        own_run()
        own_times.append(time.perf_counter() - start)
    ref, own = min(ref_times), min(own_times)
    rate = flops * steps / own / 1e9
    limit = gemm["bfloat16" if precision == "bfloat16" else "float32"]
    print(f"{solver.upper()} {steps:3d}  N={n:3d}  {precision:8s} reference {ref * 1000:8.0f} ms   planscope "
          f"{own * 1000:8.0f} ms ({variant}, chain kept)   {ref / own:4.2f}x   denoiser "
          f"{rate:5.0f} GFLOP/s = {rate / limit:.2f} of the {precision if precision != 'float16' else 'float32'} "
          f"GEMM rate   [best of {repeats}, median ref {statistics.median(ref_times) * 1000:.0f} / "
          f"planscope {statistics.median(own_times) * 1000:.0f}]", flush=True)
    return {"solver": solver, "steps": steps, "n": n, "precision": precision, "variant": variant,
            "reference_ms": ref * 1000, "planscope_ms": own * 1000, "ratio": ref / own, "gflops": rate,
            "fraction_of_gemm": rate / limit, "repeats": repeats}
