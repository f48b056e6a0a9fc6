"""`planscope bench sampling --size dp|lerobot|shipped`: planscope against the plain eager loop.

One run prints, for one model size:
  - this machine's float32 and bfloat16 GEMM rates (square matrices of 2048, and 4096 without
    --quick; best of the readings before and after the sampling runs);
  - the calibration planscope made for each N (every variant's time per denoiser call);
  - the memory read rate and what it means for N=1 (every step streams all weights once);
  - for N in {1, 32, 128} x {DDIM 16, DDPM 100} x {float32, reduced precision}: the plain eager
    reference loop (app/bench/_sampling_reference.py: Conv1d modules, the diffusers scheduler's
    step, no chain, float32) and planscope (sample_chain keeping the whole chain, through
    planners.acceleration) run ALTERNATELY in the same run (reference, float32, reduced; 3 rounds,
    1 with --quick): the median of the per-round ratios with their min-max spread, and the same
    ratio from process CPU time (steadier while other processes load the machine);
  - the denoiser rate planscope reached (FLOPs of one call counted by torch's FlopCounterMode x
    steps / sampling time) as a fraction of the GEMM rate in the precision it used and of the
    bfloat16 GEMM rate (the machine's limit).
PLANSCOPE_BENCH_CELLS="ddim16:128,ddpm100:1" runs only those cells (a focused re-measurement).
Sizes: dp = diffusion_policy's low-dimensional default (down_dims 256/512/1024, kernel 5, step
embedding 256, ~65 M parameters), lerobot = LeRobot's default (512/1024/2048, step embedding 128,
~250 M): random weights (speed does not depend on them; the fidelity check then compares random
networks' plans), loaded into planners/nets/unet1d.py — the module LeRobot and diffusion_policy
checkpoints load into — and into the reference, the same tensors. shipped = the shipped checkpoint
through DiffusionPlanner.plan (its U-Net is under the calibration threshold: the traced conv2d
executor by rule, planners/acceleration/policy_acceleration.SMALL_MODEL) against
the reference with planscope's own activation (SiLU), plus a per-call table beside
diffusion_policy's code at the same size (Mish), which the first ">= 1.7x" figure was measured against.
`--policy FILE.ckpt` (with --size dp or lerobot) also runs a diffusion_policy checkpoint loaded
through planscope's adapter (planners/diffusion_policy): DiffusionPolicyPlanner.plan, whose U-Net
samples through the same fast path, against the reference loop with the checkpoint's own weights
(DDIM 16; real weights, so its fidelity check compares the trained policy's plans).
"""
from __future__ import annotations

import os
import statistics
import time
from unittest import mock

import numpy as np

