"""Schema v1 constants, the summary table (one row per rollout) and metrics derived from a rollout.

The summary table lives in the HDF5 group /summary, one 1-D dataset per column, all of length M
(the number of rollouts), so listing and ranking read M-sized columns and never a trace.
Column order is stored in /summary attrs "columns" (JSON list). See docs/recording-format.md.
"""
from __future__ import annotations

import json
import math
from typing import Any, Iterable

import h5py
import numpy as np

from recordings.errors import RecordingError
from recordings.rollout import Rollout, to_json

SCHEMA_VERSION = 1
FORMAT_NAME = "planscope-recording"
KINDS = ("demos", "eval")
LAYOUT_SINGLE = "single"   # one self-contained file (after close())
LAYOUT_INDEX = "index"     # while writing: demos are external links into FILE.h5.parts/

# Columns every summary has, with their numpy dtype kind: "i" int64, "b" bool, "U" text.
BASE_COLUMNS: dict[str, str] = {
    "id": "i", "demo": "U", "seed": "i", "policy": "U", "perturbation": "U",
    "success": "b", "failure_label": "U", "mode": "U",
}
# Metrics every summary has (float64; NaN when a rollout did not report them).
STANDARD_METRICS = ("num_steps", "contacts", "min_clearance", "mode_switches",
                    "plan_exec_gap", "sample_disagreement", "time_to_success")

_STR = h5py.string_dtype("utf-8")


def json_attr(value: Any) -> str:
    return to_json(value)


def derived_metrics(rollout: Rollout) -> dict[str, float]:
    """Metrics computable from the trace itself; values given in rollout.metrics win.

    num_steps: T. contacts: number of "contact" events. mode_switches: times the executed
    sample's mode label changed between consecutive replans (empty labels skipped).
    sample_disagreement: mean over replans of the per-coordinate standard deviation across
    the N samples (action units, i.e. metres for positions), averaged over H and D.
    """
    out: dict[str, float] = {"num_steps": float(rollout.num_steps),
                             "contacts": float(sum(e.kind == "contact" for e in rollout.events))}
    if rollout.replans:
        labels = [r.mode_labels[r.executed_index] for r in rollout.replans]
        labels = [m for m in labels if m]
        out["mode_switches"] = float(sum(a != b for a, b in zip(labels, labels[1:])))
        out["sample_disagreement"] = float(np.mean(
            [r.samples.std(axis=0).mean() if r.num_samples > 1 else 0.0 for r in rollout.replans]))
    out.update(rollout.metrics)
    return out


def summary_row(rollout: Rollout, rollout_id: int) -> dict[str, Any]:
    """One summary row (column name -> scalar) for a rollout about to be written as demo_<id>."""
    row: dict[str, Any] = {
        "id": rollout_id, "demo": f"demo_{rollout_id}", "seed": rollout.seed,
        "policy": rollout.policy, "perturbation": rollout.perturbation_text,
        "success": rollout.success, "failure_label": rollout.failure_label, "mode": rollout.mode,
    }
    row.update(derived_metrics(rollout))
    return row


def metric_columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Standard metrics first, then every other metric seen, in first-seen order."""
    names = list(STANDARD_METRICS)
    for row in rows:
        for key in row:
            if key not in BASE_COLUMNS and key not in names:
                names.append(key)
    return names


def rows_to_columns(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Rows -> dict of column arrays (text as numpy str, metrics float64 with NaN for missing)."""
    cols: dict[str, np.ndarray] = {}
    for name, kind in BASE_COLUMNS.items():
        values = [row[name] for row in rows]
        if kind == "i":
            cols[name] = np.asarray(values, dtype=np.int64).reshape(-1)
        elif kind == "b":
            cols[name] = np.asarray(values, dtype=np.bool_).reshape(-1)
        else:
            cols[name] = np.asarray(values, dtype=str).reshape(-1)
    for name in metric_columns(rows):
        cols[name] = np.asarray([row.get(name, math.nan) for row in rows],
                                dtype=np.float64).reshape(-1)
    return cols


