"""`planscope export`: write a recording (or any data set planscope reads) as a LeRobotDataset v3."""
from __future__ import annotations

import argparse

HELP = "export a recording or data set as a LeRobotDataset v3 folder"
CODECS = {"av1": "libsvtav1", "h264": "libx264"}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help=HELP,
        description=HELP + " (state / environment-state / action features named as LeRobot "
                           "expects, planscope's mode labels as per-episode columns; written to "
                           "a temporary folder and renamed into place). See docs/datasets.md.")
    p.add_argument("source", metavar="F", help="recording .h5, LeRobot v3 folder or zarr buffer")
    p.add_argument("--to", required=True, choices=["lerobot"], help="output format")
    p.add_argument("out", metavar="DIR", help="new output folder")
    p.add_argument("--camera", default=None, metavar="NAME",
                   help="also write this recorded camera as a video feature "
                        "(observation.images.NAME; 'front' for scenes recorded with camera=true)")
    p.add_argument("--codec", choices=sorted(CODECS), default="av1",
                   help="camera video codec (default av1, LeRobot's default)")
    p.add_argument("--fps", type=int, default=None,
                   help="frames per second (default: the data set's, else the scenes' 10 Hz)")
    p.add_argument("--force", "--overwrite", dest="overwrite", action="store_true",
                   help="replace DIR if it exists")
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
    check_out(args.out, kind="dir", force=args.overwrite, flag="DIR")
    path, episodes, frames = export_to_lerobot(args.source, args.out, camera=args.camera,
                                               codec=args.codec, fps=args.fps,
                                               overwrite=args.overwrite)
    print(f"wrote LeRobotDataset v3 {path}: {episodes} episodes, {frames} frames")
    return 0
