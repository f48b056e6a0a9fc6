"""Reading tags never creates the sidecar next to a recording (issue 18: snapshot/report/review
without tagging left FILE.h5.tags.sqlite with -wal/-shm behind); the first write does."""
from __future__ import annotations

from recordings.tags import SIDECAR_SUFFIX, TagStore


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if SIDECAR_SUFFIX in p.name)


def test_reading_creates_nothing_then_the_first_tag_creates_the_sidecar(tmp_path):
    recording = tmp_path / "demo.h5"
    recording.write_bytes(b"")               # the store never opens the recording itself
    store = TagStore(recording)
    assert store.list() == [] and store.data_version() == 0 and store.remove(1) is False
    assert store.import_file(_empty_export(tmp_path)) == 0
    store.close()
    assert _leftovers(tmp_path) == []
    with TagStore(recording) as writer:
        tag = writer.add(3, "planning", step=7)
    assert _leftovers(tmp_path) == ["demo.h5" + SIDECAR_SUFFIX]
    with TagStore(recording) as reader:
        assert [(t.rollout_id, t.label, t.step) for t in reader.list()] == [(3, "planning", 7)]
        assert reader.data_version() >= 1 and tag.tag_id == reader.list()[0].tag_id


def test_a_sidecar_created_by_another_process_is_seen_on_the_next_read(tmp_path):
    recording = tmp_path / "demo.h5"
    recording.write_bytes(b"")
    reader = TagStore(recording)
    assert reader.list() == []
    with TagStore(recording) as writer:
        writer.add(0, "perception")
    assert [t.label for t in reader.list()] == ["perception"]
    reader.close()


def _empty_export(folder):
    path = folder / "none.json"
    path.write_text("[]")
    return path
