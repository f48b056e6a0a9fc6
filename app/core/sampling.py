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
from app.core.scene_features import policy_observation, scene_feature_map


def sample_in_scene(planner: Any, scene_name: str, seed: int, num: int, *, solver: str | None = None,
                    steps: int | None = None, temperature: float = 1.0, scene: Any = None,
                    keep_scene: bool = False, options: dict | None = None,
                    reference: Any = None) -> dict:
    """Reset `scene_name` with `seed`, plan `num` samples, label, check and analyse them
    (`analyse`, with the scene expert's plan per mode as the averaging score's references).
    options: scene options (rows=2), checked against the ones the policy's data was collected
    with; reference: a planners.mode_reference.DataReference to judge against (default: the
    checkpoint's training data); the observation is checked against the training range.

    Returns {"batch": PlanBatch, "result": SampleResult, "labels": [N] str, "feasible": [N] bool,
    "summary": JSON-ready dict, "obs": the observation, "scene": the scene when keep_scene (the
    caller closes it)}."""
    from planners.checkpoint import check_scene_options
    from planners.mode_reference import reference_from_spec, training_range
    from planners.modes import preload
    from planners.protocol import run_planner
    from scenes import make_expert, make_scene
    from scenes.registry import task_option_defaults

    preload()
    options = dict(options or {})
    own_scene = scene is None
    scene = make_scene(scene_name, **options) if own_scene else scene
    try:
        # the inspector's and eval's mapping: LeRobot / diffusion_policy names fed from the scene's
        # keys and cameras, or one PlannerError line naming both sides
        feature_map = scene_feature_map(planner.spec, scene)
        check_scene_options(planner.spec, scene.name, options, task_option_defaults(scene.name))
        obs = scene.reset(seed)
        kwargs = {k: v for k, v in (("solver", solver), ("steps", steps)) if v is not None}
        batch = run_planner(planner, policy_observation(planner.spec, feature_map, [obs], scene), num, seed=seed,
                            temperature=temperature, **kwargs)
        expert = make_expert(scene, seed=seed)
        refs = {mode: expert.plan_for(obs, mode, horizon=batch.plans.shape[1]) for mode in scene.modes}
        reference = reference if reference is not None else reference_from_spec(planner.spec)
        result = analyse(batch, scene, reference, chain_labels=False, mode_refs=refs,
                         obs=_flat_for_range(obs, planner.spec, scene), obs_range=training_range(planner.spec))
    except BaseException:
        if own_scene:
            scene.close()
        raise
    labels = result.labels if result.labels is not None else [""] * num
    feasible = result.feasibility.feasible
    t = result.timings_ms
    summary = {"policy": planner.spec.name, "kind": planner.spec.kind, "scene": scene.name,
               "scene_options": options, "seed": seed, "num_samples": num, "solver": batch.solver, "steps": batch.num_steps,
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


def _flat_for_range(obs: dict, spec: Any, scene: Any) -> np.ndarray | None:
    """The observation as the policy's flat vector [F] (its training range's order), or None when
    it cannot be built (image observations)."""
    from scenes.api import flat_obs
    try:
        return flat_obs(obs, tuple(getattr(spec, "obs_keys", ()) or ()) or scene.obs_spec)
    except (KeyError, ValueError, TypeError):
        return None


def format_summary(s: dict) -> str:
    """Human-readable lines for a sample summary: every mode (0 plans too) with its share, count,
    95 % Wilson interval and the data's share, then the reading's other numbers and the verdict."""
    options = "".join(f" {k}={v}" for k, v in (s.get("scene_options") or {}).items())
    lines = [f"{s['policy']} ({s['kind']}) on {s['scene']}{options} seed {s['seed']}: {s['num_samples']} plans, "
             f"solver {s['solver']}, {s['steps']} steps, temperature {s['temperature']}"]
    if s["nonfinite_samples"]:
        lines.append(f"  WARNING: {s['nonfinite_samples']} plans hold NaN/inf ({s['nonfinite_values']} values)")
    rows = list(s.get("modes") or [])
    if s.get("no_mode") and (s["no_mode"]["count"] or rows):
        rows.append(s["no_mode"])
    if rows:
        against = f"data: {s['reference']}" if s.get("reference") else "no data shares to compare with"
        lines.append(f"  modes (scene labels, {s['interval']}; {against}):")
        for m in rows:
            lo, hi = m["interval"]
            data = "" if m["data_share"] is None else f"   data {m['data_share']:>4.0%}"
            lines.append(f"    {m['mode'] or '(no mode)':<12}{m['share']:>5.0%}  {m['count']:>4}/{s['num_valid']:<5}"
                         f"[{lo:.0%}-{hi:.0%}]{data}")
    if s.get("resolution_note"):
        lines.append(f"  note: {s['resolution_note']}")
    origin = "label groups" if s.get("clusters_from") == "labels" else "plan shapes"
    lines.append(f"  clusters ({origin}): {len(s['clusters'])}  " + "  ".join(
        f"#{c['index']} {c['share']:.0%} {c['label'] or '(no mode)' if origin == 'label groups' else ''}".rstrip()
        for c in s["clusters"]))
    cover = ""
    if s["coverage"] is not None:
        cover = f"   coverage: {len(s['modes_hit'])}/{len(s['modes_hit']) + len(s['modes_missed'])} data modes"
    lines.append(f"  entropy H/log M: {s['entropy']:.2f} (M={s['entropy_modes']}){cover}")
    if s["commit_step"]:
        c = s["commit_step"]
        lines.append(f"  commit step: median {c['median']:.1f} (min {c['min']}, max {c['max']}) of {s['steps']}")
    avg = s.get("averaging")
    if avg:
        where = (f"; plans between sit at {avg['position']:.2f} from {avg['pair'][0]!r} (0) to {avg['pair'][1]!r} (1)"
                 if avg["position"] is not None else "; no plan sits between")
        lines.append(f"  averaging: score {avg['score']:.2f}, {avg['between_share']:.0%} of plans between modes{where}")
    for feature in s.get("out_of_range") or []:
        lines.append(f"  outside the training range: {feature}")
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
    env_args = {"env_name": scene.name, "type": "planscope",
                "env_kwargs": dict(result["summary"].get("scene_options") or {}),
                "obs_spec": [list(k) for k in scene.obs_spec]}
    with RecordingWriter(path, env_args=env_args, config={"command": "sample", **{
            k: result["summary"][k] for k in ("policy", "solver", "steps", "temperature", "num_samples")}},
            seed_panel=[result["summary"]["seed"]], kind="eval") as writer:
        writer.write_rollout(rollout)
