"""Writes tests/recordings/formats/data/lerobot_v3/{dataset/, golden.npz} with LeRobot 0.4.4's OWN
writer (LeRobotDataset.create / add_frame / save_episode / finalize) and records what LeRobot's own
reader returns. Not part of CI; run in a scratch venv (see pip_freeze.txt: lerobot 0.4.4 installed
--no-deps, torch 2.8.0 + torchvision 0.23.0 from PyPI, whose torchvision still has the "pyav" video
backend LeRobot falls back to without torchcodec):

    python make_fixture.py OUT_DIR

Three episodes (lengths 9, 14, 6; two tasks) at 10 fps: observation.state [4],
observation.environment_state [5], action [4], next.reward, next.done and one 64x64 camera
observation.images.front stored as AV1 video (LeRobot's default libsvtav1 encoder).
Goldens: every frame of LeRobotDataset(root=...)[i] (camera as uint8 = round(255 * value)) and the
same with delta_timestamps (observation history of 3 / camera history of 2 / action chunk of 8,
with LeRobot's *_is_pad), decoded with video_backend="pyav".
"""
import os
import sys

import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset

out = sys.argv[1]
root = os.path.join(out, "dataset")
FPS = 10
features = {
    "observation.state": {"dtype": "float32", "shape": (4,),
                          "names": ["ee_pos.x", "ee_pos.y", "ee_pos.z", "gripper"]},
    "observation.environment_state": {"dtype": "float32", "shape": (5,), "names": None},
    "action": {"dtype": "float32", "shape": (4,), "names": ["x", "y", "z", "gripper"]},
    "next.reward": {"dtype": "float32", "shape": (1,), "names": None},
    "next.done": {"dtype": "bool", "shape": (1,), "names": None},
    "observation.images.front": {"dtype": "video", "shape": (64, 64, 3),
                                 "names": ["height", "width", "channels"]},
}
ds = LeRobotDataset.create("planscope/fixture", fps=FPS, features=features, root=root,
                           use_videos=True, robot_type="panda")
rng = np.random.default_rng(3)
yy, xx = np.mgrid[0:64, 0:64]
for e, (length, task) in enumerate([(9, "grasp the mug"), (14, "reach the target"),
                                    (6, "grasp the mug")]):
    for t in range(length):
        img = np.zeros((64, 64, 3), np.uint8)
        img[..., 0] = (xx * 4 + t * 9) % 256
        img[..., 1] = (yy * 4 + e * 50) % 256
        cx, cy = 10 + 3 * t % 44, 20 + 5 * e
        img[cy:cy + 12, cx:cx + 12, 2] = 255
        ds.add_frame({
            "observation.state": (rng.normal(size=4) + t).astype(np.float32),
            "observation.environment_state": rng.normal(size=5).astype(np.float32),
            "action": rng.normal(size=4).astype(np.float32),
            "next.reward": np.array([float(t == length - 1)], np.float32),
            "next.done": np.array([t == length - 1]),
            "observation.images.front": img,
            "task": task,
        })
    ds.save_episode()
ds.finalize()

golden = {}
plain = LeRobotDataset("planscope/fixture", root=root, video_backend="pyav")
deltas = {"observation.state": [-0.2, -0.1, 0.0], "observation.images.front": [-0.1, 0.0],
          "action": [i / FPS for i in range(8)]}
windowed = LeRobotDataset("planscope/fixture", root=root, video_backend="pyav",
                          delta_timestamps=deltas)
for i in range(len(plain)):
    for prefix, item in (("frame", plain[i]), ("window", windowed[i])):
        for key, value in item.items():
            if isinstance(value, str):
                golden[f"{prefix}/{i}/{key}"] = np.array(value)
                continue
            v = value.numpy()
            if key.startswith("observation.images") and not key.endswith("_is_pad"):
                v = np.round(v * 255).astype(np.uint8)
            golden[f"{prefix}/{i}/{key}"] = v
golden["num_frames"] = np.array(len(plain))
golden["episode_lengths"] = np.array([plain.meta.episodes[e]["length"]
                                      for e in range(plain.meta.total_episodes)])
np.savez_compressed(os.path.join(out, "golden.npz"), **golden)
print("frames", len(plain), "episodes", plain.meta.total_episodes,
      "codec", plain.meta.info["features"]["observation.images.front"]["info"]["video.codec"])
