"""Scan files: per-frame results of `planscope scan`, written crash-safe one chunk at a time.

The layout is documented in docs/scan-format.md. In short, a scan file is a table of scanned
frames, one row per (episode, frame), one HDF5 dataset per column ([F, ...] for F rows):

    scan.h5  attrs: format "planscope-scan", schema_version, layout "single" | "index", partial,
                    partial_reason, created_utc, planscope_version, git_commit,
                    header (JSON: policies, data provenance, scan settings), columns (JSON spec)
      frames/<column>  [F, ...]   rows sorted by (episode, frame); "episode", "frame" always present
      episodes/<column> [E']      per-episode aggregates (written at close; see scan_ranking)
      worst/<column>   [k]        the hardest frames (written at close)
      failures         [X] str    JSON per frame that could not be scanned (episode, frame, error)

Crash safety is the recordings writer's design (recordings/writer.py), reused: every chunk is a
segment file FILE.h5.parts/chunk_<i>_<token>.h5 (tmp name, fsync, atomic rename), then FILE.h5 is
atomically replaced by a small *index* file whose /chunks/c_<i> are external links to the
segments; close() merges everything into one self-contained file. A kill -9 at any moment leaves
FILE.h5 as the previous or the new index: every chunk write_chunk() acknowledged is kept, and
plain h5py opens it. `mode="a"` resumes a scan (index or merged) and keeps its rows.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from typing import Any, Iterable, Mapping

import h5py
import numpy as np

from recordings import atomic
from recordings.errors import RecordingError
from recordings.header import code_version
from recordings.rollout import to_json
from recordings.writer import parts_dir

FORMAT_NAME = "planscope-scan"
SCHEMA_VERSION = 1
LAYOUT_SINGLE = "single"
LAYOUT_INDEX = "index"
KEY_COLUMNS = ("episode", "frame")
_STR = h5py.string_dtype("utf-8")

ColumnSpec = Mapping[str, tuple[str, tuple[int, ...]]]   # name -> (numpy dtype, per-row shape)


class ScanFileError(RecordingError):
    """A scan file cannot be read, written or resumed."""


def normalise_columns(columns: ColumnSpec) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Check a column spec and put the key columns first: {name: (dtype str, shape tuple)}."""
    out: dict[str, tuple[str, tuple[int, ...]]] = {k: ("int64", ()) for k in KEY_COLUMNS}
    for name, (dtype, shape) in columns.items():
        if name in KEY_COLUMNS:
            continue
        if not name or "/" in name:
            raise ValueError(f"bad scan column name {name!r}")
        kind = np.dtype(dtype).kind
        if kind not in "fiub":
            raise ValueError(f"scan column {name!r}: dtype {dtype!r} is not numeric")
        out[name] = (np.dtype(dtype).str, tuple(int(s) for s in shape))
    return out


def _spec_json(spec: Mapping[str, tuple[str, tuple[int, ...]]]) -> str:
    return json.dumps({k: [d, list(s)] for k, (d, s) in spec.items()})


def spec_from_json(text: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    raw = json.loads(text)
    return {k: (str(d), tuple(int(x) for x in s)) for k, (d, s) in raw.items()}


def write_table(parent: h5py.Group, name: str, cols: Mapping[str, np.ndarray]) -> h5py.Group:
    """A column table: one dataset per column; text columns as UTF-8 strings."""
    group = parent.create_group(name)
    for column, values in cols.items():
        values = np.asarray(values)
        if values.dtype.kind in "UO":
            group.create_dataset(column, data=values.astype(object), dtype=_STR)
        else:
            group.create_dataset(column, data=values)
    group.attrs["columns"] = json.dumps(list(cols))
    return group


def _difference(key: str, old: Any, new: Any) -> str:
    """What differs between the file's header entry and this run's, field by field ("settings
    every: 5 in the file, 3 now"), instead of two whole JSON objects on one line."""
    if isinstance(old, dict) and isinstance(new, dict):
        fields = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        return "; ".join(f"{key} {k}: {to_json(old.get(k))} in the file, {to_json(new.get(k))} "
                         f"now" for k in fields)
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new) and \
            all(isinstance(a, dict) and isinstance(b, dict) for a, b in zip(old, new)):
        parts = [_difference(f"{key}[{i}]", a, b) for i, (a, b) in enumerate(zip(old, new))
                 if a != b]
        return "; ".join(parts)
    return f"{key}: {to_json(old)} in the file, {to_json(new)} now"


