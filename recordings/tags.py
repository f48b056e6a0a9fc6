"""Failure tags of one recording, in a SQLite sidecar that never touches the recording itself.

Sidecar: FILE.h5.tags.sqlite next to the recording; when that folder is read-only, a file in the
user data directory ($PLANSCOPE_TAGS_DIR, else platformdirs' user_data_dir/planscope/tags) with a
`notice` the GUI shows. WAL journal + synchronous=FULL: add() returns only after the commit is on
disk, so a tag the UI shows survives a kill or a power cut. Several processes may open the same
sidecar (SQLite locking, 5 s busy timeout). Schema (see docs/recording-format.md):

    tags(id INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id INTEGER NOT NULL, tag TEXT NOT NULL,
         step INTEGER NULL  -- NULL = the whole rollout, else a control step
         , note TEXT, author TEXT, created REAL  -- Unix seconds, UTC)
    meta(key TEXT PRIMARY KEY, value TEXT)  -- schema_version, recording, revision
"""
from __future__ import annotations

import getpass
import hashlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from recordings.errors import RecordingError
from recordings.tag_model import TAXONOMY, Tag, normalise_tag  # noqa: F401 (Tag: re-exported)
from recordings.tags_io import export_tags, read_tag_file, save_review, tag_key

SIDECAR_SUFFIX = ".tags.sqlite"
TAGS_DIR_ENV = "PLANSCOPE_TAGS_DIR"
SIDECAR_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id INTEGER NOT NULL,
    tag TEXT NOT NULL,
    step INTEGER,
    note TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tags_by_rollout ON tags(rollout_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


def _user_tags_dir() -> Path:
    override = os.environ.get(TAGS_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs   # only needed on the read-only fallback path
    return Path(platformdirs.user_data_dir("planscope", appauthor=False)) / "tags"


def sidecar_location(recording: Path) -> tuple[Path, str]:
    """(sidecar path, notice). The notice is '' when the sidecar sits next to the recording."""
    recording = Path(os.path.abspath(recording))
    beside = recording.with_name(recording.name + SIDECAR_SUFFIX)
    folder = recording.parent
    beside_ok = os.access(folder, os.W_OK | os.X_OK) and \
        (not beside.exists() or os.access(beside, os.R_OK | os.W_OK))
    if beside_ok:
        return beside, ""
    digest = hashlib.sha1(str(recording).encode()).hexdigest()[:12]
    target = _user_tags_dir() / f"{recording.name}-{digest}{SIDECAR_SUFFIX}"
    notice = (f"The folder {folder} is read-only: tags for {recording.name} are kept in "
              f"{target} (export them or save the review into a writable copy to share them).")
    return target, notice


class TagStore:
    """Tags of the recording at `recording` (the file need not be open; it is never written,
    except by save_into_artifact which replaces it atomically).

    The sidecar is created on the first write (add, import, ...), never by reading: opening a
    recording to look at it (review, snapshot, report) leaves nothing next to it. Until then
    reads see no tags; a sidecar another process creates meanwhile is picked up on the next read."""

    def __init__(self, recording: str | os.PathLike, *, author: str | None = None,
                 timeout_s: float = 5.0) -> None:
        self.recording_path = Path(os.path.abspath(recording))
        self.path, self.notice = sidecar_location(self.recording_path)
        try:
            self.author = author if author is not None else getpass.getuser()
        except (KeyError, OSError):
            self.author = ""
        self._lock = threading.RLock()
        self._timeout_s = timeout_s
        self._db: sqlite3.Connection | None = None
        beside = self.recording_path.with_name(self.recording_path.name + SIDECAR_SUFFIX)
        if self.path.exists() or (self.notice and beside.exists()):
            self._open()

    def _open(self) -> sqlite3.Connection:
        """Connect, creating the sidecar (and its schema) if it does not exist yet."""
        if self._db is not None:
            return self._db
        fresh = not self.path.exists()
        timeout_s = self._timeout_s
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=timeout_s,
                                       isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            with self._transaction():
                for statement in _SCHEMA.strip().split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._check_meta()
        except (sqlite3.DatabaseError, OSError) as exc:
            if self._db is not None:
                self._db.close()
                self._db = None
            verb = "open" if isinstance(exc, sqlite3.DatabaseError) else "create"
            raise RecordingError(f"{self.path}: cannot {verb} the tag sidecar ({exc})") from None
        if fresh and self.notice:
            self._adopt_read_only_neighbour()
        return self._db

    def _reader(self) -> sqlite3.Connection | None:
        """The connection for a read: None while no sidecar exists (no tags, nothing created)."""
        if self._db is None and self.path.exists():
            self._open()
        return self._db

    # ----- plumbing -----
    def _transaction(self):
        db = self._db

        class _Tx:
            def __enter__(self_inner):
                db.execute("BEGIN IMMEDIATE")     # take the write lock up front: no upgrade deadlock

            def __exit__(self_inner, exc_type, exc, tb):
                db.execute("ROLLBACK" if exc_type else "COMMIT")
                return False
        return _Tx()

    def _check_meta(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                ("schema_version", str(SIDECAR_SCHEMA_VERSION)),
                ("recording", str(self.recording_path)), ("revision", "0")])
        elif int(row[0]) > SIDECAR_SCHEMA_VERSION:
            raise RecordingError(f"{self.path}: tag sidecar version {row[0]} is newer than this "
                                 f"planscope reads ({SIDECAR_SCHEMA_VERSION})")

    def _bump(self) -> None:
        self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='revision'")

    def _adopt_read_only_neighbour(self) -> None:
        """First use of a fallback sidecar: start from the tags already next to the recording."""
        beside = self.recording_path.with_name(self.recording_path.name + SIDECAR_SUFFIX)
        if not beside.exists():
            return
        rows = None
        # mode=ro sees a leftover WAL when SQLite can use it; immutable=1 works in any folder.
        for options in ("mode=ro", "mode=ro&immutable=1"):
            try:
                src = sqlite3.connect(f"file:{beside}?{options}", uri=True)
                try:
                    rows = src.execute("SELECT rollout_id, tag, step, note, author, created "
                                       "FROM tags ORDER BY id").fetchall()
                finally:
                    src.close()
                break
            except sqlite3.DatabaseError:
                continue
        if not rows:
            return
        self._insert_many([dict(zip(("rollout_id", "tag", "step", "note", "author", "created"), r))
                           for r in rows])

    @staticmethod
    def _tag(row: tuple) -> Tag:
        return Tag(id=int(row[0]), rollout_id=int(row[1]), tag=str(row[2]),
                   step=None if row[3] is None else int(row[3]), note=str(row[4]),
                   author=str(row[5]), created=float(row[6]))

    def _run(self, what: str, fn):
        with self._lock:     # one connection shared by threads: one statement at a time
            try:
                return fn()
            except sqlite3.DatabaseError as exc:
                raise RecordingError(f"{self.path}: cannot {what} ({exc})") from None

    # ----- public API -----
    def add(self, rollout_id: int, tag: str, *, step: int | None = None, note: str = "",
            author: str | None = None) -> Tag:
        """Add a tag; durable (committed with synchronous=FULL) when this returns."""
        name = normalise_tag(tag)
        rollout_id = int(rollout_id)
        if rollout_id < 0:
            raise RecordingError(f"rollout id must be >= 0, got {rollout_id}")
        if step is not None and int(step) < 0:
            raise RecordingError(f"tag step must be >= 0 or None, got {step}")
        record = {"rollout_id": rollout_id, "tag": name,
                  "step": None if step is None else int(step), "note": str(note or ""),
                  "author": self.author if author is None else str(author),
                  "created": time.time()}
        return self._run("add a tag", lambda: self._insert_many([record])[0])

    def _insert_many(self, records: Iterable[dict[str, Any]]) -> list[Tag]:
        records = list(records)
        if not records and self._reader() is None:
            return []                       # nothing to write: do not create the sidecar
        self._open()
        out = []
        with self._transaction():
            for r in records:
                cur = self._db.execute(
                    "INSERT INTO tags (rollout_id, tag, step, note, author, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (r["rollout_id"], r["tag"], r["step"], r["note"], r["author"], r["created"]))
                out.append(Tag(id=int(cur.lastrowid), **r))
            if out:
                self._bump()
        return out

    def remove(self, tag_id: int) -> bool:
        """Delete one tag; True when it existed. Durable when this returns."""
        def go() -> bool:
            if self._reader() is None:
                return False
            with self._transaction():
                cur = self._db.execute("DELETE FROM tags WHERE id = ?", (int(tag_id),))
                if cur.rowcount:
                    self._bump()
                return cur.rowcount > 0
        return self._run("remove a tag", go)

    def set_note(self, tag_id: int, note: str) -> bool:
        def go() -> bool:
            if self._reader() is None:
                return False
            with self._transaction():
                cur = self._db.execute("UPDATE tags SET note = ? WHERE id = ?",
                                       (str(note), int(tag_id)))
                if cur.rowcount:
                    self._bump()
                return cur.rowcount > 0
        return self._run("edit a note", go)

    def list(self, rollout_id: int | None = None) -> list[Tag]:
        """Tags (of one rollout, or all), oldest first."""
        sql = "SELECT id, rollout_id, tag, step, note, author, created FROM tags"
        args: tuple = ()
        if rollout_id is not None:
            sql += " WHERE rollout_id = ?"
            args = (int(rollout_id),)
        rows = self._run("read tags", lambda: [] if self._reader() is None else
                         self._db.execute(sql + " ORDER BY id", args).fetchall())
        return [self._tag(r) for r in rows]

    def all(self) -> list[Tag]:
        return self.list()

    def tag_names(self) -> list[str]:
        """The taxonomy, then every user-defined tag name in use (first use first)."""
        rows = self._run("read tags", lambda: [] if self._reader() is None else self._db.execute(
            "SELECT tag FROM tags GROUP BY tag ORDER BY MIN(id)").fetchall())
        return list(TAXONOMY) + [r[0] for r in rows if r[0] not in TAXONOMY]

    def data_version(self) -> int:
        """A number that changes whenever any process changes the tags (one tiny query)."""
        row = self._run("read tags", lambda: None if self._reader() is None else self._db.execute(
            "SELECT value FROM meta WHERE key='revision'").fetchone())
        return int(row[0]) if row else 0

    def export(self, path: str | os.PathLike) -> int:
        return export_tags(self.list(), Path(path))

    def import_file(self, path: str | os.PathLike) -> int:
        """Add the tags of a CSV/JSON export; tags already present are skipped. Returns the
        number added."""
        incoming = read_tag_file(Path(path))
        have = {tag_key(t.to_dict()) for t in self.list()}
        fresh = []
        for record in incoming:
            key = tag_key(record)
            if key not in have:
                have.add(key)
                fresh.append(record)
        return len(self._run("import tags", lambda: self._insert_many(fresh)))

    def save_into_artifact(self) -> Path:
        """Copy every tag into the recording's /review group atomically (see tags_io)."""
        return save_review(self.recording_path, self.list())

    def close(self) -> None:
        if self._db is None:
            return
        try:
            self._db.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> "TagStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
