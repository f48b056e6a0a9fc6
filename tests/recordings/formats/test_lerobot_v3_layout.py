"""LeRobot v3 folders built here by the documented layout (pyarrow by hand, and planscope's writer):
multi-file data, row-group selection, PNG image features, and every bad input as one line."""
from __future__ import annotations

import io
import json
import os
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from recordings.dataset import DatasetError, open_dataset
from recordings.formats.lerobot_v3_writer import LeRobotV3Writer
from tests.recordings.formats.helpers import LEROBOT_REAL

FEATURES = {"observation.state": {"dtype": "float32", "shape": [3], "names": None},
            "action": {"dtype": "float32", "shape": [2], "names": None},
            "observation.images.cam": {"dtype": "video", "shape": [16, 16, 3], "names": None}}


def _episode(e: int, n: int) -> dict:
    t = np.arange(n, dtype=np.float32)[:, None]
    img = np.zeros((n, 16, 16, 3), np.uint8)
    img[..., 0] = (np.arange(n) * 20)[:, None, None] % 256
    img[..., 1] = 40 * e
    return {"observation.state": np.hstack([t, t + e, -t]), "action": np.hstack([t * 2, t + e]),
            "observation.images.cam": img}


def _write(root: str, lengths=(5, 7, 4, 6), **kw) -> None:
    with LeRobotV3Writer(root, fps=10, features=FEATURES, **kw) as w:
        for e, n in enumerate(lengths):
            w.add_episode(_episode(e, n), "task", mode=("left", "right")[e % 2], seed=e,
                          success=e != 2)


def test_multi_file_dataset_reads_only_the_row_groups_it_needs(tmp_path, monkeypatch):
    root = str(tmp_path / "ds")
    _write(root, frames_per_file=12, codec="libx264")
    assert sorted(os.listdir(os.path.join(root, "data", "chunk-000"))) == \
        ["file-000.parquet", "file-001.parquet"]
    ds = open_dataset(root)
    assert [e.mode for e in ds.episodes] == ["left", "right", "left", "right"]
    assert [e.success for e in ds.episodes] == [True, True, False, True]
    assert ds.episodes[3].extra == {"seed": 3}
    calls = []
    real = pq.ParquetFile.read_row_groups
    monkeypatch.setattr(pq.ParquetFile, "read_row_groups",
                        lambda self, groups, columns=None, **k: calls.append((groups, columns))
                        or real(self, groups, columns=columns, **k))
    f = ds.frame(3, 4, keys=["observation.state"])
    assert f["observation.state"].tolist() == [4.0, 7.0, -4.0]
    assert calls == [([1], ["observation.state", "index"])]   # 2nd row group of file-001 only
    w = ds.window(1, 6, {"action": [0, 1, 2]})
    assert w["action_is_pad"].tolist() == [False, True, True]
    assert w["action"][:, 0].tolist() == [12.0, 12.0, 12.0]
    col = ds.column("observation.state")
    np.testing.assert_array_equal(col, np.concatenate(
        [ds.episode_slice(e, keys=["observation.state"])["observation.state"] for e in range(4)]))
    cam = ds.frame(2, 3, keys=["observation.images.cam"])["observation.images.cam"]
    assert abs(int(cam[..., 0].mean()) - 60) <= 3 and abs(int(cam[..., 1].mean()) - 80) <= 3


def test_png_image_feature(tmp_path):
    root = tmp_path / "img"
    (root / "meta" / "episodes" / "chunk-000").mkdir(parents=True)
    (root / "data" / "chunk-000").mkdir(parents=True)
    pngs = []
    for t in range(3):
        buf = io.BytesIO()
        Image.fromarray(np.full((4, 6, 3), 50 * t, np.uint8)).save(buf, format="PNG")
        pngs.append({"bytes": buf.getvalue(), "path": None})
    info = {"codebase_version": "v3.0", "fps": 5, "chunks_size": 1000,
            "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
            "video_path": None, "features": {
                "observation.image": {"dtype": "image", "shape": [4, 6, 3], "names": None},
                "index": {"dtype": "int64", "shape": [1], "names": None}}}
    (root / "meta" / "info.json").write_text(json.dumps(info))
    pq.write_table(pa.table({"observation.image": pngs, "index": [0, 1, 2]}),
                   root / "data" / "chunk-000" / "file-000.parquet")
    pq.write_table(pa.table({"episode_index": [0], "length": [3], "tasks": [["t"]],
                             "dataset_from_index": [0], "dataset_to_index": [3],
                             "data/chunk_index": [0], "data/file_index": [0]}),
                   root / "meta" / "episodes" / "chunk-000" / "file-000.parquet")
    ds = open_dataset(str(root))
    img = ds.frame(0, 2)["observation.image"]
    assert img.shape == (4, 6, 3) and int(img[0, 0, 0]) == 100


