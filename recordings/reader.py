"""RecordingReader: open a planscope recording (or a plain robomimic file) lazily.

Opening reads the file-level attributes and the summary table (one M-sized read per column), never
a trace. rollout(i) returns a RolloutView whose arrays are read on demand, one slice at a time.
Every problem a user can cause (missing, not HDF5, truncated, corrupt, unknown schema, parts
folder of an interrupted recording missing) raises RecordingError with one line naming the file.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Callable, Self

import h5py
import numpy as np

from recordings.errors import RecordingError
from recordings.rollout_view import RolloutView
from recordings.schema import (FORMAT_NAME, LAYOUT_INDEX, LAYOUT_SINGLE, SCHEMA_VERSION,
                               ROWS_DATASET, STANDARD_METRICS, empty_summary, read_summary,
                               read_summary_rows)

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_DEMO = re.compile(r"^demo_(\d+)$")


def _diagnose_open_failure(path: str, exc: Exception) -> RecordingError:
    size = os.path.getsize(path)
    if size == 0:
        return RecordingError(f"{path}: empty file (0 bytes), not a recording")
    with open(path, "rb") as fh:
        # The superblock sits at 0 or, after a user block, at 512, 1024, 2048, ...
        offsets = [0] + [512 << k for k in range(20) if (512 << k) < size]
        found = False
        for off in offsets:
            fh.seek(off)
            if fh.read(8) == _HDF5_SIGNATURE:
                found = True
                break
    if not found:
        return RecordingError(f"{path}: not an HDF5 file (no HDF5 signature); "
                              f"expected a .h5 recording")
    text = str(exc)
    if "truncated" in text:
        return RecordingError(f"{path}: truncated HDF5 file ({size} bytes on disk; the copy or "
                              f"download was cut short)")
    return RecordingError(f"{path}: corrupt HDF5 file ({text.splitlines()[0] if text else exc})")


def open_h5(path: str) -> h5py.File:
    """h5py.File(path, 'r') with one clear RecordingError for each way it can fail."""
    if not os.path.exists(path):
        raise RecordingError(f"{path}: no such file")
    if os.path.isdir(path):
        raise RecordingError(f"{path}: is a folder, not a recording file")
    if not os.access(path, os.R_OK):
        raise RecordingError(f"{path}: permission denied")
    try:
        return h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        if "lock" in str(exc).lower():
            # Another tool holds a write lock, or the file system has no locks (NFS): a viewer
            # can still read; our own writer never writes a file in place.
            try:
                return h5py.File(path, "r", locking=False)
            except (OSError, ValueError) as exc2:
                exc = exc2
        raise _diagnose_open_failure(path, exc) from None


def open_checked(path: str, check: Callable[[h5py.File], None], *,
                 error: type[RecordingError] = RecordingError, what: str = "recording") -> h5py.File:
    """Open `path` read-only (open_h5) and run `check(file)`, the caller's validation (attributes,
    schema version, layout): the one open/validate block of every planscope HDF5 reader
    (RecordingReader, ScanReader). Any failure closes the file and raises `error` (a
    RecordingError subclass) with one line naming the file: open_h5's words, check's own
    RecordingError, or "corrupt <what> (...)" for what h5py or the parsing raised."""
    try:
        f = open_h5(path)
    except RecordingError as exc:
        raise (exc if isinstance(exc, error) else error(str(exc))) from None
    try:
        check(f)
    except RecordingError as exc:
        f.close()
        if isinstance(exc, error):
            raise
        raise error(str(exc)) from None
    except (OSError, KeyError, ValueError, TypeError) as exc:
        f.close()
        raise error(f"{path}: corrupt {what} ({exc})") from None
    return f


def decoded_attrs(f: h5py.File) -> dict[str, Any]:
    """The file's attributes, bytes decoded to str."""
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def check_parts_folder(path: str, attrs: dict[str, Any], *, what: str = "recording",
                       error: type[RecordingError] = RecordingError) -> None:
    """An index file (a running or killed writer's, layout LAYOUT_INDEX) needs its parts folder
    beside it; `error` naming both when it is missing."""
    parts = os.path.join(os.path.dirname(path), str(attrs.get("parts_dir", "")))
    if not os.path.isdir(parts):
        raise error(f"{path}: interrupted {what} whose parts folder {parts} is missing (move "
                    f"FILE.h5 and FILE.h5.parts together)")


