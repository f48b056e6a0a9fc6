"""ScanReader: open a scan file (merged, or the index a running or killed scan leaves) lazily.

Opening reads the attributes and the row count only. Small columns (metrics, keys: at most
SMALL_ROW_VALUES values per row) are read whole on first use and cached, in (episode, frame)
order; large ones (sampled plans) are read row by row. Every problem a user can cause raises
ScanFileError with one line naming the file. Layout: docs/scan-format.md.
"""
from __future__ import annotations

import json
import os
from typing import Any

import h5py
import numpy as np

from recordings.formats.scan_file import (FORMAT_NAME, LAYOUT_INDEX, LAYOUT_SINGLE,
                                          SCHEMA_VERSION, ScanFileError, spec_from_json)
from recordings.reader import H5Reader, check_parts_folder, decoded_attrs, open_checked

SMALL_ROW_VALUES = 64


def is_scan_file(path: str | os.PathLike) -> bool:
    """True when path is an HDF5 file whose format attribute says planscope-scan (cheap)."""
    for options in ({}, {"locking": False}):      # no locks on NFS; a file open here already
        try:
            with h5py.File(os.fspath(path), "r", **options) as f:
                return str(f.attrs.get("format", "")) == FORMAT_NAME
        except (OSError, ValueError):
            continue
    return False


