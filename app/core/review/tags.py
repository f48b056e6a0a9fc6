"""Failure tags of one recording, as the review session sees them (Qt-free).

`TagBook` wraps the recording's SQLite sidecar store (recordings.tags) and keeps an in-memory
copy that is refreshed only when the store's data version moved, so polling it from a timer or on
window focus costs one tiny query. A tag returned by `add` is committed (WAL, synchronous FULL)
before the call returns: views show a tag only after that.
"""
from __future__ import annotations

from pathlib import Path

from recordings.tags import TAXONOMY, Tag, TagStore  # noqa: F401  (TAXONOMY: keys 1..8)

__all__ = ["TAXONOMY", "Tag", "TagBook"]


class TagBook:
    """The tags of the recording at `recording_path`, cached per rollout."""

    def __init__(self, recording_path: Path) -> None:
        self.recording_path = Path(recording_path)
        self._store = TagStore(self.recording_path)
        self._version = -1
        self._by_rollout: dict[int, list[Tag]] = {}
        self.refresh()

    @property
    def location(self) -> Path:
        """Where the sidecar lives (next to the recording, or the user data dir)."""
        return Path(self._store.path)

    @property
    def notice(self) -> str:
        """Non-empty when the sidecar could not live next to the recording (read-only folder)."""
        return self._store.notice or ""

    def refresh(self) -> bool:
        """Reload when another process changed the store. True when something changed."""
        version = self._store.data_version()
        if version == self._version:
            return False
        self._version = version
        by_rollout: dict[int, list[Tag]] = {}
        for tag in self._store.all():
            by_rollout.setdefault(tag.rollout_id, []).append(tag)
        changed = by_rollout != self._by_rollout
        self._by_rollout = by_rollout
        return changed

    def for_rollout(self, rollout_id: int) -> list[Tag]:
        return list(self._by_rollout.get(int(rollout_id), ()))

    def labels(self, rollout_id: int) -> str:
        """Comma-joined distinct labels of a rollout (the browser's Tags column)."""
        return ", ".join(dict.fromkeys(t.label for t in self._by_rollout.get(int(rollout_id), ())))

    def all(self) -> list[Tag]:
        return [t for tags in self._by_rollout.values() for t in tags]

    def add(self, rollout_id: int, label: str, *, step: int | None, note: str = "") -> Tag:
        tag = self._store.add(int(rollout_id), label, step=step, note=note)
        self._by_rollout.setdefault(tag.rollout_id, []).append(tag)
        self._version = self._store.data_version()
        return tag

    def remove(self, tag_id: int) -> None:
        self._store.remove(int(tag_id))
        for tags in self._by_rollout.values():
            tags[:] = [t for t in tags if t.tag_id != tag_id]
        self._version = self._store.data_version()

    def set_note(self, tag_id: int, note: str) -> None:
        """Replace a tag's note (committed before this returns); the cache is re-read."""
        self._store.set_note(int(tag_id), note)
        self._version = -1
        self.refresh()

    def export(self, path: Path) -> int:
        """Write every tag to `path` (.csv or .json by suffix); returns the count."""
        count = self._store.export(path)
        return int(count if count is not None else len(self.all()))

    def import_file(self, path: Path) -> int:
        count = self._store.import_file(path)
        self.refresh()
        return int(count if count is not None else 0)

    def save_into_artifact(self) -> Path:
        result = self._store.save_into_artifact()
        return Path(result) if result else self.recording_path

    def close(self) -> None:
        self._store.close()