def columns_to_rows(cols: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Inverse of rows_to_columns, used when resuming (NaN metrics are dropped)."""
    n = len(cols["id"]) if "id" in cols else 0
    rows = []
    for i in range(n):
        row: dict[str, Any] = {}
        for name, col in cols.items():
            value = col[i].item() if hasattr(col[i], "item") else col[i]
            if name not in BASE_COLUMNS and isinstance(value, float) and math.isnan(value):
                continue
            row[name] = value
        rows.append(row)
    return rows


def write_summary(parent: h5py.Group, cols: dict[str, np.ndarray],
                  name: str = "summary") -> h5py.Group:
    """Write a column table (default /summary): one dataset per column, attrs columns (JSON
    list) and num_rows. Also used for /review/tags."""
    group = parent.create_group(name)
    n = len(cols["id"])
    for column, col in cols.items():
        if col.dtype.kind == "U":
            group.create_dataset(column, data=col.astype(object), dtype=_STR)
        else:
            group.create_dataset(column, data=col)
    group.attrs["columns"] = json.dumps(list(cols))
    group.attrs["num_rows"] = n
    return group


# While a recording is being written its index file keeps the summary as one JSON text per row
# in /summary_rows (growable): appending a rollout is then one resize and one write, instead of
# one per column. close() turns it into the /summary column table.
ROWS_DATASET = "summary_rows"


def write_summary_rows(f: h5py.File, rows: list[dict[str, Any]]) -> None:
    texts = np.empty(len(rows), dtype=object)
    texts[:] = [to_json(r) for r in rows]
    f.create_dataset(ROWS_DATASET, data=texts, dtype=_STR, chunks=(1024,), maxshape=(None,))


def append_summary_rows(f: h5py.File, row: dict[str, Any]) -> None:
    ds = f[ROWS_DATASET]
    n = ds.shape[0]
    ds.resize((n + 1,))
    ds[n] = to_json(row)


def read_summary_rows(ds: h5py.Dataset) -> dict[str, np.ndarray]:
    return rows_to_columns([json.loads(text) for text in ds.asstr()[()]])


def read_summary(group: h5py.Group) -> dict[str, np.ndarray]:
    """Read /summary written by write_summary: M-sized reads only, never a trace."""
    names = json.loads(group.attrs["columns"])
    cols: dict[str, np.ndarray] = {}
    for name in names:
        ds = group[name]
        if ds.dtype.kind == "O" or h5py.check_string_dtype(ds.dtype) is not None:
            cols[name] = np.asarray(ds.asstr()[()], dtype=str).reshape(-1)
        else:
            cols[name] = ds[()].reshape(-1)
    return cols


def empty_summary() -> dict[str, np.ndarray]:
    return rows_to_columns([])


# ---------------------------------------------------------------------------- validation on read
# What the reader hands out, checked from dataset metadata only (shapes and dtypes, no trace data
# read) the first time a rollout's traces are asked for: name -> (allowed ndims, what it is).
_TRACE_RULES: dict[str, tuple[tuple[int, ...], str]] = {
    "actions": ((2,), "[T, D]"), "states": ((2,), "[T, S]"),
    "rewards": ((1,), "[T]"), "dones": ((1,), "[T]"),
}
_NUMERIC = "biuf"


def _check_numeric(ds: h5py.Dataset, name: str, where: str) -> None:
    if ds.dtype.kind not in _NUMERIC:
        raise RecordingError(f"{where}: dataset '{name}' has dtype {ds.dtype} (not numbers)")


def check_rollout_datasets(group: h5py.Group, where: str) -> None:
    """Ranks, dtypes and lengths of one rollout group's datasets, consistent with each other:
    actions [T, D] numeric; states [T, S], rewards [T], dones [T], obs/<key> [T, ...] numeric with
    the same T; replans/samples [R, N, H, D] with the actions' D and replans/step [R].
    `where` names the file and rollout ("FILE: rollout 3"). Raises RecordingError, one line."""
    if "actions" not in group:
        raise RecordingError(f"{where}: no 'actions' dataset")
    lengths: dict[str, int] = {}
    for name, (ndims, shape) in _TRACE_RULES.items():
        if name not in group:
            continue
        ds = group[name]
        if not isinstance(ds, h5py.Dataset):
            raise RecordingError(f"{where}: '{name}' is a group, expected a dataset {shape}")
        _check_numeric(ds, name, where)
        if ds.ndim not in ndims:
            raise RecordingError(f"{where}: dataset '{name}' has shape {ds.shape}, expected {shape}")
        lengths[name] = int(ds.shape[0])
    t = lengths["actions"]
    obs = group.get("obs")
    if obs is not None:
        for key in obs:
            ds = obs[key]
            name = f"obs/{key}"
            if not isinstance(ds, h5py.Dataset):
                continue
            _check_numeric(ds, name, where)
            if ds.ndim < 1:
                raise RecordingError(f"{where}: dataset '{name}' is a scalar, expected [T, ...]")
            lengths[name] = int(ds.shape[0])
    for name, n in lengths.items():
        if n != t:
            raise RecordingError(f"{where}: dataset '{name}' has {n} steps but 'actions' has {t}")
    replans = group.get("replans")
    if replans is not None and "samples" in replans:
        samples = replans["samples"]
        _check_numeric(samples, "replans/samples", where)
        d = int(group["actions"].shape[1])
        if samples.ndim != 4 or samples.shape[-1] != d:
            raise RecordingError(f"{where}: dataset 'replans/samples' has shape {samples.shape}, "
                                 f"expected [R, N, H, {d}] (D of 'actions')")
        if "step" in replans and replans["step"].shape != (samples.shape[0],):
            raise RecordingError(f"{where}: dataset 'replans/step' has shape "
                                 f"{replans['step'].shape}, expected [{samples.shape[0]}] (one per replan)")
