"""Quality of the shipped mug_grasp checkpoints (the planners issue's acceptance figures).

  - diffusion, 256 samples per seed on a 20-seed panel (DPM-Solver++, the policy's default steps):
    both modes present on every seed; mean left share within [0.35, 0.65]; verdicts per seed;
  - regression baseline on the same panel: its verdict (expected `averaging`) and plan feasibility;
  - closed loop over 50 seeds (app.core.evaluation, 1 sample per replan, each policy's control
    sampler: DDPM over the full 100-step schedule for the diffusion checkpoint): success rate of
    each policy (target >= 90 % for diffusion) and the share of regression rollouts that hit the
    mug or the table (target >= 50 %); for context, the diffusion policy again with its
    interactive sampler (DPM-Solver++, 16 steps).
`--quick`: 5 panel seeds, 10 closed-loop seeds.
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
    return {"diffusion_panel": d, "regression_panel": r, "closed_loop": loop,
            "closed_loop_interactive_sampler": fast}
