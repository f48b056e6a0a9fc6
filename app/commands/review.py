"""`planscope review FILE.h5 [FILE2.h5]`: open the app in the review workspace on recordings
(or on a data-set folder — LeRobot v3, diffusion_policy zarr — in its data-set browser).

With two files (e.g. the same seeds evaluated under two policies) the browser lists both and the
Compare panel pairs each rollout with the same seed in the other file. Files are checked before
the window opens, so a missing, corrupt or unknown-schema file ends in one line and exit code 2.
"""
from __future__ import annotations

import argparse
import os


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("review", help="browse, scrub and tag recorded rollouts",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", metavar="FILE.h5",
                   help="one or two recordings, or a data-set folder (LeRobot v3, zarr buffer)")
    p.add_argument("--scene", default=None,
                   help="scene to replay into (default: the recording's own scene)")
    p.set_defaults(func=run)


def check_files(files: list[str]) -> list[str]:
    """Absolute paths of readable recordings; RecordingError (one line) for the first bad one."""
    from recordings.errors import UserFacingError
    from recordings.reader import RecordingReader
    if len(files) > 2:
        raise UserFacingError(f"review takes one or two recordings, got {len(files)}")
    paths = []
    for name in files:
        path = os.path.abspath(os.path.expanduser(name))
        if _is_dataset_folder(path):
            # browsed in the review workspace's data-set browser ("is a folder, not a recording
            # file" refused `planscope review out/` right after `export --to lerobot out/`)
            from recordings.dataset import open_dataset
            with open_dataset(path) as ds:   # lazy: meta only; one line on a problem
                if not ds.episodes:
                    raise UserFacingError(f"{path}: the data set has no episodes")
        else:
            with RecordingReader(path):   # lazy: header and summary only
                pass
        paths.append(path)
    return paths


def _is_dataset_folder(path: str) -> bool:
    """A LeRobot v3 folder (meta/info.json) or a zarr store: the markers the window's data-set
    drop handler uses (app/qt/review/dataset_browser.is_dataset; not imported: no Qt here)."""
    return os.path.isdir(path) and any(os.path.isfile(os.path.join(path, m)) for m in
                                       ("meta/info.json", "zarr.json", ".zgroup"))


def run(args: argparse.Namespace) -> int:
    from app.qt.launch import open_review

    paths = check_files(args.files)
    return open_review(paths, args.scene or _scene_of(paths[0]))


def _scene_of(path: str) -> str:
    if _is_dataset_folder(path):
        return "mug_grasp"              # a data set names no planscope scene
    from recordings.reader import RecordingReader
    with RecordingReader(path) as reader:
        name = str(reader.env_args.get("env_name", "") or "")
    try:
        from scenes.registry import scene_names
        return name if name in scene_names() else "mug_grasp"
    except ImportError:
        return "mug_grasp"