SIZES = {
    # down_dims, step embedding, action dim, global condition (obs features x obs steps)
    "dp": ((256, 512, 1024), 256, 2, 40),
    "lerobot": ((512, 1024, 2048), 128, 2, 132),
}
HORIZON = 16
ROUNDS_BUDGET_S = 900      # a cell gets 3 alternating rounds unless they would take longer than this
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
    _print_floor(reference, gemm, quick, results)
    for solver, steps in SOLVERS:
        for n in NS:
            if not _wanted(solver, steps, n, quick, results):
                continue
            noise = torch.randn((n, HORIZON, action_dim), generator=torch.Generator().manual_seed(0))
            owns = []
            for precision in precisions:
                model_fn = accel.acc.model_fn(cond, n, precision=precision)
                owns.append((precision, model_fn.variant.name,
                             lambda model_fn=model_fn: sample_chain(
                                 model_fn, settings, num_samples=n, horizon=HORIZON, action_dim=action_dim, seed=0,
                                 solver=solver, steps=steps, to_actions=unit)))
            per_call = results["calibration"][n]["seconds"].get("native float32")
            results["cells"] += _cell(
                lambda: sample_reference(reference, make_scheduler(settings, solver), cond.expand(n, -1), noise,
                                         steps, generator=torch.Generator().manual_seed(0)),
                owns, solver, steps, n, flops[n], gemm, quick,
                estimate_s=None if per_call is None else per_call * steps * n / max(n, cal_bucket(n)))
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
    from planners.acceleration.policy_acceleration import SMALL_REDUCED_ROWS
    from planners.sampling import make_scheduler
    planner = load_planner(checkpoint)
    with mock.patch.dict(os.environ, {"PLANSCOPE_PRECISION": "float32"}):
        planner32 = load_planner(checkpoint)          # a second copy held to float32, for its column
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
               "load_average": load, "gemm": gemm, "cells": [], "trimmed": []}
    accel = planner.acceleration
    if accel.small_reduced is None:
        results["trimmed"].append("reduced precision: the small-model rule has none on this CPU (no AMX bfloat16)")
    else:
        start = time.perf_counter()
        report = accel.check_fidelity()
        print(f"fidelity check ({'cached' if report.from_cache else f'{time.perf_counter() - start:.1f} s'}, "
              f"{report.solver} {report.steps}, {report.num_samples} plans per precision): "
              f"{'PASSED' if report.passed else 'FAILED'} - {report.reason}", flush=True)
        results["fidelity"] = {"passed": report.passed, "deviation": report.deviation, "reason": report.reason}
    for solver, steps in SOLVERS:
        for n in NS:
            if not _wanted(solver, steps, n, quick, results):
                continue
            noise = torch.randn((n, cfg.horizon, cfg.action_dim), generator=torch.Generator().manual_seed(0))
            flops = flops_per_call(reference, n, cfg.action_dim, cfg.obs_dim, cfg.horizon)
            # float32 (a copy loaded with PLANSCOPE_PRECISION=float32), and what plan() runs by default
            # when that differs (the rule's bfloat16 convolutions at this N, after the fidelity check)
            owns = [("float32", planner32.acceleration.model_fn(cond, n).variant.name,
                     lambda: planner32.plan(obs, n, seed=0, solver=solver, steps=steps))]
            chosen = accel.model_fn(cond, n).variant
            if chosen.precision != "float32":
                owns.append((chosen.precision, chosen.name,
                             lambda: planner.plan(obs, n, seed=0, solver=solver, steps=steps)))
            results["cells"] += _cell(
                lambda: sample_reference(reference, make_scheduler(cfg.scheduler_settings(), solver), cond.expand(n, -1),
                                         noise, steps, generator=torch.Generator().manual_seed(0)),
                owns, solver, steps, n, flops, gemm, quick)
    # the shipped model's first figure (>= 1.7x) was measured against diffusion_policy's own code at
    # this size, whose activation is Mish: per denoiser call, that reference beside the honest one
    mish = from_planscope(planner.model, cfg, activation="mish").eval()
    calls = {"reference (SiLU, planscope's architecture)": lambda x, t, c: reference(x, t, c),
             "diffusion_policy's code (Mish) at this size": lambda x, t, c: mish(x, t, c),
             "planscope (its own forward)": lambda x, t, c: planner.model(x, t.expand(x.shape[0]),
                                                                          c.expand(x.shape[0], -1))}
    # what planner.plan runs at this size (policy_acceleration's small-model rule: SMALL_MODEL, and
    # SMALL_REDUCED from SMALL_REDUCED_ROWS samples per thread), FiLM computed in the call here
    # (sampling computes every step's FiLM before the loop: a little faster still)
    for small in (accel.small_variant or forced.acc.jit_of(cal_variant("conv2d")), accel.small_reduced):
        if small is not None:
            fast = accel.acc.fast(small.kernel, small.precision)
            calls[f"planscope ({small.name})"] = lambda x, t, c, fast=fast: fast(x, t, c)
    if accel.small_reduced is not None:
        print(f"plan() runs {accel.small_variant.name} below {SMALL_REDUCED_ROWS} samples per thread "
              f"({SMALL_REDUCED_ROWS * threads} here), then {accel.small_reduced.name} when the fidelity check passed")
    results["per_call_ms"] = per_call_table(calls, cond, cfg.horizon, cfg.action_dim, rounds=3 if quick else 9)
    return results


def per_call_table(calls: dict, cond, horizon: int, action_dim: int, rounds: int) -> dict:
    """Median ms of one denoiser call at each N for each entry of `calls` (name -> f(x, t, cond)),
    the entries alternating within each round; printed with each one's ratio to the first."""
    import torch
    out = {}
    with torch.inference_mode():
        for n in NS:
            x, t = torch.randn(n, horizon, action_dim), torch.tensor(50)
            times = {name: [] for name in calls}
            for fn in calls.values():
                fn(x, t, cond)
            for _ in range(rounds):
                for name, fn in calls.items():
                    times[name].append(_timed(lambda fn=fn: fn(x, t, cond)))
            med = {name: statistics.median(v) * 1000 for name, v in times.items()}
            first = next(iter(med.values()))
            out[n] = med
            print(f"per denoiser call N={n:3d} (median of {rounds}): " + ";  ".join(
                f"{name} {ms:.2f} ms ({first / ms:.2f}x)" for name, ms in med.items()), flush=True)
    return out


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
        out["cells"] += _cell(
            lambda: sample_reference(reference, make_scheduler(settings, "ddim"), cond.expand(n, -1), noise, 16),
            [(variant.precision, variant.name, lambda: planner.plan(obs, n, seed=0, solver="ddim", steps=16))],
            "ddim", 16, n, flops, gemm, quick)
    print(f"adapter precision: {planner.spec.extra['precision']['reason']}")
    out["precision"] = planner.spec.extra["precision"]
    return out


