"""One open recording in the review session: its lazy reader, its summary table as columns, its
tag book, ranking, and a check that the file on disk is still the one we opened.

Qt-free. Every read error becomes a `RecordingError` naming the file and the problem.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from app.core.review.data import RolloutData, load_rollout_data
from app.core.review.tags import TagBook
from recordings.errors import RecordingError

# Summary columns the browser shows first, in this order (the rest follow alphabetically).
BROWSER_COLUMNS = ("id", "seed", "policy", "perturbation", "success", "failure_label", "mode")


def _file_signature(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _columns_from_summary(summary: Any, count: int) -> dict[str, np.ndarray]:
    """Normalise the reader's summary (dict of columns, structured array, or list of rows) to a
    dict of 1-D numpy arrays of length `count`, with an integer "id" column."""
    if summary is None:
        cols: dict[str, np.ndarray] = {}
    elif isinstance(summary, dict):
        cols = {str(k): np.asarray(v) for k, v in summary.items()}
    elif isinstance(summary, np.ndarray) and summary.dtype.names:
        cols = {name: np.asarray(summary[name]) for name in summary.dtype.names}
    elif hasattr(summary, "columns"):
        cols = {str(k): np.asarray(v) for k, v in dict(summary.columns).items()}
    else:
        rows = list(summary)
        keys = list(rows[0]) if rows else []
        cols = {k: np.asarray([r[k] for r in rows]) for k in keys}
    for key, value in list(cols.items()):
        if value.ndim != 1 or len(value) != count:
            cols.pop(key)  # per-rollout vectors (e.g. metrics blobs) are not table columns
        elif value.dtype.kind == "S" or value.dtype.kind == "O":
            cols[key] = np.asarray([v.decode() if isinstance(v, bytes) else str(v) for v in value])
    if "id" not in cols:
        cols["id"] = np.arange(count, dtype=np.int64)
    return cols


class OpenRecording:
    """A recording opened for review. `len()` is its number of rollouts."""

    def __init__(self, path: Path, reader: Any) -> None:
        self.path = path
        self.reader = reader
        self._signature = _file_signature(path)
        self.stale = False  # set once the file on disk is found replaced; reopen to clear
        try:
            count = len(reader)
            self.columns = _columns_from_summary(getattr(reader, "summary", None), count)
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise RecordingError(f"{path}: cannot read the summary table ({exc})") from None
        self.count = count
        env_args = getattr(reader, "env_args", None) or {}
        if isinstance(env_args, str):
            env_args = json.loads(env_args)
        self.env_args: dict = env_args
        self.scene_name: str = str(env_args.get("env_name", ""))
        self.obs_keys = self._low_dim_keys(env_args)
        self.tags = TagBook(path)
        self._id_to_row = {int(v): i for i, v in enumerate(self.columns["id"])}

    def __len__(self) -> int:
        return self.count

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def has_plans(self) -> bool:
        """False for plain robomimic files (demos without our extras)."""
        return bool(getattr(self.reader, "is_planscope", "policy" in self.columns))

    @staticmethod
    def _low_dim_keys(env_args: dict) -> list[str]:
        spec = env_args.get("obs_spec") or []
        keys = [str(item[0]) for item in spec if item]
        return keys

    def rollout_id(self, row: int) -> int:
        return int(self.columns["id"][row])

    def row_of(self, rollout_id: int) -> int | None:
        return self._id_to_row.get(int(rollout_id))

    def cell(self, row: int, column: str) -> Any:
        col = self.columns.get(column)
        return None if col is None else col[row].item() if hasattr(col[row], "item") else col[row]

    def rows_where(self, **equal: Any) -> list[int]:
        mask = np.ones(self.count, bool)
        for key, value in equal.items():
            col = self.columns.get(key)
            if col is None:
                return []
            mask &= col == value
        return [int(i) for i in np.flatnonzero(mask)]

    def row_dict(self, row: int) -> dict[str, Any]:
        return {k: self.cell(row, k) for k in self.columns}

    def load(self, row: int) -> RolloutData:
        """Read rollout `row`'s small arrays. Raises RecordingError if the file changed on disk
        or the rollout cannot be read."""
        if not 0 <= row < self.count:
            raise RecordingError(f"{self.path}: no rollout at row {row} (file has {self.count})")
        self.check_unchanged()
        try:
            rollout = self.reader.rollout(row)
            recorded = list(getattr(rollout, "obs_keys", []) or self.obs_keys)
            keys = [k for k in self.obs_keys if k in recorded] + \
                [k for k in recorded if k not in self.obs_keys]
            return load_rollout_data(rollout, self.row_dict(row), keys)
        except RecordingError:
            raise
        except (OSError, KeyError, ValueError, TypeError, IndexError) as exc:
            raise RecordingError(f"{self.path}: rollout {self.rollout_id(row)} cannot be read "
                                 f"({type(exc).__name__}: {exc})") from None

    def check_unchanged(self) -> None:
        """Raise RecordingError when the file was replaced, truncated or deleted since opening."""
        try:
            signature = _file_signature(self.path)
        except OSError:
            raise RecordingError(f"{self.path}: the file was deleted or moved while open") from None
        if signature != self._signature:
            self.stale = True
            raise RecordingError(f"{self.path}: the file was replaced or changed on disk while "
                                 f"open.")

    def extends(self, older: "OpenRecording") -> bool:
        """True when this file holds every rollout of `older`, unchanged in the summary, plus
        possibly more: the file grew (append-only), it was not replaced by another."""
        if self.count < older.count:
            return False
        for key in ("id", "seed", "policy", "success", "failure_label"):
            mine, theirs = self.columns.get(key), older.columns.get(key)
            if (mine is None) != (theirs is None):
                return False
            if mine is not None and not np.array_equal(mine[: older.count], theirs):
                return False
        return True

    def rank(self, weights: dict[str, float] | None) -> tuple[np.ndarray, np.ndarray]:
        """Rows hardest first and every row's hardness score (recordings.ranking)."""
        from app.core.review.rank import rank_rows
        return rank_rows(self.columns, weights)

    def close(self) -> None:
        closer = getattr(self.reader, "close", None)
        if closer is not None:
            try:
                closer()
            except Exception:  # closing a reader of a replaced file must not fail the app
                pass
        self.tags.close()


def open_recording(path: Path) -> OpenRecording:
    """Open `path` for review. Raises RecordingError (missing, not HDF5, truncated, unknown
    schema) with a message naming the file."""
    if not path.exists():
        raise RecordingError(f"{path}: no such file")
    if path.is_dir():
        raise RecordingError(f"{path}: is a folder, not a recording")
    from recordings.reader import RecordingReader
    try:
        reader = RecordingReader(path)
    except RecordingError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise RecordingError(f"{path}: cannot be opened as a recording ({exc})") from None
    return OpenRecording(path, reader)
