"""`planscope sample --policy DIR|module:attr|probe --scene NAME --seed S --num N [--solver ddpm|ddim|dpmpp]
[--steps K] [--temperature T] [--out FILE.h5] [--json]`

Resets the scene with the seed, samples N plans for its first observation, labels each plan's
mode (scene.label_mode), checks feasibility (scene.check_plan) and prints the mode summary:
clusters, shares, entropy, coverage against the training data's modes, commit steps, averaging
score, verdict and timings (or JSON with --json). --out writes the plans, chain and labels as a
one-step recording. `--policy probe` runs the teaching probe (no scene needed).
"""
from __future__ import annotations

import argparse
import json
import sys
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sample", help="sample N plans for one scene observation and analyse their modes",
                              description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", required=True, metavar="DIR|module:attr|probe")
    p.add_argument("--scene", default="mug_grasp")
    p.add_argument("--seed", type=int, default=None,
                   help="scene reset seed, also seeds the sampler (default 0; 7 for the probe, the seed's example)")
    p.add_argument("--num", type=int, default=128, metavar="N", help="plans to sample (default 128)")
    p.add_argument("--solver", default=None, help="ddpm | ddim | dpmpp (default: the policy's)")
    p.add_argument("--steps", type=int, default=None, help="solver steps (default: the policy's)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--device", default="cpu", help="cpu | cuda")
    p.add_argument("--chain-dtype", default="float32", choices=("float32", "float16"))
    p.add_argument("--out", default=None, metavar="FILE.h5", help="write plans + chain as a recording")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from planners import load_planner
    from planners.protocol import SOLVERS, PlannerError

    if args.solver is not None and args.solver not in SOLVERS:
        raise PlannerError(f"unknown solver {args.solver!r} (allowed: {', '.join(SOLVERS)})")
    if args.num < 1:
        raise PlannerError(f"--num must be >= 1, got {args.num}")
    planner = load_planner(args.policy, device=args.device, chain_dtype=args.chain_dtype)
    if planner.spec.kind == "probe":
        from planners.probe import SEED
        args.seed = SEED if args.seed is None else args.seed
        return _run_probe(planner, args)
    args.seed = 0 if args.seed is None else args.seed
    result = sample_in_scene(planner, args.scene, args.seed, args.num, solver=args.solver, steps=args.steps,
                             temperature=args.temperature, keep_scene=bool(args.out))
    if args.out:
        _write(args.out, planner, result)
        result["summary"]["out"] = args.out
    result["scene"].close() if result.get("scene") is not None else None
    if args.json:
        print(json.dumps(result["summary"], indent=2))
    else:
        print(format_summary(result["summary"]))
    return 0


def sample_in_scene(planner, scene_name: str, seed: int, num: int, *, solver=None, steps=None,
                    temperature: float = 1.0, scene=None, keep_scene: bool = False) -> dict:
    """Reset `scene_name` with `seed`, plan `num` samples, label, check and analyse them.

    Returns {"batch": PlanBatch, "analysis": ModeAnalysis, "labels": [N] str, "feasible": [N] bool,
    "summary": JSON-ready dict, "scene": the scene when keep_scene (caller closes it)}."""
    import numpy as np

    from planners.modes import analyze_modes, preload
    from planners.protocol import check_compatible
    from scenes import make_expert, make_scene
    from scenes.api import flat_obs

    preload()
    own_scene = scene is None
    scene = make_scene(scene_name) if own_scene else scene
    try:
        check_compatible(planner.spec, scene.name, tuple(scene.obs_spec))
        obs = scene.reset(seed)
        flat = flat_obs(obs, scene.obs_spec)
        kwargs = {k: v for k, v in (("solver", solver), ("steps", steps)) if v is not None}
        batch = planner.plan(flat, num, seed=seed, temperature=temperature, **kwargs)
        t0 = time.perf_counter()
        finite = np.isfinite(batch.plans).reshape(num, -1).all(axis=1)
        labels = [scene.label_mode(p) if ok else "" for p, ok in zip(batch.plans, finite)]
        label_ms = (time.perf_counter() - t0) * 1000.0
        t0 = time.perf_counter()
        feasible = np.zeros(num, dtype=bool)
        checks = scene.check_plans(batch.plans[finite]) if hasattr(scene, "check_plans") else \
            [scene.check_plan(p) for p in batch.plans[finite]]
        feasible[np.flatnonzero(finite)] = [c.feasible for c in checks]
        check_ms = (time.perf_counter() - t0) * 1000.0
        expert = make_expert(scene, seed=seed)
        refs = {m: expert.plan_for(obs, m) for m in scene.modes}
        data_shares = planner.spec.extra.get("data_mode_shares") or {}
        analysis = analyze_modes(batch.plans, x0_estimates=batch.x0_estimates if batch.has_chain else None,
                                 labels=labels, data_shares=data_shares or None, mode_refs=refs, seed=seed)
    except BaseException:
        if own_scene:
            scene.close()
        raise
    summary = {"policy": planner.spec.name, "kind": planner.spec.kind, "scene": scene.name, "seed": seed,
               "num_samples": num, "solver": batch.solver, "steps": batch.num_steps,
               "temperature": temperature, "cancelled": batch.cancelled,
               "nonfinite_values": batch.nonfinite_count, "feasible_share": float(feasible.mean()),
               **analysis.summary(),
               "timings_ms": {"plan": round(batch.wall_ms, 2), "per_step_mean": round(float(batch.step_ms.mean()), 3)
                              if batch.has_chain else 0.0, "analysis": round(analysis.elapsed_ms, 2),
                              "label": round(label_ms, 2), "check": round(check_ms, 2)}}
    out = {"batch": batch, "analysis": analysis, "labels": labels, "feasible": feasible, "summary": summary,
           "obs": obs, "scene": None}
    if own_scene and not keep_scene:
        scene.close()
    else:
        out["scene"] = scene
    return out