class ScanWriter:
    """Write scanned frames to `path` chunk by chunk (see module docstring).

    columns: the per-row columns besides episode/frame, {name: (dtype, shape)}; header: a
    JSON-ready dict (policies, data, settings) stored as the `header` attribute. mode "w" creates
    (refusing nothing: the caller checks clobbering); "a" resumes an existing scan, whose header
    must match `header` on every key in `resume_keys`. summarise(frames) -> {group: table} builds
    the aggregate tables written at close (scan_ranking.summary_tables by default).
    """

    def __init__(self, path: str | os.PathLike, *, columns: ColumnSpec, header: dict[str, Any],
                 mode: str = "w", durable: bool = True, resume_keys: Iterable[str] = (),
                 summarise=None) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.durable = durable
        self.spec = normalise_columns(columns)
        self._header_json = to_json(header)
        self._header = json.loads(self._header_json)
        self._summarise = summarise
        self._parts = parts_dir(self.path)
        self._rel_parts = os.path.basename(self._parts)
        self._token = secrets.token_hex(4)
        self._chunks: list[tuple[str, int]] = []     # (segment file in parts, rows)
        self._keys: set[tuple[int, int]] = set()
        self._created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._on_disk = False
        self._closed = False
        self.partial_reason = ""
        if mode not in ("w", "a"):
            raise ValueError(f"mode must be 'w' or 'a', got {mode!r}")
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            raise ScanFileError(f"cannot write {self.path}: folder {folder} does not exist")
        from recordings.writer import RecordingWriter
        try:     # the recording writer's lock (FILE.h5.parts/.lock, flock): one writer per file
            self._lock_fd = RecordingWriter._lock(self)   # type: ignore[arg-type]
        except RecordingError as exc:
            raise ScanFileError(str(exc)) from None
        for suffix in (".index.tmp", ".merge.tmp"):
            atomic.remove_quietly(self.path + suffix)
        try:
            if mode == "a" and os.path.exists(self.path):
                self._adopt(tuple(resume_keys))
                self._write_index()
        except BaseException:
            self._unlock()
            raise

    # ----- public API -----
    def __enter__(self) -> "ScanWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close()
        else:
            reason = self.partial_reason or ("interrupted (Ctrl+C)" if exc_type is KeyboardInterrupt
                                             else f"stopped by an error: {exc_type.__name__}")
            try:
                self.close(partial=True, reason=reason)
            except Exception:      # the index on disk stays valid; never mask the real error
                self._unlock()
                self._closed = True
        return False

    @property
    def num_rows(self) -> int:
        return sum(rows for _, rows in self._chunks)

    @property
    def num_chunks(self) -> int:
        return len(self._chunks)

    @property
    def done_keys(self) -> set[tuple[int, int]]:
        """(episode, frame) of every row already in the file (what a resumed scan skips)."""
        return set(self._keys)

    def write_chunk(self, columns: Mapping[str, np.ndarray],
                    failures: Iterable[dict[str, Any]] = ()) -> int:
        """Write rows as one unit; when this returns they survive a kill -9. Returns the chunk id.
        columns: every spec column, each [F, *shape]; F may be 0 (failures only)."""
        if self._closed:
            raise ScanFileError(f"{self.path}: writer is closed")
        arrays = self._check_rows(columns)
        failures = [dict(f) for f in failures]
        cid = len(self._chunks)
        name = f"chunk_{cid}_{self._token}.h5"
        seg, tmp = os.path.join(self._parts, name), os.path.join(self._parts, name + ".tmp")
        try:
            with h5py.File(tmp, "w") as f:
                g = f.create_group("chunk")
                for col, values in arrays.items():
                    g.create_dataset(col, data=values)
                g.attrs["rows"] = len(arrays["episode"])
                g.attrs["failures"] = to_json(failures)
            atomic.replace(tmp, seg, durable=self.durable)
        except OSError as exc:
            atomic.remove_quietly(tmp)
            raise ScanFileError(f"cannot write chunk {cid} to {self.path}: {exc}") from None
        except BaseException:
            atomic.remove_quietly(tmp)
            raise
        self._chunks.append((name, len(arrays["episode"])))
        try:
            self._write_index()
        except BaseException:
            self._chunks.pop()
            raise
        self._keys.update(zip(arrays["episode"].tolist(), arrays["frame"].tolist()))
        return cid

    def close(self, *, partial: bool = False, reason: str = "") -> None:
        """Merge the chunks into one self-contained file. partial=True says the scan stopped
        before every frame was done (reason: one line shown by the reader and the GUI)."""
        if self._closed:
            return
        if reason:
            self.partial_reason = reason
        if not self._on_disk:
            if partial:      # stopped before its first chunk: leave no file
                self._closed = True
                self._unlock()
                shutil.rmtree(self._parts, ignore_errors=True)
                return
            self._write_index()      # an empty but complete scan is still a valid file
        self._merge(partial=partial)

    # ----- internals -----
    def _unlock(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _check_rows(self, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = [c for c in self.spec if c not in columns]
        extra = [c for c in columns if c not in self.spec]
        if missing or extra:
            raise ValueError(f"scan chunk columns: missing {missing}, unknown {extra}")
        rows = len(np.asarray(columns["episode"]).reshape(-1))
        out = {}
        for col, (dtype, shape) in self.spec.items():
            values = np.asarray(columns[col], dtype=dtype)
            if values.shape != (rows, *shape):
                raise ValueError(f"scan column {col!r}: shape {values.shape}, expected "
                                 f"{(rows, *shape)}")
            out[col] = values
        keys = list(zip(out["episode"].tolist(), out["frame"].tolist()))
        if len(set(keys)) != len(keys) or self._keys.intersection(keys):
            raise ValueError("scan chunk repeats an (episode, frame) row already written")
        return out

    def _attrs(self, f: h5py.File, *, layout: str, partial: bool) -> None:
        version, commit = code_version()
        values = {"format": FORMAT_NAME, "schema_version": SCHEMA_VERSION, "layout": layout,
                  "partial": partial, "partial_reason": self.partial_reason,
                  "created_utc": self._created, "planscope_version": version,
                  "git_commit": commit, "header": self._header_json,
                  "columns": _spec_json(self.spec)}
        for key, value in values.items():
            f.attrs[key] = value

    def _write_index(self) -> None:
        """Index file: attrs, /chunk_rows [C], /chunks/c_<i> links. Small: chunks hold many
        frames, so rewriting it per chunk stays cheap."""
        tmp = self.path + ".index.tmp"
        try:
            with h5py.File(tmp, "w") as f:
                self._attrs(f, layout=LAYOUT_INDEX, partial=True)
                f.attrs["parts_dir"] = self._rel_parts
                f.create_dataset("chunk_rows", data=np.asarray([r for _, r in self._chunks],
                                                               dtype=np.int64))
                chunks = f.create_group("chunks")
                for cid, (name, _) in enumerate(self._chunks):
                    chunks[f"c_{cid}"] = h5py.ExternalLink(f"{self._rel_parts}/{name}", "/chunk")
            atomic.replace(tmp, self.path, durable=self.durable)
        except OSError as exc:
            atomic.remove_quietly(tmp)
            raise ScanFileError(f"cannot write {self.path}: {exc}") from None
        self._on_disk = True
        keep = {name for name, _ in self._chunks}
        for entry in os.listdir(self._parts):
            if entry != ".lock" and entry not in keep:
                atomic.remove_quietly(os.path.join(self._parts, entry))

    def _merge(self, *, partial: bool) -> None:
        from recordings.formats.scan_reader import ScanReader
        from recordings.scan_ranking import summary_tables
        tmp = self.path + ".merge.tmp"
        try:
            with ScanReader(self.path) as src:     # the index just written: sorted row view
                order, total = src.row_order, src.num_rows
                frames = {c: src.column(c) for c in src.small_columns}
                failures = src.failures
                with h5py.File(tmp, "w") as f:
                    self._attrs(f, layout=LAYOUT_SINGLE, partial=partial)
                    g = f.create_group("frames")
                    for col, (dtype, shape) in self.spec.items():
                        if col in frames:
                            g.create_dataset(col, data=frames[col])
                        else:
                            ds = g.create_dataset(col, shape=(total, *shape), dtype=dtype)
                            src.copy_large(col, ds, order)
                    tables = (self._summarise or summary_tables)(frames, self._header)
                    for name, table in tables.items():
                        write_table(f, name, table)
                    f.create_dataset("failures", data=np.asarray(
                        [to_json(x) for x in failures], dtype=object), dtype=_STR)
            atomic.replace(tmp, self.path, durable=self.durable)
        except (OSError, KeyError) as exc:
            atomic.remove_quietly(tmp)
            raise ScanFileError(f"could not finalise {self.path}: {exc}; its frames are safe in "
                                f"the partial file and {self._parts}") from None
        self._closed = True
        self._unlock()
        shutil.rmtree(self._parts, ignore_errors=True)

    def _adopt(self, resume_keys: tuple[str, ...]) -> None:
        """Resume: take over the rows of the scan at self.path (index or merged)."""
        from recordings.formats.scan_reader import ScanReader
        with ScanReader(self.path) as old:
            for key in resume_keys:
                if old.header.get(key) != self._header.get(key):
                    raise ScanFileError(f"{self.path}: cannot resume: "
                                        f"{_difference(key, old.header.get(key), self._header.get(key))}")
            if old.spec != self.spec:
                raise ScanFileError(f"{self.path}: cannot resume: it stores other columns "
                                    f"({', '.join(old.spec)})")
            self._created = old.attrs.get("created_utc", self._created)
            keys = list(zip(old.column("episode").tolist(), old.column("frame").tolist()))
            if old.layout == LAYOUT_INDEX:
                prefix = self._rel_parts + "/"
                for filename, rows in old.chunk_links():
                    if not filename.startswith(prefix):
                        raise ScanFileError(f"{self.path}: unexpected external link {filename}")
                    self._chunks.append((filename[len(prefix):], rows))
                merged = None
            else:
                merged = old.num_rows
        if merged is not None:
            for entry in os.listdir(self._parts):
                if entry != ".lock":
                    atomic.remove_quietly(os.path.join(self._parts, entry))
            if merged:
                self._rebase_merged(merged)
        self._keys = set(keys)

    def _rebase_merged(self, rows: int) -> None:
        """A merged scan becomes chunk 0 of the resumed one: its /frames group seen as a chunk
        (hard link to the file when possible, else a copy)."""
        base = f"chunk_0_{self._token}.h5"
        target = os.path.join(self._parts, base)
        with h5py.File(target + ".tmp", "w") as f, h5py.File(self.path, "r") as src:
            src.copy(src["frames"], f, name="chunk")
            f["chunk"].attrs["rows"] = rows
            fails = [s for s in src["failures"].asstr()[()]] if "failures" in src else []
            f["chunk"].attrs["failures"] = "[" + ",".join(fails) + "]"
        atomic.replace(target + ".tmp", target, durable=self.durable)
        self._chunks.append((base, rows))
