"""Export any Dataset (usually a planscope HDF5 recording) as a LeRobotDataset v3 folder.

Feature-name mapping (planscope -> LeRobot), reversible through the per-dimension `names`:
    robot-state obs keys (kind "state": ee_pos, gripper, joint...), in file order
        -> observation.state              names "<key>.<i>" ("<key>" for size-1 keys)
    other low-dimensional obs keys (kind "environment": mug_pos, target_pos...)
        -> observation.environment_state  names as above
    the camera asked for (an [H, W, 3] uint8 obs key; "front" also names the "image" key that
    planscope scenes record with camera=true)
        -> observation.images.<camera>    video (AV1 by default)
    actions [D] -> action (names x, y, z, gripper for planscope's 4-D end-effector actions)
    rewards -> next.reward, dones -> next.done
Per episode: task = the scene name (or the data set's task), planscope/mode, planscope/success,
planscope/seed. `split_names` turns observation.state back into planscope keys.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from recordings.dataset import Dataset, DatasetError
from recordings.formats.lerobot_v3_writer import LeRobotV3Writer

STATE, ENV, ACTION = "observation.state", "observation.environment_state", "action"
SCENE_IMAGE_KEY, SCENE_CAMERA = "image", "front"   # what `collect --option camera=true` records
LEROBOT_IMAGE_PREFIX = "observation.images."
_EE_ACTION_NAMES = ("x", "y", "z", "gripper")


def dim_names(key: str, size: int) -> list[str]:
    return [key] if size == 1 else [f"{key}.{i}" for i in range(size)]


def split_names(names: Sequence[str]) -> list[tuple[str, int]]:
    """["ee_pos.0", "ee_pos.1", "ee_pos.2", "gripper"] -> [("ee_pos", 3), ("gripper", 1)]."""
    out: list[tuple[str, int]] = []
    for n in names:
        head, _, tail = n.rpartition(".")
        key = head if head and tail.isdigit() else n
        if out and out[-1][0] == key and key != n:
            out[-1] = (key, out[-1][1] + 1)
        else:
            out.append((key, 1))
    return out


def lerobot_layout(ds: Dataset, camera: str | None = None
                   ) -> tuple[dict[str, dict], dict[str, list[str]]]:
    """(LeRobot features, {lerobot feature: [source keys concatenated into it]})."""
    # multi-dimensional low-dim arrays (DP's keypoint [9, 2]) are flattened, names key.0..key.17
    state = [k for k, f in ds.features.items() if f.kind == "state"]
    env = [k for k, f in ds.features.items() if f.kind == "environment"]
    features: dict[str, dict] = {}
    sources: dict[str, list[str]] = {}
    for name, keys in ((STATE, state), (ENV, env)):
        if keys:
            sizes = [int(np.prod(ds.features[k].shape)) for k in keys]
            features[name] = {"dtype": "float32", "shape": [sum(sizes)],
                              "names": [n for k, s in zip(keys, sizes) for n in dim_names(k, s)]}
            sources[name] = keys
    if ds.action_key is None:
        raise DatasetError(f"{ds.path}: no action feature to export")
    d = int(np.prod(ds.features[ds.action_key].shape))
    features[ACTION] = {"dtype": "float32", "shape": [d], "names": list(_EE_ACTION_NAMES)
                        if d == 4 and ds.format_name == "planscope" else dim_names("action", d)}
    sources[ACTION] = [ds.action_key]
    for src, name, dtype in (("rewards", "next.reward", "float32"), ("dones", "next.done", "bool")):
        if src in ds.features:
            features[name] = {"dtype": dtype, "shape": [1], "names": None}
            sources[name] = [src]
    if camera is not None:
        images = [k for k, f in ds.features.items() if f.kind == "image"]
        key = camera
        if camera.startswith(LEROBOT_IMAGE_PREFIX):       # the full LeRobot name was given
            camera = camera[len(LEROBOT_IMAGE_PREFIX):]
        elif camera not in images and LEROBOT_IMAGE_PREFIX + camera in images:
            key = LEROBOT_IMAGE_PREFIX + camera     # a LeRobot source names "front" this way
        if camera not in images and images == [SCENE_IMAGE_KEY] and camera == SCENE_CAMERA:
            key = SCENE_IMAGE_KEY           # planscope scenes record their front camera as "image"
        if key not in images:
            raise DatasetError(f"{ds.path}: no camera {camera!r} recorded; images in the file: "
                               f"{', '.join(images) or 'none'}")
        h, w = ds.features[key].shape[:2]
        features[f"observation.images.{camera}"] = {"dtype": "video", "shape": [h, w, 3],
                                                    "names": ["height", "width", "channels"]}
        sources[f"observation.images.{camera}"] = [key]
    return features, sources


def export_lerobot(ds: Dataset, out: str, *, fps: int, camera: str | None = None,
                   codec: str = "libsvtav1", robot_type: str | None = "panda",
                   overwrite: bool = False, frames_per_file: int = 1_000_000,
                   progress: Callable[[int, int], None] | None = None) -> str:
    """Write every episode of ds to the LeRobot v3 folder out (atomically); returns out."""
    features, sources = lerobot_layout(ds, camera)
    keys = [k for ks in sources.values() for k in ks]
    with LeRobotV3Writer(out, fps=fps, features=features, robot_type=robot_type, codec=codec,
                         overwrite=overwrite, frames_per_file=frames_per_file) as writer:
        for i, ep in enumerate(ds.episodes):
            if ep.length == 0:
                continue
            raw = ds.episode_slice(ep.index, keys=keys)
            frames = {}
            for name, ks in sources.items():
                if features[name]["dtype"] == "video":
                    frames[name] = raw[ks[0]]
                else:
                    frames[name] = np.concatenate(
                        [raw[k].reshape(ep.length, -1) for k in ks], axis=1)
            writer.add_episode(frames, ep.task or "task", mode=ep.mode, success=ep.success,
                               seed=int(ep.extra.get("seed", -1)))
            if progress is not None:
                progress(i + 1, len(ds.episodes))
    return writer.root


__all__ = ["export_lerobot", "lerobot_layout", "split_names", "dim_names"]
