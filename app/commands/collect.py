"""`planscope collect`: scripted-expert demonstrations in a controlled mode mix, to HDF5."""
from __future__ import annotations

import argparse

HELP = "collect scripted-expert demonstrations (a known mix of modes) into a recording"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "collect", help=HELP,
        description=HELP + ". Episode i uses seed S+i; the file is the same for any --workers.")
    p.add_argument("--scene", required=True, help="scene name: mug_grasp, obstacle_reach")
    p.add_argument("--episodes", type=int, required=True, metavar="N")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="first seed (default 0)")
    p.add_argument("--mode-mix", default=None, metavar="P1,P2,..",
                   help="probability of each of the scene's modes, in its order "
                        "(mug_grasp: left,right; default uniform)")
    p.add_argument("--paired", action="store_true",
                   help="demonstrate every placement (seed) once per mode of the scene, in mode "
                        "order: --episodes N placements write N x modes episodes, and the mode "
                        "is independent of the state (not with --mode-mix)")
    p.add_argument("--perturb", action="append", nargs="+", default=[], metavar="KEY=VAL",
                   help="perturbation(s): obs_noise, delay, action_noise, pose_shift, friction, mass")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VAL",
                   help="scene option, e.g. rows=2 for obstacle_reach, camera=true to record images")
    p.add_argument("--noise", type=float, default=None, metavar="M",
                   help="expert waypoint noise std in metres (default 0.002)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: all cores; 1 = in this process)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--format", choices=["planscope", "lerobot"], default="planscope",
                   help="planscope: an HDF5 recording; lerobot: a LeRobotDataset v3 folder "
                        "(exported from a temporary recording, see docs/datasets.md)")
    p.add_argument("--camera", default=None, metavar="NAME",
                   help="with --format lerobot: render the scene camera NAME (front) each step "
                        "and write it as the video feature observation.images.NAME")
    p.add_argument("--out", required=True, metavar="FILE.h5|DIR")
    p.add_argument("--force", action="store_true", help="replace an existing --out")
    p.set_defaults(func=run)


def _mode_mix(text: str | None) -> list[float] | None:
    from scenes.api import SceneError
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SceneError(f"--mode-mix {text!r} must be comma-separated numbers, e.g. 0.5,0.5") \
            from None


def _options(items: list[str]) -> dict:
    from scenes.api import SceneError
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SceneError(f"--option {item!r} must look like KEY=VALUE")
        value = value.strip()
        if value.lower() in ("true", "false"):
            out[key.strip()] = value.lower() == "true"
            continue
        try:
            out[key.strip()] = int(value)
        except ValueError:
            out[key.strip()] = value
    return out


def _run_lerobot(args: argparse.Namespace) -> int:
    """Collect into a temporary recording beside DIR, export it, delete it."""
    import os
    import shutil

    from app.commands.export import export_to_lerobot

    from app.commands.output import check_out
    out = check_out(args.out, kind="dir", force=args.force)
    args.force = True   # the temporary recording below is ours to replace
    tmp = os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.collect-{os.getpid()}.h5")
    camera = args.camera
    args.option = [*args.option, "camera=true"] if camera else args.option
    args.format, args.out, args.camera = "planscope", tmp, None
    try:
        run(args)
        path, episodes, frames = export_to_lerobot(tmp, out, camera=camera, overwrite=True)
    finally:
        for leftover in (tmp, tmp + ".parts"):
            if os.path.isdir(leftover):
                shutil.rmtree(leftover, ignore_errors=True)
            elif os.path.exists(leftover):
                os.remove(leftover)
    print(f"wrote LeRobotDataset v3 {path}: {episodes} episodes, {frames} frames")
    return 0


def run(args: argparse.Namespace) -> int:
    import sys

    from app.commands.output import check_out

    if getattr(args, "format", "planscope") == "lerobot":
        return _run_lerobot(args)
    check_out(args.out, suffixes=(".h5",), force=getattr(args, "force", False))
    if getattr(args, "camera", None):
        from recordings.errors import UserFacingError
        raise UserFacingError("--camera is for --format lerobot; a planscope recording stores "
                              "the scene camera with --option camera=true")

    from app.core.evaluation.collect import collect, default_workers, progress_bar
    from scenes.perturbations import parse_perturbation

    flat = [part for group in args.perturb for item in group for part in item.split(",") if part]
    perturbation = parse_perturbation(flat)
    workers = default_workers() if args.workers is None else max(1, args.workers)
    summary = collect(args.scene, args.episodes, args.seed, args.out,
                      mode_mix=_mode_mix(args.mode_mix), perturbation=perturbation,
                      options=_options(args.option), noise=args.noise, workers=workers,
                      paired=getattr(args, "paired", False), progress=None if args.quiet else progress_bar(sys.stderr))
    shares = ", ".join(f"{m} {s:.2f}" for m, s in summary.mode_shares().items())
    per_mode = ", ".join(f"{m} {a}/{b}" for m, (a, b) in summary.per_mode_success.items())
    paired = (f" ({args.episodes} placements x {len(summary.mode_counts)} modes)"
              if getattr(args, "paired", False) else "")
    print(f"wrote {summary.episodes} episodes{paired} to {summary.path} in {summary.wall_s:.1f} s")
    print(f"success rate {summary.success_rate:.2f} ({summary.successes}/{summary.episodes}; "
          f"per mode: {per_mode})")
    print(f"mode shares: {shares}")
    return 0
