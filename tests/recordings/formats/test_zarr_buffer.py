"""diffusion_policy replay buffers: a buffer written by DP's own ReplayBuffer (zarr 2.18.7, format
v2; data/dp_replay/make_fixture.py) against ReplayBuffer's own arrays, plus v3 and v2 stores
written here in the documented layout (data/<key> [N, ...], meta/episode_ends [E])."""
from __future__ import annotations

import os

import numpy as np
import pytest
import zarr

from recordings.dataset import DatasetError, open_dataset
from recordings.formats.zarr_buffer import ZarrReplayBuffer
from tests.recordings.formats.helpers import DP_GOLDEN, DP_REAL


def test_real_replay_buffer_matches_replaybuffer_arrays():
    g = np.load(DP_GOLDEN)
    ds = open_dataset(DP_REAL)
    assert isinstance(ds, ZarrReplayBuffer) and ds.zarr_format == 2
    assert [e.length for e in ds.episodes] == g["episode_lengths"].tolist()
    assert [e.start + e.length for e in ds.episodes] == g["episode_ends"].tolist()
    assert set(ds.features) == {"action", "img", "keypoint", "state"}
    assert ds.features["img"].kind == "image" and ds.features["img"].shape == (24, 24, 3)
    assert ds.features["state"].kind == "state" and ds.action_key == "action"
    for e in range(len(ds)):
        sl = ds.episode_slice(e)
        for key in ds.features:
            np.testing.assert_array_equal(sl[key], g[f"episode{e}/{key}"])
    for key in ds.features:                       # a slice across chunk boundaries
        np.testing.assert_array_equal(ds.episode_slice(1, 2, 11, [key])[key],
                                      g[f"data/{key}"][9:18])
        np.testing.assert_array_equal(ds.column(key), g[f"data/{key}"])


def test_history_pads_with_edge_frames_like_dp_and_lerobot():
    ds = open_dataset(DP_REAL)
    g = np.load(DP_GOLDEN)
    w = ds.window(2, 0, {"state": [-1, 0], "action": range(8)})
    ep = g["episode2/state"], g["episode2/action"]
    assert w["state_is_pad"].tolist() == [True, False]
    np.testing.assert_array_equal(w["state"], ep[0][[0, 0]])
    assert w["action_is_pad"].tolist() == [False] * 5 + [True] * 3   # episode has 5 steps
    np.testing.assert_array_equal(w["action"], ep[1][[0, 1, 2, 3, 4, 4, 4, 4]])


def _write(path: str, fmt: int, lengths=(3, 4), with_ends=True, bad_len=False) -> dict:
    root = zarr.open_group(path, mode="w", zarr_format=fmt)
    n = sum(lengths)
    arrays = {"action": np.arange(n * 2, dtype=np.float32).reshape(n, 2),
              "obs": np.arange(n * 3, dtype=np.float64).reshape(n, 3) * 0.5}
    data = root.create_group("data")
    for k, v in arrays.items():
        rows = n + 1 if bad_len and k == "obs" else n
        a = data.create_array(k, shape=(rows, *v.shape[1:]), dtype=v.dtype, chunks=(2, v.shape[1]))
        a[:n] = v
    meta = root.create_group("meta")
    if with_ends:
        meta.create_array("episode_ends", shape=(len(lengths),), dtype=np.int64)[:] = \
            np.cumsum(lengths)
    return arrays


@pytest.mark.parametrize("fmt", [2, 3])
def test_documented_layout_both_zarr_formats(tmp_path, fmt):
    path = str(tmp_path / f"b{fmt}.zarr")
    arrays = _write(path, fmt)
    assert os.path.isfile(os.path.join(path, "zarr.json" if fmt == 3 else ".zgroup"))
    ds = open_dataset(path)
    assert ds.zarr_format == fmt and [e.length for e in ds.episodes] == [3, 4]
    np.testing.assert_array_equal(ds.frame(1, 2)["obs"], arrays["obs"][5])
    np.testing.assert_array_equal(ds.episode_slice(1)["action"], arrays["action"][3:])
    assert ds.features["obs"].dtype == "float64"


def test_missing_episode_ends_is_one_line(tmp_path):
    path = str(tmp_path / "noends.zarr")
    _write(path, 3, with_ends=False)
    with pytest.raises(DatasetError, match=r"noends\.zarr: no meta/episode_ends"):
        open_dataset(path)


def test_length_mismatch_is_one_line(tmp_path):
    path = str(tmp_path / "bad.zarr")
    _write(path, 2, bad_len=True)
    with pytest.raises(DatasetError, match=r"bad\.zarr: data/obs has 8 steps but "
                                           r"meta/episode_ends ends at 7"):
        open_dataset(path)


def test_missing_chunk_is_reported(tmp_path):
    path = str(tmp_path / "chunk.zarr")
    _write(path, 2)
    os.remove(os.path.join(path, "data", "obs", "1.0"))
    ds = open_dataset(path)
    # zarr fills a missing chunk with the fill value (0): DP's own reads behave the same; a
    # removed group is what we can detect
    assert ds.frame(0, 2)["obs"].tolist() == [0.0, 0.0, 0.0]
    import shutil
    shutil.rmtree(os.path.join(path, "meta"))
    with pytest.raises(DatasetError, match="not a diffusion_policy replay buffer"):
        open_dataset(path)


def test_policy_keys_the_data_lacks_name_both_sides():
    ds = open_dataset(DP_REAL)
    with pytest.raises(DatasetError, match=r"the policy needs obs\.agent_pos but the data set "
                                           r"has only action, img, keypoint, state"):
        ds.require(["obs.agent_pos", "state"])
