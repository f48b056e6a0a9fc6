"""planscope's LeRobot v3 writer / exporter: LeRobot 0.4.4's own LeRobotDataset loaded the
committed export (data/planscope_export/: make_fixture.py wrote it, check_with_lerobot.py loaded it
with LeRobot and saved lerobot_golden.npz + lerobot_check.log); the reader round-trips what the
writer writes; nothing is half-written."""
from __future__ import annotations

import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from recordings.dataset import DatasetError, open_dataset
from recordings.formats.lerobot_export import export_lerobot, split_names
from recordings.formats.lerobot_v3_writer import LeRobotV3Writer
from tests.recordings.formats.helpers import EXPORT_DIR, golden_image

CAM = "observation.images.front"


def test_lerobot_loaded_planscope_export_and_reader_agrees():
    log = open(os.path.join(EXPORT_DIR, "lerobot_check.log")).read()
    assert "LeRobotDataset loaded" in log and "read all 33 frames and 33 windows" in log
    g = np.load(os.path.join(EXPORT_DIR, "lerobot_golden.npz"))
    ds = open_dataset(os.path.join(EXPORT_DIR, "lerobot"))
    i = 0
    deltas = {"observation.state": [-1, 0], CAM: [-1, 0], "action": [0, 1, 2, 3]}
    for ep in ds.episodes:
        for t in range(ep.length):
            for key, value in ds.frame(ep.index, t).items():
                want = g[f"frame/{i}/{key}"]
                np.testing.assert_array_equal(value, golden_image(want) if key == CAM else want)
            win = ds.window(ep.index, t, deltas)
            for key, value in win.items():
                want = g[f"window/{i}/{key}"]
                want = golden_image(want) if key == CAM else want
                np.testing.assert_array_equal(value, want.astype(value.dtype))
            i += 1
    assert i == 33


def test_export_matches_source_and_committed_export(tmp_path):
    src = open_dataset(os.path.join(EXPORT_DIR, "demos.h5"))
    out = export_lerobot(src, str(tmp_path / "out"), fps=10, camera="front")
    ds = open_dataset(out)
    assert [(e.length, e.mode, e.success, e.task) for e in ds.episodes] == \
        [(e.length, e.mode, e.success, "mug_grasp") for e in src.episodes]
    names = ds.features["observation.state"].names
    assert split_names(names) == [("ee_pos", 3), ("gripper", 1)]
    assert split_names(ds.features["observation.environment_state"].names) == \
        [("mug_pos", 3), ("mug_yaw", 2)]
    assert ds.features["action"].names == ("x", "y", "z", "gripper")
    committed = open_dataset(os.path.join(EXPORT_DIR, "lerobot"))
    for e in src.episodes:
        a, b = src.episode_slice(e.index), ds.episode_slice(e.index)
        state = np.hstack([a["ee_pos"], a["gripper"]]).astype(np.float32)
        np.testing.assert_array_equal(b["observation.state"], state)
        np.testing.assert_array_equal(b["observation.environment_state"],
                                      np.hstack([a["mug_pos"], a["mug_yaw"]]).astype(np.float32))
        np.testing.assert_array_equal(b["action"], a["actions"].astype(np.float32))
        np.testing.assert_array_equal(b["next.done"], a["dones"])
        err = np.abs(b[CAM].astype(int) - a["front"].astype(int)).mean()
        assert err < 6, err                       # lossy AV1 at crf 30 on 32x32 frames
        c = committed.episode_slice(e.index)
        for key in ("observation.state", "action", "next.reward", CAM):
            np.testing.assert_array_equal(b[key], c[key])   # the writer still writes the same


