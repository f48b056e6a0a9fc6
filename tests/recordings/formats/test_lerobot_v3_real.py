"""The LeRobot v3 reader against a data set LeRobot 0.4.4 itself wrote (data/lerobot_v3/, made by
make_fixture.py there) and the values LeRobotDataset(root=...)[i] returned (golden.npz): every
frame, every observation-history / action-chunk window with *_is_pad, AV1 camera frames decoded
bit-identically to LeRobot's pyav backend."""
from __future__ import annotations

import numpy as np
import pytest

from recordings.dataset import open_dataset
from recordings.formats.lerobot_v3 import LeRobotV3Dataset
from tests.recordings.formats.helpers import LEROBOT_GOLDEN, LEROBOT_REAL, golden_image

CAM = "observation.images.front"
DELTAS = {"observation.state": [-2, -1, 0], CAM: [-1, 0], "action": list(range(8))}


@pytest.fixture(scope="module")
def ds():
    with open_dataset(LEROBOT_REAL) as d:
        yield d


@pytest.fixture(scope="module")
def golden():
    return np.load(LEROBOT_GOLDEN)


def test_listing_from_metadata(ds, golden):
    assert isinstance(ds, LeRobotV3Dataset)
    assert [e.length for e in ds.episodes] == golden["episode_lengths"].tolist()
    assert [e.task for e in ds.episodes] == ["grasp the mug", "reach the target", "grasp the mug"]
    assert [e.start for e in ds.episodes] == [0, 9, 23]
    assert all(e.success is None for e in ds.episodes)      # LeRobot has no success column
    assert ds.num_frames == int(golden["num_frames"]) and ds.fps == 10
    f = ds.features
    assert f["observation.state"].names == ("ee_pos.x", "ee_pos.y", "ee_pos.z", "gripper")
    assert (f["observation.state"].kind, f["observation.environment_state"].kind,
            f["action"].kind, f[CAM].kind) == ("state", "environment", "action", "image")
    assert f[CAM].video and f[CAM].shape == (64, 64, 3) and f[CAM].dtype == "uint8"


def test_every_frame_matches_lerobot(ds, golden):
    i = 0
    for ep in ds.episodes:
        for t in range(ep.length):
            frame = ds.frame(ep.index, t)
            for key, value in frame.items():
                want = golden[f"frame/{i}/{key}"]
                want = golden_image(want) if key == CAM else want
                assert value.shape == want.shape, key
                np.testing.assert_array_equal(value, want, err_msg=f"frame {i} {key}")
            i += 1


def test_windows_and_padding_match_lerobot(ds, golden):
    i = 0
    for ep in ds.episodes:
        for t in range(ep.length):
            win = ds.window(ep.index, t, DELTAS)
            for key in [*DELTAS, *(k + "_is_pad" for k in DELTAS)]:
                want = golden[f"window/{i}/{key}"]
                want = golden_image(want) if key == CAM else want
                np.testing.assert_array_equal(win[key], want.astype(win[key].dtype),
                                              err_msg=f"window {i} {key}")
            i += 1


def test_history_at_episode_start_repeats_first_frame(ds):
    h = ds.history(1, 0, ["observation.state", CAM], 3)
    assert h["observation.state_is_pad"].tolist() == [True, True, False]
    assert np.array_equal(h["observation.state"][0], h["observation.state"][2])
    assert np.array_equal(h[CAM][0], h[CAM][2])


def test_episode_slice_equals_frames(ds):
    sl = ds.episode_slice(1, 3, 9, keys=["action", CAM])
    assert sl["action"].shape == (6, 4) and sl[CAM].shape == (6, 64, 64, 3)
    for j, t in enumerate(range(3, 9)):
        fr = ds.frame(1, t, keys=["action", CAM])
        assert np.array_equal(sl["action"][j], fr["action"])
        assert np.array_equal(sl[CAM][j], fr[CAM])


def test_column_over_all_frames(ds, golden):
    col = ds.column("observation.state")
    assert col.shape == (29, 4)
    assert np.array_equal(col[23], golden["frame/23/observation.state"])
