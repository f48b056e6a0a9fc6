"""Writes tests/recordings/formats/data/planscope_export/{demos.h5, lerobot/} with planscope's own
exporter (run in the project venv):  python make_fixture.py OUT_DIR
Then check_with_lerobot.py (scratch venv with lerobot 0.4.4) loads lerobot/ with LeRobot's own
LeRobotDataset and records its values in lerobot_golden.npz and lerobot_check.log.
"""
import os
import sys

import numpy as np

from recordings.dataset import open_dataset
from recordings.formats.lerobot_export import export_lerobot
from recordings.header import write_recording
from recordings.rollout import Rollout


def rollout(i: int) -> Rollout:
    rng = np.random.default_rng(i)
    steps = 8 + 3 * i
    yy, xx = np.mgrid[0:32, 0:32]
    cam = np.zeros((steps, 32, 32, 3), np.uint8)
    for t in range(steps):
        cam[t, ..., 0] = (xx * 8 + 10 * t) % 256
        cam[t, ..., 1] = (yy * 8) % 256
        cam[t, 4 + t % 20:10 + t % 20, 8:14, 2] = 255
    return Rollout(
        obs={"ee_pos": rng.normal(size=(steps, 3)), "gripper": rng.uniform(size=(steps, 1)),
             "mug_pos": rng.normal(size=(steps, 3)), "mug_yaw": rng.normal(size=(steps, 2)),
             "front": cam},
        actions=rng.normal(size=(steps, 4)), states=rng.normal(size=(steps, 7)),
        rewards=(np.arange(steps) == steps - 1).astype(np.float32),
        dones=np.arange(steps) == steps - 1, events=[], replans=[], metrics={},
        seed=100 + i, policy="expert", perturbation={}, success=i != 1,
        failure_label="unlabelled", mode=("left", "right")[i % 2], attrs={})


out = sys.argv[1]
h5 = os.path.join(out, "demos.h5")
write_recording(h5, [rollout(i) for i in range(3)],
                env_args={"env_name": "mug_grasp", "type": "planscope", "env_kwargs": {},
                          "obs_spec": [["ee_pos", 3], ["gripper", 1], ["mug_pos", 3],
                                       ["mug_yaw", 2]]})
with open_dataset(h5) as ds:
    export_lerobot(ds, os.path.join(out, "lerobot"), fps=10, camera="front")
print("wrote", out)
