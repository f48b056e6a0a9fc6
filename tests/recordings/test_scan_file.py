"""Scan files: write chunk by chunk, read back (index while running, merged after close), resume,
partial files that say why, and bad files that fail in one line."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from recordings.formats.scan_file import ScanFileError, ScanWriter
from recordings.formats.scan_reader import ScanReader, is_scan_file
from recordings.scan_ranking import summary_json
from tests.recordings.scan_helpers import COLUMNS, HEADER, keys_for, rows


def write(path, chunks, *, close=True, **kw):
    w = ScanWriter(path, columns=COLUMNS, header=HEADER, durable=False, **kw)
    for keys in chunks:
        w.write_chunk(rows(keys))
    if close:
        w.close()
    return w


def check_rows(reader: ScanReader, keys):
    want = rows(sorted(keys))
    for col in ("episode", "frame", "demo_dist_nearest", "spread", "collapsed"):
        np.testing.assert_array_equal(reader.column(col), want[col])
    pick = [0, len(keys) // 2, len(keys) - 1]
    np.testing.assert_array_equal(reader.rows("plans", pick), want["plans"][pick])


def test_roundtrip_out_of_order_chunks_are_read_sorted(tmp_path):
    path = tmp_path / "scan.h5"
    keys = keys_for(range(4), 10)
    chunks = [keys[20:], keys[5:20], keys[:5]]        # workers finish in any order
    w = write(path, chunks, close=False)
    assert w.num_rows == len(keys) and w.done_keys == set(keys)
    with ScanReader(path) as r:                        # while running: the index layout
        assert r.layout == "index" and r.status.startswith("interrupted")
        check_rows(r, keys)
    w.close()
    assert not (tmp_path / "scan.h5.parts").exists()
    with ScanReader(path) as r:
        assert r.layout == "single" and not r.partial and r.status == f"complete ({len(keys)} frames)"
        check_rows(r, keys)
        assert r.header == HEADER
        assert r.find(2, 6) == keys.index((2, 6)) and r.find(2, 7) == -1
        grid, episodes = r.heat_map("demo_dist_nearest", policy=1)
        assert grid.shape == (4, 5) and episodes.tolist() == [0, 1, 2, 3]
        assert grid[2, 3] == pytest.approx((2 * 1000 + 6) / 2e4)
        worst = r.table("worst")
        assert set(worst["queue"]) == {"hardness"} and worst["policy"].max() == 1
    assert is_scan_file(path) and not is_scan_file(tmp_path / "none.h5")


def test_plain_h5py_reads_index_and_merged(tmp_path):
    path = tmp_path / "scan.h5"
    keys = keys_for(range(2), 6)
    w = write(path, [keys[:3], keys[3:]], close=False)
    with h5py.File(path, "r") as f:                    # external links, followed by h5py
        assert f.attrs["format"] == "planscope-scan" and f.attrs["layout"] == "index"
        assert f["chunk_rows"][()].tolist() == [3, 3]
        np.testing.assert_array_equal(f["chunks/c_1/frame"][()], rows(keys[3:])["frame"])
    w.close()
    with h5py.File(path, "r") as f:
        assert json.loads(f.attrs["header"]) == HEADER
        np.testing.assert_array_equal(f["frames/plans"][()], rows(keys)["plans"])
        assert f["episodes/frames"][()].tolist() == [3, 3]
        assert f["dataset/frames"][()].tolist() == [6, 6]


def test_resume_from_index_and_from_merged_file(tmp_path):
    path = tmp_path / "scan.h5"
    keys = keys_for(range(3), 12)
    w = write(path, [keys[:4], keys[4:7]], close=False)
    w._unlock()                                         # as if killed: the index stays
    w2 = ScanWriter(path, columns=COLUMNS, header=HEADER, mode="a", durable=False,
                    resume_keys=("policies", "data"))
    assert w2.done_keys == set(keys[:7])
    w2.write_chunk(rows(keys[7:15]))
    w2.close(partial=True, reason="interrupted (Ctrl+C)")
    with ScanReader(path) as r:
        assert r.partial and r.status == "partial: interrupted (Ctrl+C) (15 frames)"
    w3 = ScanWriter(path, columns=COLUMNS, header=HEADER, mode="a", durable=False)
    assert w3.done_keys == set(keys[:15])
    w3.write_chunk(rows(keys[15:]))
    w3.close()
    with ScanReader(path) as r:
        assert not r.partial
        check_rows(r, keys)
    fresh = tmp_path / "fresh.h5"
    write(fresh, [keys])
    with ScanReader(path) as a, ScanReader(fresh) as b:
        assert summary_json(a.frames()) == summary_json(b.frames())


def test_resume_refuses_another_scan(tmp_path):
    path = tmp_path / "scan.h5"
    write(path, [keys_for(range(1), 4)])
    other = dict(HEADER, data={"path": "other.h5", "format": "planscope"})
    with pytest.raises(ScanFileError) as err:
        ScanWriter(path, columns=COLUMNS, header=other, mode="a", resume_keys=("data",))
    # only the fields that differ, each named (it printed both whole JSON objects)
    old_data = HEADER["data"]
    want = [f'data {k}: {json.dumps(old_data.get(k))} in the file, {json.dumps(other["data"].get(k))} now'
            for k in sorted(set(old_data) | set(other["data"])) if old_data.get(k) != other["data"].get(k)]
    assert str(err.value) == f"{path}: cannot resume: " + "; ".join(want)
    assert "data path" in str(err.value)
    with pytest.raises(ScanFileError, match="stores other columns"):
        ScanWriter(path, columns={"spread": ("float32", (2,))}, header=HEADER, mode="a")


def test_failures_and_partial_reason_survive(tmp_path):
    path = tmp_path / "scan.h5"
    w = ScanWriter(path, columns=COLUMNS, header=HEADER, durable=False)
    w.write_chunk(rows([(0, 0), (0, 2)]))
    w.write_chunk(rows([]), failures=[{"episode": 0, "frame": 4, "error": "worker pid 9 died"}])
    with ScanReader(path) as r:
        assert r.failures == [{"episode": 0, "frame": 4, "error": "worker pid 9 died"}]
    w.close(partial=True, reason="a worker died twice on 1 frame")
    with ScanReader(path) as r:
        assert r.num_rows == 2 and r.failures[0]["frame"] == 4
        assert "a worker died twice" in r.status


def test_interrupt_before_first_chunk_leaves_no_file_and_exception_marks_partial(tmp_path):
    path = tmp_path / "scan.h5"
    with pytest.raises(KeyboardInterrupt):
        with ScanWriter(path, columns=COLUMNS, header=HEADER):
            raise KeyboardInterrupt
    assert not path.exists() and not (tmp_path / "scan.h5.parts").exists()
    with pytest.raises(KeyboardInterrupt):
        with ScanWriter(path, columns=COLUMNS, header=HEADER, durable=False) as w:
            w.write_chunk(rows([(0, 0)]))
            raise KeyboardInterrupt
    with ScanReader(path) as r:
        assert r.partial and r.partial_reason == "interrupted (Ctrl+C)" and r.num_rows == 1


def test_bad_chunks_are_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "scan.h5"
    w = ScanWriter(path, columns=COLUMNS, header=HEADER, durable=False)
    w.write_chunk(rows([(0, 0)]))
    with pytest.raises(ValueError, match="repeats"):
        w.write_chunk(rows([(0, 0)]))
    bad = rows([(0, 2)])
    bad["spread"] = bad["spread"][:, :1]
    with pytest.raises(ValueError, match="spread"):
        w.write_chunk(bad)
    del bad["spread"]
    with pytest.raises(ValueError, match="missing"):
        w.write_chunk(bad)
    assert w.num_chunks == 1
    w.close()
    with ScanReader(path) as r:
        assert r.num_rows == 1


def test_second_writer_is_refused(tmp_path):
    path = tmp_path / "scan.h5"
    w = write(path, [[(0, 0)]], close=False)
    with pytest.raises(ScanFileError, match="being written by another process"):
        ScanWriter(path, columns=COLUMNS, header=HEADER, mode="a")
    w.close()


def test_bad_files_fail_in_one_line(tmp_path):
    not_h5 = tmp_path / "x.h5"
    not_h5.write_bytes(b"hello" * 100)
    with pytest.raises(ScanFileError, match="not an HDF5 file"):
        ScanReader(not_h5)
    rec = tmp_path / "rec.h5"
    with h5py.File(rec, "w") as f:
        f.attrs["format"] = "planscope-recording"
    with pytest.raises(ScanFileError, match="not a planscope scan file"):
        ScanReader(rec)
    path = tmp_path / "scan.h5"
    write(path, [[(0, 0)]])
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(ScanFileError, match="schema version 99"):
        ScanReader(path)
    (tmp_path / "elsewhere").mkdir()
    moved = tmp_path / "elsewhere" / "run.h5"
    w = write(tmp_path / "run.h5", [[(0, 0)]], close=False)
    w._unlock()
    (tmp_path / "run.h5").rename(moved)
    with pytest.raises(ScanFileError, match="parts folder"):
        ScanReader(moved)
    good = tmp_path / "good.h5"
    write(good, [[(0, 0)]])
    with pytest.raises(ScanFileError, match="no column 'nope'"):
        with ScanReader(good) as r:
            r.column("nope")
