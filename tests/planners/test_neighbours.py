"""NeighbourIndex: exact K nearest frames (against brute force), history points clamped like the
data set's windows, the neighbours' chunks equal to the data set's action windows with is_pad."""
from __future__ import annotations

import numpy as np
import pytest

from planners.neighbours import NeighbourIndex
from planners.normalizer import MinMaxNormalizer
from recordings.dataset import DatasetError, open_dataset
from tests.recordings.formats.helpers import DP_REAL, LEROBOT_REAL


def test_exact_against_brute_force():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(5000, 6))
    index = NeighbourIndex(pts, np.arange(0, 5000, 50))
    for q in rng.normal(size=(5, 6)):
        near = index.query(q, 64)
        d = np.linalg.norm(pts - q, axis=1)
        want = np.argsort(d, kind="stable")[:64]
        assert set(near.rows[0]) == set(want)
        np.testing.assert_allclose(near.distances[0], d[want], rtol=1e-12)
        assert np.array_equal(near.episodes[0], near.rows[0] // 50)
        assert np.array_equal(near.frames[0], near.rows[0] % 50)
    assert index.build_seconds >= 0 and index.nbytes > pts.nbytes


def test_from_dataset_points_are_the_policy_view_with_history():
    ds = open_dataset(LEROBOT_REAL)
    col = ds.column("observation.state")
    norm = MinMaxNormalizer.fit(col)
    index = NeighbourIndex.from_dataset(ds, ["observation.state"], normalize=norm.normalize,
                                        n_obs_steps=2, action_key="action")
    assert index.size == 29 and index.dim == 8
    for e, t in [(0, 0), (1, 0), (1, 5), (2, 5)]:
        h = ds.history(e, t, ["observation.state"], 2)["observation.state"]
        near = index.query(norm.normalize(h).reshape(-1), 1)
        assert near.distances[0, 0] < 1e-6
        assert (near.episodes[0, 0], near.frames[0, 0]) == (e, t)
    own = index.query_frame(1, 5, 4)
    assert own.rows.shape == (1, 4) and 9 + 5 not in own.rows[0]


def test_chunks_equal_the_datasets_action_windows():
    ds = open_dataset(DP_REAL)
    index = NeighbourIndex.from_dataset(ds, ["state"], action_key="action")
    rows = np.arange(ds.num_frames)
    chunks, pad = index.chunks(rows, 8)
    for ep in ds.episodes:
        for t in range(ep.length):
            w = ds.window(ep.index, t, {"action": range(8)})
            np.testing.assert_array_equal(chunks[ep.start + t], w["action"])
            np.testing.assert_array_equal(pad[ep.start + t], w["action_is_pad"])


def test_bad_inputs():
    with pytest.raises(DatasetError, match="row 2 has non-finite"):
        NeighbourIndex(np.array([[0.0], [1.0], [np.nan]]), np.array([0]))
    index = NeighbourIndex(np.zeros((3, 2)), np.array([0]))
    with pytest.raises(DatasetError, match="query of size 3, the index holds observations of "
                                           "size 2"):
        index.query(np.zeros(3), 1)
    with pytest.raises(DatasetError, match="without an action column"):
        index.chunks(np.array([0]), 4)
    ds = open_dataset(DP_REAL)
    with pytest.raises(DatasetError, match="needs observation.state but the data set has only"):
        NeighbourIndex.from_dataset(ds, ["observation.state"])


def test_planscope_spec_index_over_a_lerobot_export():
    import os
    from tests.recordings.formats.helpers import EXPORT_DIR
    spec = [("ee_pos", 3), ("gripper", 1), ("mug_pos", 3), ("mug_yaw", 2)]
    lr = open_dataset(os.path.join(EXPORT_DIR, "lerobot"))
    index = NeighbourIndex.from_dataset(lr, spec, action_key="action")
    x, _ = lr.flat_history(2, 7, spec, 1)
    near = index.query(x[0], 3)
    assert (near.episodes[0, 0], near.frames[0, 0]) == (2, 7) and near.distances[0, 0] == 0
