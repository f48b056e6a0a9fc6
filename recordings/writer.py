"""RecordingWriter: writes rollouts one at a time, crash-safe, into one robomimic-layout HDF5 file.

Crash safety (details in docs/recording-format.md). HDF5 updates its metadata in place, so a
process killed in the middle of an HDF5 write can leave a file no tool opens. We therefore never
modify a file that a reader may be looking at:

  1. each rollout is written to its own segment file FILE.h5.parts/demo_<i>.h5 (via a .tmp name,
     fsync, atomic rename);
  2. then FILE.h5 itself is replaced atomically by a small *index* file: the file-level attrs,
     the summary table and data/demo_<i> as HDF5 external links into the segments. Plain h5py and
     robomimic-style code open it like any recording (external links are followed transparently);
  3. close() merges index + segments into one self-contained file (write FILE.h5.merge.tmp, fsync,
     atomic rename over FILE.h5), then deletes the parts folder.

A SIGKILL at any moment therefore leaves FILE.h5 as either the previous index or the new one,
each pointing only at complete segments: every rollout acknowledged by write_rollout() is kept.
"""
from __future__ import annotations

import fcntl
import os
import secrets
import shutil
from typing import Any, Iterable

import h5py
import numpy as np

from recordings import atomic
from recordings.errors import RecordingError
from recordings.layout import write_demo
from recordings.rollout import Rollout
from recordings.header import make_header, total_steps, write_header
from recordings.schema import (LAYOUT_INDEX, LAYOUT_SINGLE, append_summary_rows, columns_to_rows,
                               json_attr, summary_row)


def parts_dir(path: str) -> str:
    """The folder holding a recording's segment files while it is being written."""
    return os.path.abspath(path) + ".parts"


