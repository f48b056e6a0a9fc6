"""Loads planscope's export (lerobot/) with LeRobot 0.4.4's own LeRobotDataset(repo_id, root=DIR)
(scratch venv, see ../lerobot_v3/pip_freeze.txt) and records what it returns:
    python check_with_lerobot.py DIR_WITH_lerobot/
writes lerobot_golden.npz (every frame, camera as uint8 = round(255 * value), plus a window with
delta_timestamps) and lerobot_check.log (what loaded, the stats LeRobot read, its features).
"""
import os
import sys

import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset

here = sys.argv[1]
root = os.path.join(here, "lerobot")
log = []
ds = LeRobotDataset("planscope/export", root=root, video_backend="pyav")
log.append(f"LeRobotDataset loaded {root}: {ds.num_episodes} episodes, {ds.num_frames} frames")
log.append(f"features: {sorted(ds.meta.features)}")
log.append(f"camera keys: {ds.meta.camera_keys}; video keys: {ds.meta.video_keys}")
log.append(f"tasks: {list(ds.meta.tasks.index)} -> {list(ds.meta.tasks.task_index)}")
log.append(f"episode columns: {sorted(ds.meta.episodes.column_names)}")
log.append(f"stats keys: {sorted(ds.meta.stats)}")
win = LeRobotDataset("planscope/export", root=root, video_backend="pyav", delta_timestamps={
    "observation.state": [-0.1, 0.0], "observation.images.front": [-0.1, 0.0],
    "action": [i / 10 for i in range(4)]})
golden = {}
for prefix, d in (("frame", ds), ("window", win)):
    for i in range(len(d)):
        for key, value in d[i].items():
            if isinstance(value, str):
                golden[f"{prefix}/{i}/{key}"] = np.array(value)
                continue
            v = value.numpy()
            if key.startswith("observation.images") and not key.endswith("_is_pad"):
                v = np.round(v * 255).astype(np.uint8)
            golden[f"{prefix}/{i}/{key}"] = v
log.append(f"read all {len(ds)} frames and {len(win)} windows through __getitem__: OK")
np.savez_compressed(os.path.join(here, "lerobot_golden.npz"), **golden)
with open(os.path.join(here, "lerobot_check.log"), "w") as fh:
    fh.write("\n".join(log) + "\n")
print("\n".join(log))
