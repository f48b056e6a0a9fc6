"""Quality of the shipped mug_grasp checkpoints (the planners issue's acceptance figures).

  - diffusion, 256 samples per seed on a 20-seed panel (DPM-Solver++, the policy's default steps):
    both modes present on every seed; mean left share within [0.35, 0.65]; verdicts per seed;
  - regression baseline on the same panel: its verdict (expected `averaging`) and plan feasibility;
  - closed loop over 50 seeds (app.core.evaluation, 1 sample per replan, each policy's control
    sampler: DDPM over the full 100-step schedule for the diffusion checkpoint): success rate of
    each policy (target >= 90 % for diffusion) and the share of regression rollouts that hit the
    mug or the table (target >= 50 %); for context, the diffusion policy again with its
    interactive sampler (DPM-Solver++, 16 steps).
  - verdict false alarms over 40 observations (seeds 5000..5039) of the shipped diffusion
    policy, 256 plans each: how often `collapsed` and `skewed` fire, how often a 4x larger
    independent batch at the same observation does not bear the alarm out (a false alarm of the
    reading; goal <= 5 % each, planners.mode_verdicts.alarm_supported), and the spread of the
    left share between observations beside the spread sampling noise alone gives.
`--quick`: 5 panel seeds, 10 closed-loop seeds, 10 alarm observations.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time

DIFFUSION = os.path.join("resources", "checkpoints", "mug_grasp_diffusion")
REGRESSION = os.path.join("resources", "checkpoints", "mug_grasp_regression")
PANEL_START = 5000      # seeds the training data (collect --seed 0, 300 episodes) never used
LOOP_START = 7000
ALARM_START = 5000      # the 40 observations of the shipped policy


def panel(planner, seeds: list[int], num: int) -> dict:
    from app.core.sampling import sample_in_scene
    from scenes import make_scene

    scene = make_scene("mug_grasp")
    rows = []
    try:
        for seed in seeds:
            r = sample_in_scene(planner, "mug_grasp", seed, num, scene=scene)
            shares = r["result"].analysis.label_shares
            rows.append({"seed": seed, "left": shares.get("left", 0.0), "right": shares.get("right", 0.0),
                         "none": shares.get("", 0.0), "verdict": r["result"].analysis.verdict,
                         "feasible": float(r["feasible"].mean()), "plan_ms": r["batch"].wall_ms})
    finally:
        scene.close()
    both = sum(1 for row in rows if row["left"] > 0 and row["right"] > 0)
    verdicts = {}
    for row in rows:
        verdicts[row["verdict"]] = verdicts.get(row["verdict"], 0) + 1
    return {"rows": rows, "both_modes_seeds": both, "seeds": len(rows),
            "mean_left_share": statistics.mean(row["left"] for row in rows),
            "min_left_share": min(row["left"] for row in rows), "max_left_share": max(row["left"] for row in rows),
            "mean_feasible": statistics.mean(row["feasible"] for row in rows), "verdicts": verdicts}


def alarm_panel(planner, seeds: list[int], num: int = 256, truth_num: int = 1024) -> dict:
    """Per observation: the reading at `num` plans (sample_in_scene, the CLI's path) and the mode
    shares of an independent `truth_num`-plan batch; alarms the larger batch does not support
    are false alarms. Returns counts, rates and the share spread."""
    from app.core.sampling import sample_in_scene
    from planners.mode_reference import reference_from_spec
    from planners.mode_verdicts import alarm_supported
    from planners.protocol import observation_from_frames, run_planner
    from scenes import make_scene
    from scenes.registry import plan_labeller

    scene = make_scene(planner.spec.scene)
    data = {m: q for m, q in reference_from_spec(planner.spec).shares.items() if q > 0}
    first = next(iter(data))
    rows = []
    try:
        label = plan_labeller(scene)
        for seed in seeds:
            r = sample_in_scene(planner, scene.name, seed, num, scene=scene)
            big = run_planner(planner, observation_from_frames(planner.spec, [r["obs"]]), truth_num,
                              seed=seed + 1_000_003)
            labels = [label(p) for p in big.plans]
            truth = {m: labels.count(m) / len(labels) for m in data}
            shares = {row.mode: row.share for row in r["result"].analysis.modes}
            verdict = r["result"].analysis.verdict
            rows.append({"seed": seed, "verdict": verdict, "share": shares.get(first, 0.0),
                         "truth": truth[first], "false": not alarm_supported(verdict, truth, data)})
    finally:
        scene.close()
    n = len(rows)
    share = [row["share"] for row in rows]
    counts = {v: sum(row["verdict"] == v for row in rows) for v in ("collapsed", "skewed")}
    false = {v: sum(row["false"] and row["verdict"] == v for row in rows) for v in ("collapsed", "skewed")}
    verdicts: dict[str, int] = {}
    for row in rows:
        verdicts[row["verdict"]] = verdicts.get(row["verdict"], 0) + 1
    return {"rows": rows, "observations": n, "mode": first, "data_share": data[first], "num": num,
            "truth_num": truth_num, "verdicts": verdicts, "alarms": counts, "false_alarms": false,
            "false_alarm_rate": {v: false[v] / n for v in false}, "alarm_rate": {v: counts[v] / n for v in counts},
            "share_mean": statistics.mean(share), "share_sd": statistics.pstdev(share),
            "share_min": min(share), "share_max": max(share),
            "noise_sd": statistics.mean((p * (1 - p) / num) ** 0.5 for p in share),
            "repeat_sd": statistics.pstdev(row["share"] - row["truth"] for row in rows)}


def print_alarms(a: dict) -> None:
    print(f"verdict alarms over {a['observations']} observations of the shipped policy ({a['num']} plans each; "
          f"a {a['truth_num']}-plan batch per observation as the check): verdicts {a['verdicts']}")
    for v in ("collapsed", "skewed"):
        print(f"  {v}: fired on {a['alarms'][v]}/{a['observations']} = {a['alarm_rate'][v]:.0%}; false alarms "
              f"(not borne out by the larger batch) {a['false_alarms'][v]}/{a['observations']} = "
              f"{a['false_alarm_rate'][v]:.1%} (goal <= 5 %)")
    print(f"  per-observation {a['mode']} share: mean {a['share_mean']:.3f} (data {a['data_share']:.3f}), sd "
          f"{a['share_sd']:.3f} between observations, range {a['share_min']:.2f}..{a['share_max']:.2f}; "
          f"sampling noise alone sd {a['noise_sd']:.3f}; reading vs larger batch sd {a['repeat_sd']:.3f}")


def closed_loop(policies: list[str], seeds: list[int], workers: int, solver: str = "",
                steps: int = 0) -> dict:
    """Success and collision shares per policy from one app.core.evaluation run ("" / 0: each
    policy's control sampler)."""
    from app.core.evaluation.config import EvalConfig, RolloutSettings
    from app.core.evaluation.evaluate import run_evaluation
    from recordings.reader import RecordingReader

    config = EvalConfig(policies=policies, seeds=seeds, perturbations=[],
                        settings=RolloutSettings(scene="mug_grasp", record_samples=1, solver=solver,
                                                 steps=steps))
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "quality.h5")
        start = time.perf_counter()
        run_evaluation(config, out, workers=workers, durable=False)
        seconds = time.perf_counter() - start
        with RecordingReader(out) as reader:
            results: dict[str, dict] = {}
            for i in range(len(reader)):
                ro = reader.rollout(i)
                row = results.setdefault(ro.policy, {"rollouts": 0, "success": 0, "collision": 0, "labels": {}})
                row["rollouts"] += 1
                row["success"] += int(ro.success)
                # The scene marks the contact that ended a rollout with detail["violation"]
                # ("hit_mug", "hit_table").
                hit = any(isinstance(e.detail, dict) and e.detail.get("violation") for e in ro.events)
                row["collision"] += int(hit)
                row["labels"][ro.failure_label] = row["labels"].get(ro.failure_label, 0) + 1
    for row in results.values():
        row["success_rate"] = row["success"] / row["rollouts"]
        row["collision_rate"] = row["collision"] / row["rollouts"]
    return {"seconds": seconds, "policies": results}


def run(args) -> dict:
    from planners import load_planner

    quick = bool(getattr(args, "quick", False))
    missing = [p for p in (DIFFUSION, REGRESSION) if not os.path.isdir(p)]
    if missing:
        print(f"missing checkpoint(s) {', '.join(missing)}: run `make checkpoints` first")
        return {"error": f"missing {missing}"}
    seeds = list(range(PANEL_START, PANEL_START + (5 if quick else 20)))
    diffusion, regression = load_planner(DIFFUSION), load_planner(REGRESSION)
    d = panel(diffusion, seeds, 256)
    print(f"diffusion, 256 samples x {d['seeds']} seeds ({diffusion.spec.default_solver} "
          f"{diffusion.spec.default_steps} steps): both modes on {d['both_modes_seeds']}/{d['seeds']} seeds "
          f"(target all); mean left share {d['mean_left_share']:.3f} (range {d['min_left_share']:.2f}.."
          f"{d['max_left_share']:.2f}; target 0.35..0.65); verdicts {d['verdicts']}; feasible "
          f"{d['mean_feasible']:.0%}")
    r = panel(regression, seeds, 16)
    print(f"regression on the same seeds: verdicts {r['verdicts']}; feasible {r['mean_feasible']:.0%}")
    alarms = alarm_panel(diffusion, list(range(ALARM_START, ALARM_START + (10 if quick else 40))))
    print_alarms(alarms)
    loop_seeds = list(range(LOOP_START, LOOP_START + (10 if quick else 50)))
    loop = closed_loop([DIFFUSION, REGRESSION], loop_seeds, workers=2)
    sampler = f"{diffusion.spec.control_solver} {diffusion.spec.control_steps} steps"
    for name, row in loop["policies"].items():
        print(f"closed loop {name}{f' ({sampler})' if 'diffusion' in name else ''}: success "
              f"{row['success']}/{row['rollouts']} = {row['success_rate']:.0%}, collisions "
              f"{row['collision_rate']:.0%}, failure labels {row['labels']}")
    print(f"(closed loop: {len(loop_seeds)} seeds x 2 policies in {loop['seconds']:.0f} s)")
    fast = closed_loop([DIFFUSION], loop_seeds, workers=2, solver=diffusion.spec.default_solver,
                       steps=diffusion.spec.default_steps)
    row = next(iter(fast["policies"].values()))
    print(f"for context, closed loop diffusion with its interactive sampler "
          f"({diffusion.spec.default_solver} {diffusion.spec.default_steps} steps): success "
          f"{row['success']}/{row['rollouts']} = {row['success_rate']:.0%} ({fast['seconds']:.0f} s)")
    return {"diffusion_panel": d, "regression_panel": r, "alarms": alarms, "closed_loop": loop,
            "closed_loop_interactive_sampler": fast}