def _wanted(solver: str, steps: int, n: int, quick: bool, results: dict) -> bool:
    """Whether to run this cell: --quick trims DDPM 100 at N=128; PLANSCOPE_BENCH_CELLS (e.g.
    "ddim16:128,ddpm100:1") picks cells for a focused re-measurement."""
    picked = os.environ.get("PLANSCOPE_BENCH_CELLS", "").strip()
    if picked:
        keep = f"{solver}{steps}:{n}" in {c.strip().lower() for c in picked.split(",")}
        if not keep:
            results["trimmed"].append(f"{solver.upper()} {steps} N={n} (PLANSCOPE_BENCH_CELLS)")
        return keep
    if quick and solver == "ddpm" and n == max(NS):
        results["trimmed"].append(f"DDPM {steps} at N={n} (--quick)")
        return False
    return True


def memory_read_rate(megabytes: int = 256) -> float:
    """GB/s of summing a float32 tensor of `megabytes` (larger than any cache): how fast weights stream."""
    import torch
    a = torch.ones(megabytes * 2 ** 18)
    a.sum()
    best = min(_timed(a.sum) for _ in range(5))
    return a.numel() * 4 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _print_floor(reference, gemm: dict, quick: bool, results: dict) -> None:
    """At N=1 a step reads every weight once: the memory rate, not the GEMM rate, bounds it."""
    weights = sum(p.numel() for p in reference.parameters()) * 4
    rate = memory_read_rate(128 if quick else 256)
    results["memory_gb_s"] = rate
    print(f"memory read rate {rate:.1f} GB/s: one denoiser call streams {weights / 1e6:.0f} MB of float32 weights, "
          f"so N=1 cannot take under ~{weights / rate / 1e6:.1f} ms per step in float32 "
          f"(~{weights / 2 / rate / 1e6:.1f} ms in bfloat16), whatever the kernel", flush=True)


def cal_variant(kernel: str, precision: str = "float32"):
    from planners.acceleration.calibration import Variant
    return Variant(kernel, precision)


def cal_bucket(n: int) -> int:
    from planners.acceleration.calibration import batch_bucket
    return batch_bucket(n)


def _cell(ref_run, owns, solver, steps, n, flops, gemm, quick, estimate_s: float | None = None) -> list[dict]:
    """Time the reference and each of planscope's runs `owns` [(precision, variant name, run)]
    ALTERNATELY (ref, own 1, own 2, ref, ...): 3 rounds (1 with --quick, or when 3 rounds would
    take over ROUNDS_BUDGET_S by the reference's calibrated time `estimate_s`: a 250 M model's
    DDPM 100 at N=128); each ratio is the median of the per-round ratios ref_i / own_i with their
    min..max, plus the same from process CPU time (steadier on a shared machine: other processes'
    load does not count)."""
    single = estimate_s or (flops * steps / 1e9) / (gemm["float32"] * 0.25)   # one reference run, seconds
    rounds = 1 if quick or single * (1 + len(owns)) * 3 > ROUNDS_BUDGET_S else 3
    if single < 3:   # first calls pay one-off costs (oneDNN primitives, allocator): not the loop's speed
        ref_run()
        for _, _, run in owns:
            run()
    runs = [ref_run] + [run for _, _, run in owns]
    wall = [[] for _ in runs]
    cpu = [[] for _ in runs]
    for _ in range(rounds):   # alternate: a busy moment on the shared machine hits every side
        for i, run in enumerate(runs):
            w0, c0 = time.perf_counter(), time.process_time()
            run()
            wall[i].append(time.perf_counter() - w0)
            cpu[i].append(time.process_time() - c0)
    ref = statistics.median(wall[0])
    rows = []
    for i, (precision, variant, _) in enumerate(owns, start=1):
        ratios = [r / o for r, o in zip(wall[0], wall[i])]
        cpu_ratio = statistics.median([r / o for r, o in zip(cpu[0], cpu[i])])
        own = statistics.median(wall[i])
        ratio = statistics.median(ratios)
        rate = flops * steps / own / 1e9
        limit = gemm["bfloat16" if precision == "bfloat16" else "float32"]
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}, " if rounds > 1 else \
            ("" if quick else f"one round: ~{single:.0f} s per reference run, ")
        print(f"{solver.upper()} {steps:3d}  N={n:3d}  {precision:8s} reference {ref * 1000:8.0f} ms   planscope "
              f"{own * 1000:8.0f} ms ({variant}, chain kept)   {ratio:4.2f}x [{spread}median of {rounds}; CPU time "
              f"{cpu_ratio:.2f}x]   denoiser {rate:5.0f} GFLOP/s = "
              + (f"{rate / limit:.2f} of the float32 GEMM rate, " if precision != "bfloat16" else "")
              + f"{rate / gemm['bfloat16']:.2f} of the bfloat16 GEMM rate", flush=True)
        rows.append({"solver": solver, "steps": steps, "n": n, "precision": precision, "variant": variant,
                     "reference_ms": ref * 1000, "planscope_ms": own * 1000, "ratio": ratio,
                     "ratio_min": min(ratios), "ratio_max": max(ratios), "cpu_ratio": cpu_ratio, "gflops": rate,
                     "fraction_of_gemm": rate / limit, "fraction_of_bf16_gemm": rate / gemm["bfloat16"],
                     "repeats": rounds})
    return rows
