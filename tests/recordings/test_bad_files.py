"""Bad input: every broken file gives one RecordingError line naming the file and the problem."""
from __future__ import annotations

import os
import shutil

import h5py
import numpy as np
import pytest

from recordings.errors import RecordingError, UserFacingError
from recordings.reader import RecordingReader
from recordings.writer import RecordingWriter
from tests.recordings.helpers import ENV_ARGS, make_rollout


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.h5"
    with RecordingWriter(path, env_args=ENV_ARGS) as w:
        for i in range(3):
            w.write_rollout(make_rollout(i, steps=40))
    return path


def expect(path, pattern):
    with pytest.raises(RecordingError, match=pattern) as info:
        RecordingReader(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert isinstance(info.value, UserFacingError)


def test_missing_file(tmp_path):
    expect(tmp_path / "nope.h5", "no such file")


def test_folder(tmp_path):
    expect(tmp_path, "is a folder")


def test_empty_file(tmp_path):
    (tmp_path / "e.h5").write_bytes(b"")
    expect(tmp_path / "e.h5", "empty file")


def test_not_hdf5(tmp_path):
    (tmp_path / "x.h5").write_text("time,x\n0,1\n" * 100)
    expect(tmp_path / "x.h5", "not an HDF5 file")


def test_truncated(good, tmp_path):
    cut = tmp_path / "cut.h5"
    data = good.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    expect(cut, "truncated")


def test_corrupt_metadata(good, tmp_path):
    bad = tmp_path / "bad.h5"
    data = bytearray(good.read_bytes())
    # Keep the superblock, overwrite the metadata that follows it with garbage.
    data[200:6000] = os.urandom(5800)
    bad.write_bytes(bytes(data))
    with pytest.raises(RecordingError) as info:
        with RecordingReader(bad) as r:     # may fail on open or on the first read
            for ro in r:
                ro.actions()
                ro.events
                ro.replans
    assert str(bad) in str(info.value)


def test_unknown_newer_schema(good, tmp_path):
    newer = tmp_path / "newer.h5"
    shutil.copyfile(good, newer)
    with h5py.File(newer, "r+") as f:
        f.attrs["schema_version"] = 7
    expect(newer, "schema version 7 is newer than this planscope reads")


def test_older_unknown_schema(good, tmp_path):
    old = tmp_path / "old.h5"
    shutil.copyfile(good, old)
    with h5py.File(old, "r+") as f:
        f.attrs["schema_version"] = 0
    expect(old, "unknown schema version 0")


def test_hdf5_without_data_group(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(3)
    expect(path, "no 'data' group")


def test_interrupted_file_without_its_parts(tmp_path):
    path = tmp_path / "r.h5"
    w = RecordingWriter(path, env_args=ENV_ARGS)
    w.write_rollout(make_rollout(0))
    w._unlock()
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(path, moved / "r.h5")
    expect(moved / "r.h5", "parts folder .* is missing")


def test_replaced_while_open_is_detected(good, tmp_path):
    r = RecordingReader(good)
    assert not r.changed_on_disk()
    tmp = tmp_path / "new.h5"
    shutil.copyfile(good, tmp)
    os.replace(tmp, good)
    assert r.changed_on_disk()
    np.testing.assert_array_equal(r.rollout(0).actions(0), make_rollout(0, steps=40).actions[0])
    r.close()


def test_reader_of_a_live_file_after_the_writer_closes(tmp_path):
    path = tmp_path / "live.h5"
    w = RecordingWriter(path, env_args=ENV_ARGS)
    for i in range(3):
        w.write_rollout(make_rollout(i))
    r = RecordingReader(path)
    first = r.rollout(0)
    first.actions()
    w.close()                                    # merges, replaces the file, deletes the parts
    assert r.changed_on_disk()
    np.testing.assert_array_equal(first.actions(), make_rollout(0).actions)   # still open
    with pytest.raises(RecordingError, match="changed on disk"):
        r.rollout(2).actions()
    r.close()
    with RecordingReader(path) as fresh:
        assert len(fresh) == 3 and not fresh.partial
