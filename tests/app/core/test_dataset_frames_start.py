"""The demonstrated and neighbour chunks line up with what will run: for a planner whose executed
part starts at plans[start] (PlannerSpec.action_start, To - 1 for LeRobot and diffusion_policy),
index `start` of the chunk is the action recorded at the frame itself."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.dataset_frames import LocalData, demonstrated_chunk
from recordings.dataset import open_dataset


@pytest.mark.parametrize("start", [0, 1, 2])
def test_demonstrated_chunk_is_aligned_to_action_start(bimodal_h5, start):
    ds = open_dataset(bimodal_h5)
    actions = np.asarray(ds.column(ds.action_key), np.float32)
    length = ds.episodes[1].length
    first = sum(e.length for e in ds.episodes[:1])
    horizon = 6
    for t in (0, 1, 5, length - 2):
        demo, mask = demonstrated_chunk(ds, 1, t, horizon, start)
        frames = np.clip(np.arange(t - start, t - start + horizon), 0, length - 1)
        np.testing.assert_array_equal(demo, actions[first + frames])
        np.testing.assert_array_equal(demo[start], actions[first + t])     # what runs at t
        np.testing.assert_array_equal(mask, (np.arange(t - start, t - start + horizon) >= 0)
                                      & (np.arange(t - start, t - start + horizon) < length))
        local = LocalData(ds, [], horizon, start)
        np.testing.assert_array_equal(local.chunks(np.asarray([first + t]))[0], demo)