def _copy_real(tmp_path) -> str:
    root = str(tmp_path / "real")
    shutil.copytree(LEROBOT_REAL, root)
    return root


def _set_version(root: str, version) -> None:
    p = os.path.join(root, "meta", "info.json")
    info = json.load(open(p))
    info["codebase_version"] = version
    json.dump(info, open(p, "w"))


@pytest.mark.parametrize("version,message", [
    ("v2.1", r"LeRobotDataset v2\.1 is the older per-episode layout; convert it"),
    ("v2.0", r"LeRobotDataset v2\.0 is the older"),
    ("banana", r"unknown codebase_version 'banana'"),
    (None, r"unknown codebase_version 'None'"),
    ("v4.0", r"codebase_version v4\.0 is newer than planscope reads")])
def test_versions_refused_with_one_line(tmp_path, version, message):
    root = _copy_real(tmp_path)
    _set_version(root, version)
    with pytest.raises(DatasetError, match=r"info\.json: " + message) as err:
        open_dataset(root)
    assert "\n" not in str(err.value)


def test_missing_data_parquet_is_named(tmp_path):
    root = _copy_real(tmp_path)
    os.remove(os.path.join(root, "data", "chunk-000", "file-000.parquet"))
    ds = open_dataset(root)                       # listing needs only meta/
    assert len(ds) == 3
    with pytest.raises(DatasetError, match=r"file-000\.parquet: missing parquet file"):
        ds.frame(0, 0)


def test_truncated_parquet_is_named(tmp_path):
    root = _copy_real(tmp_path)
    p = os.path.join(root, "data", "chunk-000", "file-000.parquet")
    with open(p, "r+b") as fh:
        fh.truncate(os.path.getsize(p) // 2)
    with pytest.raises(DatasetError, match=r"file-000\.parquet: not a readable parquet file"):
        open_dataset(root).frame(0, 0)


def test_missing_episode_metadata_is_named(tmp_path):
    root = _copy_real(tmp_path)
    shutil.rmtree(os.path.join(root, "meta", "episodes"))
    with pytest.raises(DatasetError, match=r"meta/episodes: no episode metadata"):
        open_dataset(root)


def test_truncated_video_is_named(tmp_path):
    root = _copy_real(tmp_path)
    p = os.path.join(root, "videos", "observation.images.front", "chunk-000", "file-000.mp4")
    data = open(p, "rb").read()
    open(p, "wb").write(data[: len(data) // 3])
    ds = open_dataset(root)
    with pytest.raises(DatasetError, match=r"file-000\.mp4: .*truncated"):
        for e in ds.episodes:                          # some frame is gone, wherever it is
            ds.episode_slice(e.index, keys=["observation.images.front"])


def test_video_shorter_than_metadata_is_named(tmp_path):
    root = _copy_real(tmp_path)
    # episode 2's segment starts past the end of the file: metadata and video disagree
    p = os.path.join(root, "meta", "episodes", "chunk-000", "file-000.parquet")
    t = pq.read_table(p)
    col = "videos/observation.images.front/from_timestamp"
    t = t.set_column(t.schema.get_field_index(col), col, pa.array([0.0, 0.9, 9.0]))
    pq.write_table(t, p)
    ds = open_dataset(root)
    with pytest.raises(DatasetError, match=r"file-000\.mp4: no frame"):
        ds.frame(2, 0, keys=["observation.images.front"])


def test_not_a_dataset(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(DatasetError, match="not a data set planscope reads"):
        open_dataset(str(tmp_path / "x"))
    with pytest.raises(DatasetError, match="no such file or folder"):
        open_dataset(str(tmp_path / "nope"))


def test_one_big_row_group_like_lerobots_converter_writes(tmp_path, monkeypatch):
    root = _copy_real(tmp_path)
    p = os.path.join(root, "data", "chunk-000", "file-000.parquet")
    pq.write_table(pq.read_table(p), p, row_group_size=1 << 20)   # pandas/aggregate-style file
    assert pq.ParquetFile(p).metadata.num_row_groups == 1
    g = np.load(os.path.join(os.path.dirname(LEROBOT_REAL), "golden.npz"))
    ds = open_dataset(root)
    calls = []
    real = pq.ParquetFile.read_row_groups
    monkeypatch.setattr(pq.ParquetFile, "read_row_groups",
                        lambda self, groups, columns=None, **k: calls.append(groups)
                        or real(self, groups, columns=columns, **k))
    for e, t, i in [(1, 4, 13), (1, 5, 14), (2, 0, 23)]:
        np.testing.assert_array_equal(ds.frame(e, t, ["action"])["action"],
                                      g[f"frame/{i}/action"])
    assert calls == [[0]]          # decoded once, the next frames are slices of the cached group
