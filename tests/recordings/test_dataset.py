"""The Dataset interface: LeRobot's window rule on every format, the HDF5 wrapper over
RecordingReader, feature kinds, and one-line errors."""
from __future__ import annotations

import numpy as np
import pytest

from recordings.dataset import DatasetError, feature_kind, open_dataset
from recordings.formats.hdf5 import HDF5Dataset
from recordings.header import write_recording
from tests.recordings.formats.helpers import DP_REAL, LEROBOT_REAL, lerobot_query
from tests.recordings.helpers import ENV_ARGS, make_rollout


@pytest.fixture(scope="module")
def h5(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("ds") / "rec.h5")
    write_recording(path, [make_rollout(i, steps=6 + 2 * i) for i in range(4)], env_args=ENV_ARGS)
    return path


def test_hdf5_listing_and_features(h5):
    ds = open_dataset(h5)
    assert isinstance(ds, HDF5Dataset) and ds.format_name == "planscope"
    assert [e.length for e in ds.episodes] == [6, 8, 10, 12]
    assert [e.start for e in ds.episodes] == [0, 6, 14, 24]
    assert [e.success for e in ds.episodes] == [False, True, True, False]
    assert [e.mode for e in ds.episodes] == ["left", "right", "left", "right"]
    assert ds.episodes[2].extra["seed"] == 102 and ds.episodes[0].task == "mug_grasp"
    kinds = {k: f.kind for k, f in ds.features.items()}
    assert kinds == {"ee_pos": "state", "gripper": "state", "image": "image",
                     "actions": "action", "rewards": "reward", "dones": "done"}
    assert ds.features["image"].shape == (4, 5, 3) and ds.action_key == "actions"


def test_hdf5_frames_equal_the_rollout(h5):
    ds = open_dataset(h5)
    r = make_rollout(2, steps=10)
    np.testing.assert_array_equal(ds.frame(2, 4)["ee_pos"], r.obs["ee_pos"][4])
    np.testing.assert_array_equal(ds.episode_slice(2, 3, 7, ["actions"])["actions"],
                                  np.asarray(r.actions[3:7], np.float32))
    np.testing.assert_array_equal(ds.column("gripper")[14:24], r.obs["gripper"])


@pytest.mark.parametrize("path", ["h5", LEROBOT_REAL, DP_REAL])
def test_window_rule_is_lerobots_everywhere(path, h5):
    ds = open_dataset(h5 if path == "h5" else path)
    key = ds.action_key
    deltas = [-3, -1, 0, 2, 5, 9]
    for ep in ds.episodes:
        whole = ds.episode_slice(ep.index, keys=[key])[key]
        for t in range(ep.length):
            idx, pad = lerobot_query(ep.start + t, ep.start, ep.start + ep.length, deltas)
            w = ds.window(ep.index, t, {key: deltas})
            assert w[f"{key}_is_pad"].tolist() == pad
            np.testing.assert_array_equal(w[key], whole[np.array(idx) - ep.start])


def test_bounds_and_missing_keys(h5):
    ds = open_dataset(h5)
    with pytest.raises(IndexError, match="episode 4 out of range"):
        ds.frame(4, 0)
    with pytest.raises(IndexError, match="frame 6 out of range"):
        ds.window(0, 6, {"actions": [0]})
    assert ds.frame(0, -1)["dones"]
    with pytest.raises(DatasetError, match=r"rec\.h5: the policy needs observation\.state but "
                                           r"the data set has only ee_pos, gripper"):
        ds.require(["observation.state"])
    assert ds.episode_slice(1, 5, 2)["actions"].shape == (0, 4)


def test_hdf5_errors_are_dataset_errors(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.raises(DatasetError, match=r"bad\.h5: not an HDF5 file"):
        open_dataset(str(bad))


def test_feature_kinds():
    assert feature_kind("observation.images.top", "video", (96, 96, 3)) == "image"
    assert feature_kind("observation.environment_state", "float32", (5,)) == "environment"
    assert feature_kind("observation.state", "float32", (2,)) == "state"
    assert feature_kind("agent_pos", "float32", (2,)) == "state"
    assert feature_kind("keypoint", "float32", (9, 2)) == "environment"
    assert feature_kind("img", "float32", (96, 96, 3)) == "image"
    assert feature_kind("camera0_rgb", "uint8", (64, 64, 3)) == "image"


MUG_SPEC = [("ee_pos", 3), ("gripper", 1), ("mug_pos", 3), ("mug_yaw", 2)]


def test_planscope_spec_is_found_in_the_recording_and_in_its_lerobot_export():
    from tests.recordings.formats.helpers import EXPORT_DIR
    import os
    h5 = open_dataset(os.path.join(EXPORT_DIR, "demos.h5"))
    lr = open_dataset(os.path.join(EXPORT_DIR, "lerobot"))
    assert lr.resolve(MUG_SPEC) == [("observation.state", slice(0, 3)),
                                    ("observation.state", slice(3, 4)),
                                    ("observation.environment_state", slice(0, 3)),
                                    ("observation.environment_state", slice(3, 5))]
    for e, t in [(0, 0), (1, 4), (2, 13)]:
        a, pad_a = h5.flat_history(e, t, MUG_SPEC, 2)
        b, pad_b = lr.flat_history(e, t, MUG_SPEC, 2)
        assert a.shape == (2, 9) and np.array_equal(a, b) and np.array_equal(pad_a, pad_b)
        assert pad_a.tolist() == [t == 0, False]
    np.testing.assert_array_equal(h5.flat_column(MUG_SPEC), lr.flat_column(MUG_SPEC))


def test_spec_the_data_lacks_names_both_sides():
    from tests.recordings.formats.helpers import EXPORT_DIR
    import os
    lr = open_dataset(os.path.join(EXPORT_DIR, "lerobot"))
    with pytest.raises(DatasetError, match=r"the policy needs target_pos \(size 3\) but the data "
                                           r"set has no such feature or named dimensions; it has "
                                           r"observation\.state \(ee_pos\.0, ee_pos\.1"):
        lr.resolve([("ee_pos", 3), ("target_pos", 3)])
    h5 = open_dataset(os.path.join(EXPORT_DIR, "demos.h5"))
    with pytest.raises(DatasetError, match=r"needs mug_yaw of size 3, the data set's mug_yaw "
                                           r"has shape \(2,\)"):
        h5.resolve([("mug_yaw", 3)])
