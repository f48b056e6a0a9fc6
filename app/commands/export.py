"""`planscope export`: write a recording (or any data set planscope reads) as a LeRobotDataset v3
folder, or a recording (a `planscope sample --out` plan batch too) as a Rerun .rrd file."""
from __future__ import annotations

import argparse

HELP = "export a recording or data set as a LeRobotDataset v3 folder or a Rerun .rrd file"
CODECS = {"av1": "libsvtav1", "h264": "libx264"}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help=HELP,
        description="export a recording or data set as a LeRobotDataset v3 folder (state / "
                    "environment-state / action features named as LeRobot expects, planscope's "
                    "mode labels as per-episode columns), or a recording as a Rerun .rrd file "
                    "(--to rerun: every rollout's states, actions, end-effector path, camera "
                    "frames and each replan's plans as line strips, the denoising chain where "
                    "kept; needs the optional extra: pip install 'planscope[rerun]'). Written "
                    "beside OUT and renamed into place. See docs/datasets.md.")
    p.add_argument("source", metavar="F", help="recording .h5, LeRobot v3 folder or zarr buffer")
    p.add_argument("--to", required=True, choices=["lerobot", "rerun"], help="output format")
    p.add_argument("out", metavar="OUT", help="new output folder (lerobot) or .rrd file (rerun)")
    p.add_argument("--camera", default=None, metavar="NAME",
                   help="lerobot: also write this recorded camera as a video feature "
                        "(observation.images.NAME; 'front' for scenes recorded with camera=true); "
                        "rerun: only this camera (default: every recorded camera)")
    p.add_argument("--codec", choices=sorted(CODECS), default=None,
                   help="lerobot: camera video codec (default av1, LeRobot's default)")
    p.add_argument("--fps", type=int, default=None,
                   help="frames per second (default: the data set's, else the scenes' 10 Hz)")
    p.add_argument("--force", "--overwrite", dest="overwrite", action="store_true",
                   help="replace OUT if it exists")
    p.set_defaults(func=run)


def export_to_lerobot(source: str, out: str, *, camera: str | None = None, codec: str = "av1",
                      fps: int | None = None, overwrite: bool = False) -> tuple[str, int, int]:
    """Export source to out; returns (out, episodes, frames). Shared by `collect --format`."""
    from recordings.dataset import open_dataset
    from recordings.formats.lerobot_export import export_lerobot
    from scenes.api import CONTROL_HZ

    with open_dataset(source) as ds:
        rate = fps or (int(round(ds.fps)) if ds.fps else CONTROL_HZ)
        path = export_lerobot(ds, out, fps=rate, camera=camera, codec=CODECS[codec],
                              overwrite=overwrite)
        return path, len(ds.episodes), ds.num_frames


def run(args: argparse.Namespace) -> int:
    from app.commands.output import check_out
    if args.to == "rerun":
        return run_rerun(args)
    check_out(args.out, kind="dir", force=args.overwrite, flag="OUT")
    path, episodes, frames = export_to_lerobot(args.source, args.out, camera=args.camera,
                                               codec=args.codec or "av1", fps=args.fps,
                                               overwrite=args.overwrite)
    print(f"wrote LeRobotDataset v3 {path}: {episodes} episodes, {frames} frames")
    return 0


def run_rerun(args: argparse.Namespace) -> int:
    """`export F.h5 --to rerun OUT.rrd`: checks (extra installed, options, --out rule, source is
    a recording file) before anything is written."""
    import os

    from app.commands.output import check_out
    from recordings.errors import UserFacingError
    from recordings.formats.rerun_export import export_rerun, import_rerun

    import_rerun()                      # the missing extra is the first thing said
    for flag, value in (("--codec", args.codec), ("--fps", args.fps)):
        if value is not None:
            raise UserFacingError(f"export: {flag} applies to --to lerobot, not --to rerun")
    out = check_out(args.out, kind="file", suffixes=(".rrd",), force=args.overwrite, flag="OUT")
    if os.path.isdir(args.source):
        raise UserFacingError(f"{os.path.abspath(args.source)}: a folder; --to rerun exports a "
                              f"planscope or robomimic recording (.h5 file)")
    from app.qt.plots.mode_colors import MODE_HEX, UNLABELLED_HEX   # numpy only, no Qt
    done = export_rerun(args.source, out, palette=MODE_HEX, unlabelled=UNLABELLED_HEX,
                        cameras=None if args.camera is None else [args.camera])
    print(f"wrote Rerun recording {done.path}: {done.rollouts} rollouts, {done.frames} steps, "
          f"{done.replans} replans, {len(done.entities)} entities (open with: rerun {args.out})")
    return 0