class ScanReader(H5Reader):
    """r.num_rows; r.column(name) [F, ...] sorted by (episode, frame); r.header (dict);
    r.partial / r.status; r.rows(name, indices) for large columns."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self._cache: dict[str, np.ndarray] = {}
        self._file = open_checked(self.path, self._open, error=ScanFileError, what="scan file")

    def _open(self, f: h5py.File) -> None:
        self._file, p = f, self.path
        self.attrs: dict[str, Any] = decoded_attrs(f)
        if self.attrs.get("format") != FORMAT_NAME:
            raise ScanFileError(f"{p}: not a planscope scan file (format "
                                f"{self.attrs.get('format', 'missing')!r})")
        try:
            version = int(self.attrs.get("schema_version"))
        except (TypeError, ValueError):
            raise ScanFileError(f"{p}: unreadable scan schema version "
                                f"{self.attrs.get('schema_version')!r}") from None
        if not 1 <= version <= SCHEMA_VERSION:
            raise ScanFileError(f"{p}: scan schema version {version} is not one this planscope "
                                f"reads (1..{SCHEMA_VERSION}); upgrade planscope")
        self.schema_version = version
        self.layout = str(self.attrs.get("layout", LAYOUT_SINGLE))
        self.header: dict[str, Any] = json.loads(self.attrs.get("header") or "{}")
        self.spec = spec_from_json(self.attrs["columns"])
        self.partial = bool(self.attrs.get("partial", False))
        self.partial_reason = str(self.attrs.get("partial_reason", ""))
        if self.layout == LAYOUT_INDEX:
            check_parts_folder(p, self.attrs, what="scan", error=ScanFileError)
            self._chunk_rows = f["chunk_rows"][()].astype(np.int64)
            self.num_rows = int(self._chunk_rows.sum())
        elif self.layout == LAYOUT_SINGLE:
            if "frames" not in f:
                raise ScanFileError(f"{p}: scan file without its frames table")
            self.num_rows = int(f["frames/episode"].shape[0])
        else:
            raise ScanFileError(f"{p}: unknown scan layout {self.layout!r}")
        self.small_columns = [c for c, (_, shape) in self.spec.items()
                              if int(np.prod(shape, dtype=np.int64)) <= SMALL_ROW_VALUES]

    # ----- file level -----
    def __len__(self) -> int:
        return self.num_rows

    @property
    def status(self) -> str:
        """One line: complete, partial (and why), or interrupted (writer killed or running)."""
        if self.layout == LAYOUT_INDEX:
            return (f"interrupted: the scan was killed or is still running ({self.num_rows} "
                    f"frames saved); `planscope scan ... --resume` finishes it")
        if self.partial:
            return f"partial: {self.partial_reason or 'stopped early'} ({self.num_rows} frames)"
        return f"complete ({self.num_rows} frames)"

    @property
    def policies(self) -> list[dict[str, Any]]:
        return list(self.header.get("policies", []))

    # ----- rows -----
    def _chunks(self) -> list[h5py.Group]:
        try:
            return [self._file[f"chunks/c_{i}"] for i in range(len(self._chunk_rows))]
        except (KeyError, OSError) as exc:
            raise ScanFileError(f"{self.path}: a chunk of this interrupted scan is missing "
                                f"({exc})") from None

    def _raw(self, name: str) -> np.ndarray:
        """Column in stored order (chunks concatenated for the index layout)."""
        dtype, shape = self.spec[name]
        if self.layout == LAYOUT_SINGLE:
            return self._file[f"frames/{name}"][()]
        parts = [g[name][()] for g in self._chunks()]
        return np.concatenate(parts) if parts else np.zeros((0, *shape), dtype=dtype)

    @property
    def row_order(self) -> np.ndarray:
        """[F] stored row of each sorted row ((episode, frame) ascending; merged files are
        stored sorted, so this is arange there)."""
        if "_order" not in self._cache:
            if self.layout == LAYOUT_SINGLE:
                order = np.arange(self.num_rows)
            else:
                order = np.lexsort((self._raw("frame"), self._raw("episode")))
            self._cache["_order"] = order
        return self._cache["_order"]

    def column(self, name: str) -> np.ndarray:
        """[F, ...] one column, rows sorted by (episode, frame). Small columns are cached."""
        if name not in self.spec:
            raise ScanFileError(f"{self.path}: no column {name!r}; it has {', '.join(self.spec)}")
        if name in self._cache:
            return self._cache[name]
        values = self._raw(name)
        if self.layout == LAYOUT_INDEX:
            values = values[self.row_order]
        if name in self.small_columns:
            self._cache[name] = values
        return values

    def rows(self, name: str, indices: np.ndarray | list[int]) -> np.ndarray:
        """[len(indices), ...] of a column at sorted rows (for large columns: plans)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if name in self._cache or name in self.small_columns:
            return self.column(name)[idx]
        stored = self.row_order[idx]
        if self.layout == LAYOUT_SINGLE:
            ds = self._file[f"frames/{name}"]
            return np.stack([ds[int(i)] for i in stored]) if len(stored) else \
                np.zeros((0, *ds.shape[1:]), ds.dtype)
        starts = np.concatenate([[0], np.cumsum(self._chunk_rows)])
        chunks = self._chunks()
        out = [chunks[c][name][int(i - starts[c])]
               for i in stored for c in [int(np.searchsorted(starts, i, side="right") - 1)]]
        dtype, shape = self.spec[name]
        return np.stack(out) if out else np.zeros((0, *shape), dtype=dtype)

    def values_at(self, name: str, indices: np.ndarray | list[int]) -> np.ndarray:
        """[len(indices), ...] of any column at sorted rows, reading only those rows from a
        merged file (a queue of 20 frames must not read 10 M rows)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if name in self._cache or self.layout != LAYOUT_SINGLE or not len(idx):
            return self.rows(name, idx) if name not in self.small_columns else self.column(name)[idx]
        order = np.argsort(idx)
        uniq, inverse = np.unique(idx[order], return_inverse=True)
        values = self._file[f"frames/{name}"][uniq]
        out = np.empty((len(idx), *values.shape[1:]), values.dtype)
        out[order] = values[inverse]
        return out

    def find(self, episode: int, frame: int) -> int:
        """Sorted row of (episode, frame), or -1."""
        ep, fr = self.column("episode"), self.column("frame")
        lo = int(np.searchsorted(ep, episode, side="left"))
        hi = int(np.searchsorted(ep, episode, side="right"))
        j = lo + int(np.searchsorted(fr[lo:hi], frame))
        return j if j < hi and fr[j] == frame else -1

    def copy_large(self, name: str, target: h5py.Dataset, order: np.ndarray) -> None:
        """Write a large column into target [F, ...] in sorted order, one chunk at a time."""
        if self.layout == LAYOUT_SINGLE:
            for start in range(0, self.num_rows, 1024):
                target[start:start + 1024] = self._file[f"frames/{name}"][start:start + 1024]
            return
        dest = np.empty(self.num_rows, dtype=np.int64)
        dest[order] = np.arange(self.num_rows)     # stored row -> sorted row
        start = 0
        for g, n in zip(self._chunks(), self._chunk_rows):
            rows = dest[start:start + n]
            values = g[name][()]
            run = np.argsort(rows)
            rows, values = rows[run], values[run]
            if n and rows[-1] - rows[0] == n - 1:
                target[int(rows[0]):int(rows[0]) + n] = values    # the usual case: in order
            else:
                for r, v in zip(rows, values):
                    target[int(r)] = v
            start += n

    @property
    def failures(self) -> list[dict[str, Any]]:
        """Frames that could not be scanned: {episode, frame, error, ...} each."""
        if self.layout == LAYOUT_SINGLE:
            if "failures" not in self._file:
                return []
            return [json.loads(s) for s in self._file["failures"].asstr()[()]]
        out: list[dict[str, Any]] = []
        for g in self._chunks():
            out.extend(json.loads(g.attrs.get("failures", "[]")))
        return out

    def chunk_links(self) -> list[tuple[str, int]]:
        """(file name, rows) of each chunk's external link (index layout; for resume)."""
        out = []
        for i, rows in enumerate(self._chunk_rows):
            link = self._file["chunks"].get(f"c_{i}", getlink=True)
            if not isinstance(link, h5py.ExternalLink):
                raise ScanFileError(f"{self.path}: chunk {i} is not a link in an interrupted scan")
            out.append((link.filename, int(rows)))
        return out

    def frames(self) -> dict[str, np.ndarray]:
        """Every small column, sorted rows: what ranking and aggregates read."""
        return {c: self.column(c) for c in self.small_columns}

    def table(self, name: str) -> dict[str, np.ndarray] | None:
        """A stored aggregate table (episodes, worst) of a merged file, or None."""
        if name not in self._file or not isinstance(self._file[name], h5py.Group):
            return None
        g = self._file[name]
        cols = json.loads(g.attrs.get("columns", "[]"))
        return {c: (g[c].asstr()[()] if h5py.check_string_dtype(g[c].dtype) else g[c][()])
                for c in cols}

    def heat_map(self, metric: str, policy: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(grid [E, T] float32, episodes [E]) of one metric (NaN where not scanned); column t
        is frame t * every (scan_ranking.heat_grid)."""
        from recordings.scan_ranking import heat_grid
        values = self.column(metric)
        if values.ndim == 2:
            values = values[:, policy]
        every = int(self.header.get("settings", {}).get("every", 1) or 1)
        return heat_grid(self.column("episode"), self.column("frame"), values, every)