class H5Reader:
    """What every planscope HDF5 reader shares over its open file `self._file`: `with` closes it,
    `close()` twice is fine, `h5` hands out the read-only h5py file."""

    _file: h5py.File

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._file.id.valid:
            self._file.close()

    @property
    def h5(self) -> h5py.File:
        """The open h5py file (read-only), for code that needs something not wrapped here."""
        return self._file


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _json(path: str, text: Any, what: str) -> Any:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        return json.loads(text) if text else {}
    except (TypeError, ValueError):
        raise RecordingError(f"{path}: attribute {what} is not valid JSON") from None


class RecordingReader(H5Reader):
    """Lazy reader. len(r) rollouts; r.summary dict of column arrays; r.rollout(i) -> RolloutView."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self._file = open_checked(self.path, self._open, what="recording")

    def _open(self, f: h5py.File) -> None:
        self._file, p = f, self.path
        st = os.stat(p)
        self._identity = (st.st_ino, st.st_mtime_ns, st.st_size)
        self.attrs: dict[str, Any] = decoded_attrs(f)
        version = self.attrs.get("schema_version")
        self.is_planscope = version is not None
        if self.is_planscope:
            if self.attrs.get("format", FORMAT_NAME) != FORMAT_NAME:
                raise RecordingError(f"{p}: format {self.attrs.get('format')!r} is not a "
                                     f"planscope recording")
            try:
                version = int(version)
            except (TypeError, ValueError):
                raise RecordingError(f"{p}: unreadable schema version {version!r}") from None
            if version > SCHEMA_VERSION:
                raise RecordingError(f"{p}: schema version {version} is newer than this planscope "
                                     f"reads (up to {SCHEMA_VERSION}); upgrade planscope")
            if version < 1:
                raise RecordingError(f"{p}: unknown schema version {version} (this planscope "
                                     f"reads versions 1..{SCHEMA_VERSION})")
        self.schema_version: int | None = version
        if not isinstance(f.get("data"), h5py.Group):
            raise RecordingError(f"{p}: no 'data' group; not a robomimic-layout recording")
        self._data = f["data"]
        self.layout = str(self.attrs.get("layout", LAYOUT_SINGLE))
        if self.layout == LAYOUT_INDEX:
            check_parts_folder(p, self.attrs, what="recording")
        self.env_args: dict = _json(p, self._data.attrs.get("env_args", ""), "env_args")
        self.config: dict = _json(p, self.attrs.get("config", ""), "config")
        self.perturbations: dict = _json(p, self.attrs.get("perturbations", ""), "perturbations")
        self.kind: str = str(self.attrs.get("kind", "demos"))
        self.partial: bool = bool(self.attrs.get("partial", False))
        self.code_version = (str(self.attrs.get("planscope_version", "")),
                             str(self.attrs.get("git_commit", "")))
        self.seed_panel = f["seed_panel"][()] if "seed_panel" in f else np.zeros(0, np.int64)
        self.has_review = "review" in f
        if self.is_planscope:
            if "summary" in f:
                self._summary: dict[str, np.ndarray] | None = read_summary(f["summary"])
            elif ROWS_DATASET in f:
                self._summary = read_summary_rows(f[ROWS_DATASET])
            else:
                raise RecordingError(f"{p}: planscope recording without its summary table")
            self.demo_names = [str(d) for d in self._summary["demo"]]
            missing = [d for d in self.demo_names[-1:] if d not in self._data]
            if missing:
                raise RecordingError(f"{p}: summary lists {missing[0]} but data has no such group")
        else:
            self._summary = None
            names = [k for k in self._data.keys() if _DEMO.match(k)]
            self.demo_names = sorted(names, key=lambda k: int(_DEMO.match(k).group(1)))

    # ----- file level -----
    def __repr__(self) -> str:
        state = "partial" if self.partial else "complete"
        what = f"schema v{self.schema_version}" if self.is_planscope else "plain robomimic"
        return f"<RecordingReader {self.path}: {len(self)} rollouts, {what}, {state}>"

    def __len__(self) -> int:
        return len(self.demo_names)

    def changed_on_disk(self) -> bool:
        """True when the file at path is no longer the one opened (replaced, rewritten, deleted)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return True
        return (st.st_ino, st.st_mtime_ns, st.st_size) != self._identity

    @property
    def summary(self) -> dict[str, np.ndarray]:
        """Column name -> [M] array: id, demo, seed, policy, perturbation, success, failure_label,
        mode (text as numpy str), then float64 metrics (NaN = not reported). For a plain robomimic
        file it is built from demo attributes and dataset shapes only (no trace data read)."""
        if self._summary is None:
            self._summary = self._summary_from_attrs()
        return self._summary

    def _summary_from_attrs(self) -> dict[str, np.ndarray]:
        cols = empty_summary()
        m = len(self.demo_names)
        out: dict[str, list] = {name: [] for name in cols}
        try:
            for i, name in enumerate(self.demo_names):
                g = self._data[name]
                present = set(g.attrs.keys())          # one call; most files have 1 attr
                a = {k: g.attrs[k] for k in present & {"num_samples", "seed", "policy",
                                                       "perturbation", "success",
                                                       "failure_label", "mode"}}
                n = a.get("num_samples")
                if n is None:
                    n = g["actions"].shape[0] if "actions" in g else 0
                row = {"id": i, "demo": name, "seed": int(a.get("seed", -1)),
                       "policy": _text(a.get("policy", "")),
                       "perturbation": _text(a.get("perturbation", "")),
                       "success": bool(a.get("success", True)),
                       "failure_label": _text(a.get("failure_label", "unlabelled")),
                       "mode": _text(a.get("mode", "")), "num_steps": float(n)}
                for key in out:
                    out[key].append(row.get(key, np.nan))
        except (OSError, KeyError, ValueError) as exc:
            raise RecordingError(f"{self.path}: cannot list rollouts ({exc})") from None
        result = {}
        for key, col in cols.items():
            dtype = col.dtype if col.dtype.kind != "U" else str
            result[key] = np.asarray(out[key], dtype=dtype).reshape(m)
        return result

    def done_keys(self) -> set[tuple[str, int, str]]:
        """(policy, seed, perturbation text) of every rollout in the file, as
        RecordingWriter.done_keys (what an evaluation resuming this file can skip)."""
        s = self.summary
        return {(str(p), int(k), str(q)) for p, k, q in zip(s["policy"], s["seed"],
                                                           s["perturbation"])}

    def rollout(self, i: int) -> RolloutView:
        """Rollout i (0-based position; equals its id). Nothing is read until asked for."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"rollout {i} out of range ({n} rollouts in {self.path})")
        i %= n
        name = self.demo_names[i]
        row = {k: v[i] for k, v in self._summary.items()} if self._summary is not None else {}
        return RolloutView(lambda: self._data[name], i, row, self.path)

    def __iter__(self):
        return (self.rollout(i) for i in range(len(self)))

    def review(self) -> dict[str, np.ndarray] | None:
        """The tags saved into the artifact (/review/tags columns), or None when there are none."""
        if not self.has_review:
            return None
        try:
            g = self._file["review"]
            if "tags" not in g:
                return None
            return read_summary(g["tags"])
        except (OSError, KeyError, ValueError) as exc:
            raise RecordingError(f"{self.path}: cannot read the saved review ({exc})") from None

    # ----- used by the writer when resuming -----
    def demo_links(self) -> list[tuple[str, str]]:
        """(file name, object path) of each demo's external link (index layout only)."""
        links = []
        for name in self.demo_names:
            link = self._data.get(name, getlink=True)
            if not isinstance(link, h5py.ExternalLink):
                raise RecordingError(f"{self.path}: {name} is not a link in an interrupted file")
            links.append((link.filename, link.path))
        return links

    def review_link(self) -> tuple[str, str] | None:
        link = self._file.get("review", getlink=True)
        return (link.filename, link.path) if isinstance(link, h5py.ExternalLink) else None


__all__ = ["RecordingReader", "open_h5", "STANDARD_METRICS"]
