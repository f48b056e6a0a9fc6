"""`planscope sample --policy DIR|module:attr|probe --scene NAME [--option k=v ..] --seed S --num N
[--solver ddpm|ddim|dpmpp] [--steps K] [--temperature T] [--data FILE.h5 | --data-shares m=s,..]
[--out FILE.h5] [--json]`; `planscope sample --policy P --data DS --episode E --frame F --num N
[--neighbours K] [--json]` samples at a recorded frame of any data set instead.

Resets the scene with the seed, samples N plans for its first observation, labels each plan's
mode (scene.label_mode), checks feasibility (scene.check_plan) and prints the mode summary:
every mode's share with its 95% interval against the data's (the training data's, another
recording's with --data, or --data-shares), clusters, entropy, coverage, commit steps, the
averaging position, verdict and timings (or JSON with --json); docs/mode-analysis.md. --out writes the plans, chain and labels as a
one-step recording. `--policy probe` runs the teaching probe (no scene needed).
"""
from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sample", help="sample N plans for one scene observation and analyse their modes",
                              description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", required=True, metavar="DIR|module:attr|probe")
    p.add_argument("--scene", default="mug_grasp")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VAL",
                   help="scene option, e.g. rows=2 for obstacle_reach (as the policy's data was collected)")
    p.add_argument("--seed", type=int, default=None,
                   help="scene reset seed, also seeds the sampler (default 0; 7 for the probe, the seed's example)")
    p.add_argument("--num", type=int, default=128, metavar="N", help="plans to sample (default 128)")
    p.add_argument("--solver", default=None, help="ddpm | ddim | dpmpp (default: the policy's)")
    p.add_argument("--steps", type=int, default=None, help="solver steps (default: the policy's)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--device", default="cpu", help="cpu | cuda")
    p.add_argument("--chain-dtype", default="float32", choices=("float32", "float16"))
    data = p.add_mutually_exclusive_group()
    data.add_argument("--data", default=None, metavar="FILE.h5",
                      help="judge the modes against this recording's demonstrations (default: the training data)")
    data.add_argument("--data-shares", default=None, metavar="MODE=SHARE,..",
                      help="judge the modes against these shares, e.g. left=0.7,right=0.3")
    p.add_argument("--episode", type=int, default=None, metavar="E",
                   help="with --data DS: sample at this recorded episode (LeRobot v3 folder, zarr, .h5)")
    p.add_argument("--frame", type=int, default=None, metavar="F", help="with --data DS --episode E: the frame")
    p.add_argument("--neighbours", type=int, default=64, metavar="K",
                   help="with --episode: nearest recorded frames the plans are judged against (default 64)")
    p.add_argument("--out", default=None, metavar="FILE.h5", help="write plans + chain as a recording")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch threads (default: the free cores, planners/threads.py)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from planners import load_planner
    from planners.protocol import SOLVERS, PlannerError

    if args.solver is not None and args.solver not in SOLVERS:
        raise PlannerError(f"unknown solver {args.solver!r} (allowed: {', '.join(SOLVERS)})")
    if args.num < 1:
        raise PlannerError(f"--num must be >= 1, got {args.num}")
    if args.out:
        from app.commands.output import check_out
        check_out(args.out, suffixes=(".h5",), force=args.force)
    from planners.threads import apply_threads
    from scenes.registry import scene_class
    scene_class(args.scene)           # an unknown --scene is one line, for the probe too
    apply_threads(args.threads)       # before loading: calibrations already run at this size
    planner = load_planner(args.policy, device=args.device, chain_dtype=args.chain_dtype)
    if args.episode is not None or args.frame is not None:
        return _run_at_frame(planner, args)
    if planner.spec.kind == "probe":
        from planners.probe import SEED
        args.seed = SEED if args.seed is None else args.seed
        return _run_probe(planner, args)
    args.seed = 0 if args.seed is None else args.seed
    from app.core.sampling import format_summary, sample_in_scene, write_sample_recording
    from planners.mode_reference import choose_reference
    from scenes.registry import parse_options

    reference = choose_reference(planner.spec, args.data, args.data_shares)
    result = sample_in_scene(planner, args.scene, args.seed, args.num, solver=args.solver, steps=args.steps,
                             temperature=args.temperature, keep_scene=bool(args.out),
                             options=parse_options(args.option), reference=reference)
    if args.out:
        write_sample_recording(args.out, planner, result)
        result["summary"]["out"] = args.out
    result["scene"].close() if result.get("scene") is not None else None
    if args.json:
        print(json.dumps(result["summary"], indent=2))
    else:
        print(format_summary(result["summary"]))
    return 0


def _run_at_frame(planner, args: argparse.Namespace) -> int:
    """--data DS --episode E --frame F: the plans at a recorded frame, against the demonstrated
    chunk and the K nearest frames (app/core/inspector/dataset_source.py)."""
    from app.core.inspector.dataset_source import DatasetSource, format_inspection
    from recordings.errors import UserFacingError

    if args.data is None or args.episode is None or args.frame is None:
        raise UserFacingError("sampling at a recorded frame needs --data DS --episode E --frame F")
    if args.out or args.data_shares:
        raise UserFacingError("--out and --data-shares do not apply to --data DS --episode E --frame F")
    if args.neighbours < 0:
        raise UserFacingError(f"--neighbours must be >= 0, got {args.neighbours}")
    source = DatasetSource(args.data, planner, neighbours=args.neighbours)
    result = source.inspect(args.episode, args.frame, args.num, seed=args.seed or 0, solver=args.solver,
                            steps=args.steps, temperature=args.temperature)
    print(json.dumps(result.summary(), indent=2) if args.json else format_inspection(result))
    return 0


def _run_probe(planner, args: argparse.Namespace) -> int:
    from planners.probe import probe_report
    from planners.protocol import run_planner
    batch = run_planner(planner, None, args.num, seed=args.seed)
    if args.json:
        print(json.dumps({"policy": "probe", "seed": args.seed, "num_samples": batch.num_samples,
                          "steps": batch.num_steps,
                          "endpoint_dist": batch.meta["endpoint_dist"].round(4).tolist()}, indent=2))
    else:
        print(probe_report(args.seed))
    return 0