class RecordingWriter:
    """Write rollouts to `path` (see module docstring for the crash-safety design).

    mode "w" creates (replacing any file at path); mode "a" resumes: an existing planscope
    recording keeps its rollouts and header (done_keys lists them) and new rollouts are appended.
    durable=False skips fsync: still safe against a killed process, not against a power cut.
    Use as a context manager; an exception inside the block (Ctrl+C included) closes the file
    with partial=True.
    """

    def __init__(self, path: str | os.PathLike, *, env_args: dict | None = None,
                 config: dict | None = None, seed_panel: Iterable[int] = (),
                 perturbations: dict | None = None, kind: str = "eval", mode: str = "w",
                 durable: bool = True) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.durable = durable
        self._closed = False
        self._parts = parts_dir(self.path)
        self._rel_parts = os.path.basename(self._parts)
        self._sources: list[tuple[str, str]] = []    # per rollout id: (file in parts, object path)
        self._rows: list[dict[str, Any]] = []
        self._review: tuple[str, str] | None = None
        self._index_rows = -1        # rows in the index file on disk (-1: unknown, rebuild)
        self._on_disk = False        # has this writer put FILE.h5 in place yet?
        # Segment names carry a per-session token, so a new session never overwrites a segment
        # that an older FILE.h5 (still in place until our first index) points at.
        self._token = secrets.token_hex(4)
        if mode not in ("w", "a"):  # kind is checked by make_header
            raise ValueError(f"mode must be 'w' or 'a', got {mode!r}")
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            raise RecordingError(f"cannot write {self.path}: folder {folder} does not exist")
        self._lock_fd = self._lock()
        for suffix in (".index.tmp", ".merge.tmp"):   # left by a killed writer; ours, by name
            atomic.remove_quietly(self.path + suffix)
        try:
            if mode == "a" and os.path.exists(self.path):
                self._load_existing(env_args)
                self._write_index()
            else:
                # Nothing is written until the first rollout: a run that fails before then
                # leaves no file, and the file already at path stays as it was.
                self._header = make_header(self.path, env_args=env_args, config=config,
                                           seed_panel=seed_panel, perturbations=perturbations,
                                           kind=kind)
        except BaseException:
            self._unlock()
            raise

    # ----- public API -----
    def __enter__(self) -> "RecordingWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close()
        else:
            try:
                self._finish(partial=True)
            except Exception:      # the index stays valid; never mask the original error
                self._unlock()
                self._closed = True
        return False

    def __len__(self) -> int:
        return len(self._sources)

    @property
    def num_rollouts(self) -> int:
        return len(self._sources)

    @property
    def done_keys(self) -> set[tuple[str, int, str]]:
        """(policy, seed, perturbation text) of every rollout already in the file (for resume)."""
        return {(r["policy"], int(r["seed"]), r["perturbation"]) for r in self._rows}

    def write_rollout(self, rollout: Rollout) -> int:
        """Write one rollout as a unit; when this returns it survives a kill. Returns its id."""
        if self._closed:
            raise RecordingError(f"{self.path}: writer is closed")
        if not isinstance(rollout, Rollout):
            raise TypeError(f"write_rollout needs a Rollout, got {type(rollout).__name__}")
        rid = len(self._sources)
        name = f"demo_{rid}_{self._token}.h5"
        seg, tmp = os.path.join(self._parts, name), os.path.join(self._parts, name + ".tmp")
        try:
            with h5py.File(tmp, "w") as f:
                write_demo(f.create_group("demo"), rollout, rid)
            atomic.replace(tmp, seg, durable=self.durable)
        except OSError as exc:
            atomic.remove_quietly(tmp)
            raise RecordingError(f"cannot write rollout {rid} to {self.path}: {exc}") from None
        except BaseException:      # Ctrl+C, or a bug: leave no half-written segment behind
            atomic.remove_quietly(tmp)
            raise
        self._sources.append((name, "/demo"))
        self._rows.append(summary_row(rollout, rid))
        try:
            self._append_index()
        except BaseException:
            self._sources.pop()
            self._rows.pop()
            self._index_rows = -1      # unknown state on disk: next update rebuilds the index
            raise
        return rid

    def close(self) -> None:
        """Merge everything into one self-contained file with partial=False."""
        if not self._closed:
            self._finish(partial=False)

    # ----- internals -----
    def _lock(self) -> int:
        try:
            os.makedirs(self._parts, exist_ok=True)
            fd = os.open(os.path.join(self._parts, ".lock"), os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as exc:
            raise RecordingError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RecordingError(f"{self.path} is being written by another process") from None
        return fd

    def _unlock(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _clean_parts(self, keep: set[str] = frozenset()) -> None:
        """Delete files in the parts folder except the lock and `keep`. Only call it when
        FILE.h5 points at nothing else there."""
        for entry in os.listdir(self._parts):
            if entry != ".lock" and entry not in keep:
                atomic.remove_quietly(os.path.join(self._parts, entry))

    def _write_header(self, f: h5py.File, *, partial: bool, layout: str) -> h5py.Group:
        return write_header(f, self._header, self._rows, partial=partial, layout=layout)

    def _link(self, data: h5py.Group, rid: int) -> None:
        name, obj = self._sources[rid]
        data[f"demo_{rid}"] = h5py.ExternalLink(f"{self._rel_parts}/{name}", obj)

    def _write_index(self) -> None:
        """Build the index file from scratch (open, resume): O(rollouts)."""
        tmp = self.path + ".index.tmp"
        try:
            with h5py.File(tmp, "w") as f:
                data = self._write_header(f, partial=True, layout=LAYOUT_INDEX)
                f.attrs["parts_dir"] = self._rel_parts
                for rid in range(len(self._sources)):
                    self._link(data, rid)
                if self._review is not None:
                    f["review"] = h5py.ExternalLink(f"{self._rel_parts}/{self._review[0]}",
                                                    self._review[1])
            atomic.replace(tmp, self.path, durable=self.durable)
        except OSError as exc:
            atomic.remove_quietly(tmp)
            raise RecordingError(f"cannot write {self.path}: {exc}") from None
        self._index_rows = len(self._rows)
        self._on_disk = True
        # FILE.h5 now points at exactly these files: anything else there is stale.
        keep = {name for name, _ in self._sources}
        if self._review is not None:
            keep.add(self._review[0])
        self._clean_parts(keep)

    def _append_index(self) -> None:
        """Index with one more rollout: copy the current index (a few MB at most), add one link
        and one summary row to the copy, rename it over FILE.h5. O(1) HDF5 work per rollout, so
        10,000-rollout evaluations do not slow down as they grow."""
        rid = len(self._rows) - 1
        if self._index_rows != rid:
            self._write_index()
            return
        tmp = self.path + ".index.tmp"
        try:
            shutil.copyfile(self.path, tmp)
            with h5py.File(tmp, "r+") as f:
                data = f["data"]
                self._link(data, rid)
                data.attrs["total"] = total_steps(self._rows)
                append_summary_rows(f, self._rows[rid])
            atomic.replace(tmp, self.path, durable=self.durable)
        except OSError as exc:
            atomic.remove_quietly(tmp)
            raise RecordingError(f"cannot write {self.path}: {exc}") from None
        self._index_rows = len(self._rows)

    def _finish(self, *, partial: bool) -> None:
        if partial and not self._on_disk:     # failed before the first rollout: leave no file
            self._closed = True
            self._unlock()
            shutil.rmtree(self._parts, ignore_errors=True)
            return
        tmp = self.path + ".merge.tmp"
        opened: dict[str, h5py.File] = {}     # at most one segment + the base stay open

        def source(name: str) -> h5py.File:
            if name not in opened:
                for other in [k for k in opened if k.startswith("demo_")]:
                    opened.pop(other).close()
                opened[name] = h5py.File(os.path.join(self._parts, name), "r")
            return opened[name]
        try:
            with h5py.File(tmp, "w") as f:
                data = self._write_header(f, partial=partial, layout=LAYOUT_SINGLE)
                for rid, (name, obj) in enumerate(self._sources):
                    src = source(name)
                    src.copy(src[obj], data, name=f"demo_{rid}")
                if self._review is not None:
                    src = source(self._review[0])
                    src.copy(src[self._review[1]], f, name="review")
            for src in opened.values():
                src.close()
            atomic.replace(tmp, self.path, durable=self.durable)
        except (OSError, KeyError) as exc:
            for src in opened.values():
                src.close()
            atomic.remove_quietly(tmp)
            raise RecordingError(f"could not finalise {self.path}: {exc}; its rollouts are safe "
                                 f"in the partial file and {self._parts}") from None
        self._closed = True
        self._unlock()
        shutil.rmtree(self._parts, ignore_errors=True)

    def _load_existing(self, env_args: dict | None) -> None:
        """Resume: adopt the header, summary and rollouts of the recording at self.path."""
        from recordings.reader import RecordingReader   # late: reader imports writer helpers
        reader = RecordingReader(self.path)
        try:
            if not reader.is_planscope:
                raise RecordingError(f"{self.path}: cannot append to a file planscope did not "
                                     f"write (no schema_version)")
            old_env = reader.env_args
            if env_args and env_args.get("env_name") != old_env.get("env_name"):
                raise RecordingError(
                    f"{self.path}: cannot append rollouts of scene {env_args.get('env_name')!r} "
                    f"to a recording of scene {old_env.get('env_name')!r}")
            self._header = {
                "env_args": json_attr(old_env), "config": json_attr(reader.config),
                "seed_panel": np.asarray(reader.seed_panel, dtype=np.int64).reshape(-1),
                "perturbations": json_attr(reader.perturbations), "kind": reader.kind,
                "created_utc": reader.attrs.get("created_utc", "")}
            self._rows = columns_to_rows(reader.summary)
            layout = reader.layout
            links = reader.demo_links() if layout == LAYOUT_INDEX else []
            review_link, has_review = reader.review_link(), reader.has_review
        finally:
            reader.close()
        if layout == LAYOUT_INDEX:
            prefix = self._rel_parts + "/"
            for filename, obj in links:
                if not filename.startswith(prefix):
                    raise RecordingError(f"{self.path}: unexpected external link {filename}")
                self._sources.append((filename[len(prefix):], obj))
            if review_link is not None and review_link[0].startswith(prefix):
                self._review = (review_link[0][len(prefix):], review_link[1])
            for entry in os.listdir(self._parts):     # a kill may have left tmp files
                if entry.endswith(".tmp"):
                    atomic.remove_quietly(os.path.join(self._parts, entry))
        else:
            self._clean_parts()
            base = "base.h5"
            try:
                os.link(self.path, os.path.join(self._parts, base))
            except OSError:     # no hard links on this file system: copy instead
                shutil.copyfile(self.path, os.path.join(self._parts, base))
            self._sources = [(base, f"/data/{row['demo']}") for row in self._rows]
            if has_review:
                self._review = (base, "/review")
        for rid, row in enumerate(self._rows):   # ids are positions: keep demo names in step
            row["id"], row["demo"] = rid, f"demo_{rid}"
