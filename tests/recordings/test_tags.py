"""Tag store: durability under kill -9, two connections, CSV/JSON round trip, save into the
artifact atomically with trace data unchanged, read-only folder fallback."""
from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from recordings.errors import RecordingError
from recordings.reader import RecordingReader
from recordings.tags import TAXONOMY, TagStore
from recordings.writer import RecordingWriter
from tests.recordings.forked import ForkedChild
from tests.recordings.helpers import ENV_ARGS, make_rollout


@pytest.fixture
def recording(tmp_path):
    path = tmp_path / "rec.h5"
    with RecordingWriter(path, env_args=ENV_ARGS) as w:
        for i in range(4):
            w.write_rollout(make_rollout(i))
    return path


def test_add_list_remove_and_taxonomy(recording):
    with TagStore(recording, author="ann") as store:
        assert store.path == recording.with_name("rec.h5.tags.sqlite") and store.notice == ""
        a = store.add(2, "Planning", step=17, note="chose the colliding mode")
        b = store.add(2, "my own tag")
        c = store.add(3, "timing")
        assert a.tag == "planning" and a.step == 17 and a.author == "ann" and b.step is None
        assert [t.id for t in store.list(2)] == [a.id, b.id]
        assert store.remove(b.id) and not store.remove(b.id)
        assert store.all() == [a, c]
        assert store.tag_names() == list(TAXONOMY)
        store.add(0, "sensor glare")
        assert store.tag_names()[-1] == "sensor glare"
        with pytest.raises(RecordingError, match="empty"):
            store.add(0, "   ")
        with pytest.raises(RecordingError, match="step"):
            store.add(0, "control", step=-3)
    mode = sqlite3.connect(recording.with_name("rec.h5.tags.sqlite")).execute(
        "PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_two_connections_see_each_other(recording):
    one, two = TagStore(recording, author="a"), TagStore(recording, author="b")
    v = two.data_version()
    t1 = one.add(1, "control", step=3)
    assert two.data_version() != v
    t2 = two.add(1, "dynamics")
    assert [t.id for t in one.list(1)] == [t1.id, t2.id]
    assert two.remove(t1.id)
    assert one.list(1) == [t2]
    one.close()
    two.close()


def tag_work(path: Path):
    def work(say) -> None:
        store = TagStore(path, author="child")
        i = 0
        while True:
            tag = store.add(i % 50, TAXONOMY[i % 8], step=None if i % 3 == 0 else i,
                            note=f"n{i}")
            say(f"ack {tag.id}")
            i += 1
    return work


def run_child_and_kill(path: Path, rng: random.Random) -> list[int]:
    child = ForkedChild(tag_work(path))
    target = rng.randint(1, 12)
    acked = []
    for line in child.stdout:
        acked.append(int(line.split()[1]))
        if len(acked) >= target:
            break
    time.sleep(rng.uniform(0, 0.004))
    return acked + [int(x.split()[1]) for x in child.kill() if x.startswith("ack")]


def test_kill_9_loses_no_acknowledged_tag(recording):
    rng = random.Random(99)
    acked: set[int] = set()
    for _ in range(30):
        acked.update(run_child_and_kill(recording, rng))
        with TagStore(recording) as store:          # opens cleanly after every kill
            ids = {t.id for t in store.list()}
            assert acked <= ids, f"lost tags {sorted(acked - ids)}"
        check = sqlite3.connect(recording.with_name("rec.h5.tags.sqlite"))
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        check.close()
    assert len(acked) >= 30


def test_two_processes_add_at_once_then_die(recording):
    """Two processes adding to the same sidecar at the same time, both killed: every
    acknowledged tag of both is there, ids are unique."""
    children = [ForkedChild(tag_work(recording)) for _ in range(2)]
    acked: list[int] = []
    for child in children:                  # both running: wait for 15 acks from each
        for n, line in enumerate(child.stdout, start=1):
            acked.append(int(line.split()[1]))
            if n >= 15:
                break
    for child in children:
        acked += [int(x.split()[1]) for x in child.kill() if x.startswith("ack")]
    assert len(acked) == len(set(acked)) >= 30
    with TagStore(recording) as store:
        tags = store.list()
        assert set(acked) <= {t.id for t in tags}
        assert len({t.id for t in tags}) == len(tags)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_export_import_round_trip(recording, tmp_path, suffix):
    with TagStore(recording, author="ann") as store:
        store.add(0, "perception", step=4, note='glare, "quoted", comma')
        store.add(1, "data coverage", note="línea\nnueva")
        store.add(3, "custom")
        before = store.list()
        out = tmp_path / f"tags{suffix}"
        assert store.export(out) == 3
    other = tmp_path / "copy.h5"
    other.write_bytes(recording.read_bytes())
    with TagStore(other) as fresh:
        assert fresh.import_file(out) == 3
        got = fresh.list()
        assert [(t.rollout_id, t.tag, t.step, t.note, t.author) for t in got] == \
            [(t.rollout_id, t.tag, t.step, t.note, t.author) for t in before]
        assert [t.created for t in got] == pytest.approx([t.created for t in before], abs=1e-6)
        assert fresh.import_file(out) == 0          # importing twice adds nothing


def test_import_bad_files(recording, tmp_path):
    with TagStore(recording) as store:
        bad = tmp_path / "bad.json"
        bad.write_text("{nope")
        with pytest.raises(RecordingError, match="not valid JSON"):
            store.import_file(bad)
        bad_csv = tmp_path / "bad.csv"
        bad_csv.write_text("rollout_id,tag\nx,planning\n")
        with pytest.raises(RecordingError, match="line 2"):
            store.import_file(bad_csv)
        with pytest.raises(RecordingError, match="lacks column"):
            (tmp_path / "c.csv").write_text("a,b\n1,2\n")
            store.import_file(tmp_path / "c.csv")
        assert store.list() == []


def digest_of_traces(path: Path) -> str:
    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.startswith("data/"):
                h.update(name.encode())
                h.update(np.ascontiguousarray(obj[()]).tobytes() if obj.dtype.kind != "O"
                         else json.dumps([str(x) for x in obj.asstr()[()].ravel()]).encode())
        f.visititems(visit)
    return h.hexdigest()


def test_save_review_into_artifact(recording):
    before = digest_of_traces(recording)
    inode = os.stat(recording).st_ino
    reader_before = RecordingReader(recording)       # a reader open during the save keeps working
    with TagStore(recording, author="ann") as store:
        store.add(1, "planning", step=5, note="x")
        store.add(2, "timing")
        store.save_into_artifact()
        store.add(3, "control")
        store.save_into_artifact()                 # saving again replaces the review group
    assert os.stat(recording).st_ino != inode      # a new file was renamed into place
    assert digest_of_traces(recording) == before
    assert not list(recording.parent.glob("*.tmp"))
    np.testing.assert_array_equal(reader_before.rollout(1).actions(), make_rollout(1).actions)
    reader_before.close()
    with RecordingReader(recording) as r:
        review = r.review()
        assert list(review["rollout_id"]) == [1, 2, 3]
        assert list(review["tag"]) == ["planning", "timing", "control"]
        assert list(review["step"]) == [5, -1, -1]
        assert len(r) == 4 and not r.partial


def test_save_review_refuses_a_file_still_being_written(tmp_path):
    path = tmp_path / "live.h5"
    w = RecordingWriter(path, env_args=ENV_ARGS)
    w.write_rollout(make_rollout(0))
    with TagStore(path) as store:
        store.add(0, "planning")
        with pytest.raises(RecordingError, match="still being written"):
            store.save_into_artifact()
    w.close()


def make_folder_read_only(folder: Path, monkeypatch) -> None:
    """chmod the folder; as root (which ignores permissions) also make os.access say so."""
    os.chmod(folder, 0o555)
    if os.geteuid() == 0:
        real = os.access

        def access(path, mode, *a, **kw):
            if mode & os.W_OK and Path(path).resolve() in (folder, *folder.iterdir()):
                return False
            return real(path, mode, *a, **kw)
        monkeypatch.setattr(os, "access", access)


def test_read_only_folder_falls_back_to_user_data_dir(recording, tmp_path, monkeypatch):
    monkeypatch.setenv("PLANSCOPE_TAGS_DIR", str(tmp_path / "userdata"))
    folder = tmp_path / "ro"
    folder.mkdir()
    rec = folder / "rec.h5"
    rec.write_bytes(recording.read_bytes())
    with TagStore(rec) as store:
        store.add(0, "perception")           # an existing sidecar next to the file is adopted
    make_folder_read_only(folder, monkeypatch)
    try:
        with TagStore(rec) as store:
            assert store.path.parent == tmp_path / "userdata"
            assert "read-only" in store.notice and str(store.path) in store.notice
            assert [t.tag for t in store.list()] == ["perception"]
            store.add(1, "control")
            with pytest.raises(RecordingError, match="read-only"):
                store.save_into_artifact()
        with TagStore(rec) as again:
            assert [t.tag for t in again.list()] == ["perception", "control"]
    finally:
        os.chmod(folder, 0o755)


def test_corrupt_sidecar_is_one_clear_error(recording):
    recording.with_name("rec.h5.tags.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RecordingError, match="tags.sqlite"):
        TagStore(recording)


def test_saved_review_survives_resume_and_append(recording):
    with TagStore(recording) as store:
        store.add(1, "dynamics", step=2)
        store.save_into_artifact()
    w = RecordingWriter(recording, env_args=ENV_ARGS, mode="a")
    with RecordingReader(recording) as live:
        assert live.review()["tag"].tolist() == ["dynamics"]    # linked from the parts folder
    w.write_rollout(make_rollout(4))
    w.close()
    with RecordingReader(recording) as r:
        assert len(r) == 5 and r.review()["tag"].tolist() == ["dynamics"]
