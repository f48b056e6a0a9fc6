"""Schema validation on read: a rollout's datasets with the wrong rank, dtype or length are refused
with one line naming the file, the rollout and the dataset, before any trace is handed out; a
NaN-only series is flagged (issue 18, item 3)."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from recordings.errors import RecordingError
from recordings.reader import RecordingReader
from recordings.writer import RecordingWriter
from tests.recordings.helpers import ENV_ARGS, make_rollout


def write_good(path):
    with RecordingWriter(path, env_args=ENV_ARGS) as w:
        for i in range(2):
            w.write_rollout(make_rollout(i, steps=12))
    return path


def replace(path, name, value, rollout=1):
    with h5py.File(path, "r+") as f:
        group = f[f"data/demo_{rollout}"]
        del group[name]
        group[name] = value


BROKEN = [
    ("actions", np.zeros(12, np.float32), r"dataset 'actions' has shape \(12,\), expected \[T, D\]"),
    ("actions", np.zeros((12, 4, 1), np.float32), r"'actions' has shape \(12, 4, 1\), expected \[T, D\]"),
    ("actions", np.array([["a"] * 4] * 12, dtype="S3"), r"dataset 'actions' has dtype \|S3 \(not numbers\)"),
    ("states", np.zeros((11, 7)), r"dataset 'states' has 11 steps but 'actions' has 12"),
    ("rewards", np.zeros((12, 2), np.float32), r"dataset 'rewards' has shape \(12, 2\), expected \[T\]"),
    ("obs/ee_pos", np.zeros((13, 3)), r"dataset 'obs/ee_pos' has 13 steps but 'actions' has 12"),
    ("replans/samples", np.zeros((3, 4, 16, 5), np.float32),
     r"'replans/samples' has shape \(3, 4, 16, 5\), expected \[R, N, H, 4\]"),
]


@pytest.mark.parametrize("name, value, message", BROKEN, ids=[f"{b[0]}-{i}" for i, b in enumerate(BROKEN)])
def test_inconsistent_datasets_are_refused_naming_rollout_and_dataset(tmp_path, name, value, message):
    path = write_good(tmp_path / "r.h5")
    replace(path, name, value)
    with RecordingReader(path) as reader:
        np.asarray(reader.rollout(0).actions())            # the other rollout is fine
        with pytest.raises(RecordingError, match=message) as info:
            ro = reader.rollout(1)
            ro.actions()
            len(ro.replans)
    text = str(info.value)
    assert text.startswith(f"{path}: rollout 1: ") and "\n" not in text


def test_nan_only_series_are_flagged(tmp_path):
    path = write_good(tmp_path / "r.h5")
    replace(path, "actions", np.full((12, 4), np.nan, np.float32))
    with RecordingReader(path) as reader:
        assert reader.rollout(1).all_nan() == ["actions"]
        assert reader.rollout(0).all_nan() == []
