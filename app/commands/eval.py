"""`planscope eval`: every policy on the same seed panel x perturbation grid, closed loop, one
artifact; optionally the acceptance rule (candidate = last policy vs baseline = first)."""
from __future__ import annotations

import argparse

HELP = "closed-loop evaluation of policies on one seed panel and perturbation grid"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help=HELP, description=HELP + ". Replans every Ta steps (the policy's n_action_steps, "
        "else 8); the executed chunk is waypoints [action_start, action_start + Ta) of sample 0 of "
        "the N recorded samples (action_start = To - 1 for LeRobot and diffusion_policy policies, as "
        "they execute).")
    p.add_argument("--policy", action="append", required=True, metavar="DIR|module:attr",
                   help="policy to evaluate; repeat it: the first is the baseline, the last the "
                        "candidate")
    p.add_argument("--scene", required=True, help="scene name, e.g. mug_grasp")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VAL",
                   help="scene option, e.g. rows=2 for obstacle_reach (as the policies' data was collected)")
    data = p.add_mutually_exclusive_group()
    data.add_argument("--data", default=None, metavar="FILE.h5",
                      help="compare the rollouts' mode shares with this recording's demonstrations")
    data.add_argument("--data-shares", default=None, metavar="MODE=SHARE,..",
                      help="compare the rollouts' mode shares with these, e.g. left=0.7,right=0.3")
    p.add_argument("--seeds", required=True, metavar="A:B",
                   help="seed panel: A:B (A..B-1) or a comma list")
    p.add_argument("--perturb", action="append", default=[], metavar="KEY=VAL[,KEY=VAL]",
                   help="a perturbation cell added to the nominal one (repeat for more cells); "
                        "keys: obs_noise, delay, action_noise, pose_shift, friction, mass")
    p.add_argument("--record-samples", type=int, default=16, metavar="N",
                   help="plans sampled and recorded at each replan (default 16)")
    p.add_argument("--record-chain", action="store_true",
                   help="also record the denoising chain at each replan (~S times larger)")
    p.add_argument("--record-noise", action="store_true",
                   help="also record DDPM's per-step noise at each replan, so any subset of the "
                        "samples replays exactly (~S times the samples; the initial noise and "
                        "seed are always recorded)")
    p.add_argument("--solver", default="", help="diffusion solver (default: the policy's control sampler, "
                   "e.g. ddpm for the shipped diffusion checkpoint)")
    p.add_argument("--steps", type=int, default=0, help="solver steps (default: the policy's control steps, e.g. 100)")
    p.add_argument("--max-steps", type=int, default=200,
                   help="control steps before the runner stops a rollout (default 200)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: all cores; 0 = in this process)")
    p.add_argument("--threads", type=int, default=None, metavar="K",
                   help="torch threads in each worker process (and in this process with --workers 0); "
                        "default 1 per worker: the workers are the parallelism, so W workers use W "
                        "cores, and rollouts stay bit-identical whatever W (planners/threads.py). "
                        "W x K threads run in all: raise K for a large policy on few workers")
    p.add_argument("--backend", default="local", choices=("local", "ray"))
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="join a running Ray cluster (e.g. auto or ray://host:10001)")
    p.add_argument("--resume", action="store_true",
                   help="continue a partial artifact: skip rollouts it already holds")
    p.add_argument("--accept-metric", default=None, metavar="METRIC",
                   help="apply the acceptance rule on this metric (e.g. success)")
    p.add_argument("--min-improvement", type=float, default=0.10,
                   help="improvement the candidate needs over the baseline (default 0.10)")
    p.add_argument("--quiet", action="store_true", help="no per-rollout progress lines")
    p.add_argument("--out", required=True, metavar="FILE.h5")
    p.add_argument("--force", action="store_true",
                   help="delete an existing --out before starting (otherwise refused; see --resume)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from app.core.evaluation.acceptance import METRICS, decide, format_decision
    from app.core.evaluation.config import (EvalConfig, EvalConfigError, RolloutSettings, parse_perturbation,
                                            parse_seeds)
    from app.core.evaluation.evaluate import print_progress, run_evaluation
    from app.core.evaluation.summary import load_summary
    from app.commands.output import check_out

    out = check_out(args.out, suffixes=(".h5",), force=args.force, resume=args.resume)
    if args.force and not args.resume and os.path.isfile(out):
        _check_replaceable(out)

    if args.accept_metric is not None and args.accept_metric not in METRICS:
        raise EvalConfigError(f"--accept-metric {args.accept_metric!r}: valid: {', '.join(METRICS)}")
    if args.accept_metric is not None and len(args.policy) < 2:
        raise EvalConfigError("--accept-metric needs two --policy: the baseline first, the "
                              "candidate last")
    if args.max_steps < 1 or args.record_samples < 1:
        raise EvalConfigError("--max-steps and --record-samples must be >= 1")
    from planners.threads import check_threads, worker_threads_env
    check_threads(args.threads)
    from planners.mode_reference import choose_reference
    from scenes.registry import parse_options

    reference = choose_reference(None, args.data, args.data_shares) if (args.data or args.data_shares) else None
    settings = RolloutSettings(scene=args.scene, scene_options=parse_options(args.option),
                               record_samples=args.record_samples,
                               record_chain=args.record_chain, record_noise=args.record_noise,
                               solver=args.solver,
                               steps=args.steps, max_steps=args.max_steps)
    config = EvalConfig(policies=list(args.policy), seeds=parse_seeds(args.seeds),
                        perturbations=[parse_perturbation(t) for t in args.perturb],
                        settings=settings, accept_metric=args.accept_metric or "success",
                        min_improvement=args.min_improvement,
                        data_reference={"shares": reference.shares, "source": reference.source}
                        if reference is not None else {})
    def announce(result) -> None:
        from planners.threads import worker_threads
        workers = args.workers if args.workers is not None else "all cores"
        threads = worker_threads()
        resumed = f", {result.skipped} already done" if result.skipped else ""
        print(f"planscope eval: {len(config.policies)} policies x {len(config.seeds)} seeds x "
              f"{len(config.perturbations)} perturbation cells = {result.total} rollouts"
              f"{resumed} ({args.backend}, workers={workers}, {threads} torch "
              f"thread{'s' if threads > 1 else ''} each)", file=sys.stderr, flush=True)

    if args.force and not args.resume and os.path.exists(out):
        os.remove(out)   # only now: every check above passed
    try:
        with worker_threads_env(args.threads):   # the workers start inside: they inherit it
            result = run_evaluation(config, args.out, backend=args.backend, workers=args.workers,
                                    ray_address=args.ray_address, resume=args.resume,
                                    progress=None if args.quiet else print_progress,
                                    on_start=announce)
    except KeyboardInterrupt:
        print(f"\nplanscope eval: interrupted; finished rollouts are saved in {args.out} "
              f"(marked partial). Run the same command with --resume to finish.", file=sys.stderr)
        return 130
    summary = load_summary(result.path)
    print(summary.text_table())
    print(f"wrote {result.path}: {result.written} rollouts in {result.seconds:.1f} s"
          f"{f', {result.skipped} already there (resume)' if result.skipped else ''}"
          f"{f', {result.failed} failed to run' if result.failed else ''}")
    for line in result.failures[:10]:
        print(f"  failed to run: {line}")
    if args.accept_metric is not None:
        decision = decide(summary, metric=args.accept_metric,
                          min_improvement=args.min_improvement)
        print(format_decision(decision))
    return 0


def _check_replaceable(path: str) -> None:
    """--force replaces an earlier evaluation artifact only: `--out demos.h5 --force` deleted
    the demonstrations (or any .h5) the moment the run started."""
    from recordings.errors import UserFacingError
    from recordings.reader import RecordingReader
    try:
        with RecordingReader(path) as reader:
            if reader.kind == "eval":
                return
            what = f"a {reader.kind!r} recording"
    except UserFacingError:
        what = "not a planscope recording"
    raise UserFacingError(f"--out {path}: is {what}, not an evaluation artifact; --force "
                          f"replaces only an earlier `planscope eval` output, choose another path")