def test_writer_layout_is_lerobots(tmp_path):
    out = str(tmp_path / "l")
    with LeRobotV3Writer(out, fps=15, features={
            "observation.state": {"dtype": "float32", "shape": [2]},
            "action": {"dtype": "float32", "shape": [1]}}) as w:
        w.add_episode({"observation.state": np.ones((3, 2)), "action": np.zeros((3, 1))}, "a")
        w.add_episode({"observation.state": np.ones((2, 2)), "action": np.zeros((2, 1))}, "b")
    data = pq.ParquetFile(os.path.join(out, "data/chunk-000/file-000.parquet"))
    assert data.metadata.num_row_groups == 2                # one row group per episode
    assert data.schema_arrow.names == ["observation.state", "action", "timestamp",
                                       "frame_index", "episode_index", "index", "task_index"]
    assert str(data.schema_arrow.field("observation.state").type) == \
        "fixed_size_list<element: float>[2]"          # as in the file LeRobot wrote
    tasks = pq.read_table(os.path.join(out, "meta/tasks.parquet"))
    assert b"pandas" in tasks.schema.metadata
    assert tasks.column("__index_level_0__").to_pylist() == ["a", "b"]
    ds = open_dataset(out)
    assert ds.fps == 15 and ds.frame(1, 1)["timestamp"] == pytest.approx(1 / 15)
    assert ds.frame(1, 0)["task_index"] == 1 and ds.frame(1, 0)["index"] == 3


def test_existing_destination_refused_and_failure_leaves_nothing(tmp_path):
    out = tmp_path / "dest"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    feats = {"observation.state": {"dtype": "float32", "shape": [2]}}
    with pytest.raises(DatasetError, match="dest: already exists"):
        LeRobotV3Writer(str(out), fps=10, features=feats)
    with pytest.raises(RuntimeError):
        with LeRobotV3Writer(str(tmp_path / "new"), fps=10, features=feats) as w:
            w.add_episode({"observation.state": np.ones((3, 2))}, "t")
            raise RuntimeError("interrupted")
    assert sorted(os.listdir(tmp_path)) == ["dest"]         # no new folder, no temp folder
    with pytest.raises(DatasetError, match="episode lacks feature"):
        with LeRobotV3Writer(str(tmp_path / "new"), fps=10, features=feats) as w:
            w.add_episode({"action": np.ones((3, 2))}, "t")
    assert sorted(os.listdir(tmp_path)) == ["dest"]
    with LeRobotV3Writer(str(out), fps=10, features=feats, overwrite=True) as w:
        w.add_episode({"observation.state": np.ones((3, 2))}, "t")
    assert sorted(os.listdir(out)) == ["data", "meta"]


def test_export_refuses_a_camera_that_was_not_recorded(tmp_path):
    src = open_dataset(os.path.join(EXPORT_DIR, "demos.h5"))
    with pytest.raises(DatasetError, match=r"no camera 'wrist' recorded; images in the file: "
                                           r"front"):
        export_lerobot(src, str(tmp_path / "o"), fps=10, camera="wrist")
    assert os.listdir(tmp_path) == []


def test_scene_front_camera_is_the_recorded_image_key(tmp_path):
    from tests.recordings.helpers import ENV_ARGS, make_rollout
    from recordings.header import write_recording
    h5 = str(tmp_path / "r.h5")
    write_recording(h5, [make_rollout(i, steps=5) for i in range(2)], env_args=ENV_ARGS)
    with pytest.raises(DatasetError, match=r"H\.264 \(yuv420p\) needs even frame sizes, "
                                           r"camera is 5x4"):
        export_lerobot(open_dataset(h5), str(tmp_path / "o"), fps=10, camera="front",
                       codec="libx264")
    assert sorted(os.listdir(tmp_path)) == ["r.h5"]
    out = export_lerobot(open_dataset(h5), str(tmp_path / "o"), fps=10, camera="front")
    ds = open_dataset(out)
    assert ds.features["observation.images.front"].shape == (4, 5, 3)
    assert ds.frame(1, 4)["observation.images.front"].shape == (4, 5, 3)


def test_dp_buffer_exports_with_flattened_keypoints(tmp_path):
    from tests.recordings.formats.helpers import DP_REAL
    src = open_dataset(DP_REAL)
    ds = open_dataset(export_lerobot(src, str(tmp_path / "dp"), fps=10, camera="img"))
    assert split_names(ds.features["observation.environment_state"].names) == [("keypoint", 18)]
    assert ds.features["observation.state"].names[:2] == ("state.0", "state.1")
    for e in range(len(src)):
        a, b = src.episode_slice(e), ds.episode_slice(e)
        np.testing.assert_array_equal(b["observation.environment_state"],
                                      a["keypoint"].reshape(len(a["keypoint"]), -1))
        np.testing.assert_array_equal(b["action"], a["action"])
        assert [x.success for x in ds.episodes] == [None] * 3
