"""Writes tests/recordings/formats/data/dp_replay/{buffer_v2.zarr, golden.npz} with diffusion_policy's
OWN ReplayBuffer class (real-stanford/diffusion_policy @ 5ba07ac, diffusion_policy/common/replay_buffer.py,
copied verbatim next to this script in the scratch env). Not part of CI; run in a scratch venv with
zarr==2.18.7 numpy==1.26.4 (see pip_freeze.txt):

    python make_fixture.py OUT_DIR

Three episodes of a PushT-like layout: state [T,5] f32, keypoint [T,9,2] f32, action [T,2] f32,
img [T,24,24,3] uint8, written through ReplayBuffer.add_episode onto a DirectoryStore (the layout
diffusion_policy's demo collection uses), then the goldens are read back through ReplayBuffer.
"""
import os
import sys

import numpy as np
import zarr

from replay_buffer import ReplayBuffer  # diffusion_policy/common/replay_buffer.py, verbatim

out = sys.argv[1]
path = os.path.join(out, "buffer_v2.zarr")
rng = np.random.default_rng(7)
buf = ReplayBuffer.create_empty_zarr(storage=zarr.DirectoryStore(path))
for length in (7, 12, 5):
    t = np.arange(length, dtype=np.float32)[:, None]
    episode = {
        "state": (rng.normal(size=(length, 5)) + t).astype(np.float32),
        "keypoint": rng.uniform(0, 512, size=(length, 9, 2)).astype(np.float32),
        "action": rng.uniform(0, 512, size=(length, 2)).astype(np.float32),
        "img": rng.integers(0, 256, size=(length, 24, 24, 3), dtype=np.uint8),
    }
    # chunks: one per few steps so a slice really crosses chunk boundaries
    buf.add_episode(episode, chunks={"state": (4, 5), "keypoint": (4, 9, 2), "action": (4, 2),
                                     "img": (3, 24, 24, 3)})

reread = ReplayBuffer.create_from_path(path, mode="r")
golden = {"episode_ends": reread.episode_ends[:], "episode_lengths": reread.episode_lengths}
for key in reread.keys():
    golden[f"data/{key}"] = reread[key][:]
for i in range(reread.n_episodes):
    ep = reread.get_episode(i, copy=True)
    for key, value in ep.items():
        golden[f"episode{i}/{key}"] = value
np.savez(os.path.join(out, "golden.npz"), **golden)
print("episodes", reread.n_episodes, "steps", reread.n_steps, "keys", sorted(reread.keys()))