def format_summary(s: dict) -> str:
    """Human-readable lines for a sample summary."""
    lines = [f"{s['policy']} ({s['kind']}) on {s['scene']} seed {s['seed']}: {s['num_samples']} plans, "
             f"solver {s['solver']}, {s['steps']} steps, temperature {s['temperature']}"]
    if s["nonfinite_samples"]:
        lines.append(f"  WARNING: {s['nonfinite_samples']} plans hold NaN/inf ({s['nonfinite_values']} values)")
    lines.append(f"  clusters: {len(s['clusters'])}  " + "  ".join(
        f"#{c['index']} {c['share']:.0%}{' ' + c['label'] if c['label'] else ''}" for c in s["clusters"]))
    if s["label_shares"]:
        lines.append("  modes (scene labels): " + ", ".join(
            f"{k or '(none)'} {v:.0%}" + (f" (data {s['data_shares'][k]:.0%})" if k in s["data_shares"] else "")
            for k, v in s["label_shares"].items()))
    lines.append(f"  entropy H/log M: {s['entropy']:.2f} (M={s['entropy_modes']})"
                 + (f"   coverage: {s['coverage']:.0%}" if s["coverage"] is not None else ""))
    if s["commit_step"]:
        c = s["commit_step"]
        lines.append(f"  commit step: median {c['median']:.1f} (min {c['min']}, max {c['max']}) of {s['steps']}")
    if s["averaging_score"] is not None:
        lines.append(f"  averaging score: {s['averaging_score']:.2f}")
    lines.append(f"  feasible: {s['feasible_share']:.0%}")
    lines.append(f"  verdict: {s['verdict']} — {s['reason']}")
    t = s["timings_ms"]
    lines.append(f"  timings: plan {t['plan']:.1f} ms ({t['per_step_mean']:.2f} ms/step), analysis "
                 f"{t['analysis']:.1f} ms, labels {t['label']:.1f} ms, checks {t['check']:.1f} ms")
    return "\n".join(lines)


def _run_probe(planner, args: argparse.Namespace) -> int:
    from planners.probe import probe_report
    batch = planner.plan(None, args.num, seed=args.seed)
    if args.json:
        print(json.dumps({"policy": "probe", "seed": args.seed, "num_samples": batch.num_samples,
                          "steps": batch.num_steps,
                          "endpoint_dist": batch.meta["endpoint_dist"].round(4).tolist()}, indent=2))
    else:
        print(probe_report(args.seed))
    return 0


def _write(path: str, planner, result: dict) -> None:
    """One-step recording: the observation, the plans with chain, labels and feasibility."""
    import os

    import numpy as np

    from recordings.rollout import ReplanRecord, Rollout
    from recordings.writer import RecordingWriter

    scene, batch = result["scene"], result["batch"]
    if os.path.dirname(os.path.abspath(path)) and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        from planners.protocol import PlannerError
        raise PlannerError(f"cannot write {path}: folder does not exist")
    obs = {k: np.asarray(v)[None] for k, v in result["obs"].items() if k != "image"}
    plan0 = batch.plans[0]
    chain = batch.chain.astype(np.float32) if batch.has_chain else None
    x0 = batch.x0_estimates.astype(np.float32) if batch.has_chain else None
    replan = ReplanRecord(step=0, samples=batch.plans, executed_index=0, mode_labels=result["labels"],
                          feasible=result["feasible"], latency_ms=batch.wall_ms, executed_chunk=plan0,
                          chain=chain, x0_estimates=x0)
    rollout = Rollout(obs=obs, actions=plan0[:1], states=scene.get_state()[None], rewards=np.zeros(1),
                      dones=np.zeros(1, dtype=bool), replans=[replan], seed=result["summary"]["seed"],
                      policy=planner.spec.name, mode=result["labels"][0],
                      attrs={"sample_summary": {k: v for k, v in result["summary"].items() if k != "clusters"}})
    env_args = {"env_name": scene.name, "type": "planscope", "env_kwargs": {},
                "obs_spec": [list(k) for k in scene.obs_spec]}
    with RecordingWriter(path, env_args=env_args, config={"command": "sample", **{
            k: result["summary"][k] for k in ("policy", "solver", "steps", "temperature", "num_samples")}},
            seed_panel=[result["summary"]["seed"]], kind="eval") as writer:
        writer.write_rollout(rollout)
