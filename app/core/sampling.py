"""`planscope sample`'s engine: reset a scene, plan N samples for its observation, and label,
check and analyse them through app/core/analysis.py (the one analysis path); print the summary
or write it as a one-step recording. Benchmarks (app/bench/quality.py, ui.py) sample the same way.

Shapes: plans [N, H, D] (x, y, z metres, gripper), chain [S+1, N, H, D].
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from app.core.analysis import analyse


def sample_in_scene(planner: Any, scene_name: str, seed: int, num: int, *, solver: str | None = None,
                    steps: int | None = None, temperature: float = 1.0, scene: Any = None,
                    keep_scene: bool = False) -> dict:
    """Reset `scene_name` with `seed`, plan `num` samples, label, check and analyse them
    (`analyse`, with the scene expert's plan per mode as the averaging score's references).

    Returns {"batch": PlanBatch, "result": SampleResult, "labels": [N] str, "feasible": [N] bool,
    "summary": JSON-ready dict, "obs": the observation, "scene": the scene when keep_scene (the
    caller closes it)}."""
    from planners.modes import preload
    from planners.protocol import check_compatible
    from scenes import make_expert, make_scene
    from scenes.api import flat_obs

    preload()
    own_scene = scene is None
    scene = make_scene(scene_name) if own_scene else scene
    try:
        check_compatible(planner.spec, scene.name, tuple(scene.obs_spec))
        obs = scene.reset(seed)
        kwargs = {k: v for k, v in (("solver", solver), ("steps", steps)) if v is not None}
        batch = planner.plan(flat_obs(obs, scene.obs_spec), num, seed=seed, temperature=temperature,
                             **kwargs)
        expert = make_expert(scene, seed=seed)
        refs = {mode: expert.plan_for(obs, mode) for mode in scene.modes}
        data_shares = planner.spec.extra.get("data_mode_shares") or None
        result = analyse(batch, scene, data_shares, chain_labels=False, mode_refs=refs)
    except BaseException:
        if own_scene:
            scene.close()
        raise
    labels = result.labels if result.labels is not None else [""] * num
    feasible = result.feasibility.feasible
    t = result.timings_ms
    summary = {"policy": planner.spec.name, "kind": planner.spec.kind, "scene": scene.name,
               "seed": seed, "num_samples": num, "solver": batch.solver, "steps": batch.num_steps,
               "temperature": temperature, "cancelled": batch.cancelled,
               "nonfinite_values": batch.nonfinite_count, "feasible_share": float(feasible.mean()),
               **result.analysis.summary(),
               "timings_ms": {"plan": round(batch.wall_ms, 2),
                              "per_step_mean": round(float(batch.step_ms.mean()), 3)
                              if batch.has_chain else 0.0,
                              "analysis": round(t["analysis"], 2), "label": round(t["label"], 2),
                              "check": round(t["check"], 2)}}
    out = {"batch": batch, "result": result, "labels": labels, "feasible": feasible,
           "summary": summary, "obs": obs, "scene": None}
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


def write_sample_recording(path: str, planner: Any, result: dict) -> None:
    """`planscope sample --out`: a one-step recording of `sample_in_scene`'s result (kept scene):
    the observation, the plans with their chain, labels and feasibility."""
    from recordings.rollout import ReplanRecord, Rollout
    from recordings.writer import RecordingWriter

    scene, batch = result["scene"], result["batch"]
    if os.path.dirname(os.path.abspath(path)) and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        from planners.protocol import PlannerError
        raise PlannerError(f"cannot write {path}: folder does not exist")
    obs = {k: np.asarray(v)[None] for k, v in result["obs"].items() if k != "image"}
    plan0 = batch.plans[0]
    replan = ReplanRecord.from_plan_batch(0, batch, executed_index=0, mode_labels=result["labels"],
                                          feasible=result["feasible"], executed_chunk=plan0)
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
