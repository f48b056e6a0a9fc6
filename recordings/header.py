"""File-level header of a recording: root attributes, data attrs (env_args, total), seed panel
and summary table. Shared by the crash-safe RecordingWriter and the one-shot write_recording."""
from __future__ import annotations

import functools
import importlib.metadata
import os
import subprocess
import time
from typing import Any, Iterable

import h5py
import numpy as np

from recordings.errors import RecordingError
from recordings.schema import (FORMAT_NAME, KINDS, LAYOUT_INDEX, SCHEMA_VERSION, json_attr,
                               rows_to_columns, write_summary, write_summary_rows)


@functools.lru_cache(maxsize=1)
def code_version() -> tuple[str, str]:
    """(planscope version, git commit or '') of the code writing the file."""
    try:
        version = importlib.metadata.version("planscope")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    commit = ""
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=2)
        if out.returncode == 0:
            commit = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return version, commit


def make_header(path: str, *, env_args: dict | None, config: dict | None,
                seed_panel: Iterable[int], perturbations: dict | None,
                kind: str) -> dict[str, Any]:
    """Validated header values (JSON texts, seed panel array). Raises RecordingError."""
    if kind not in KINDS:
        raise RecordingError(f"{path}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    try:
        return {"env_args": json_attr(env_args or {}), "config": json_attr(config or {}),
                "seed_panel": np.asarray(list(seed_panel), dtype=np.int64).reshape(-1),
                "perturbations": json_attr(perturbations or {}), "kind": kind,
                "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    except (TypeError, ValueError) as exc:
        raise RecordingError(f"{path}: header is not JSON-serialisable: {exc}") from None


def write_header(f: h5py.File, header: dict[str, Any], rows: list[dict[str, Any]], *,
                 partial: bool, layout: str) -> h5py.Group:
    """Write root attrs, /data attrs, /seed_panel and the summary; returns the /data group."""
    version, commit = code_version()
    attrs = {"schema_version": SCHEMA_VERSION, "format": FORMAT_NAME, "kind": header["kind"],
             "partial": partial, "layout": layout, "config": header["config"],
             "perturbations": header["perturbations"], "planscope_version": version,
             "git_commit": commit, "created_utc": header["created_utc"]}
    for key, value in attrs.items():
        f.attrs[key] = value
    data = f.require_group("data")      # write_recording fills it before the header
    data.attrs["env_args"] = header["env_args"]
    data.attrs["total"] = total_steps(rows)
    f.create_dataset("seed_panel", data=header["seed_panel"])
    if layout == LAYOUT_INDEX:
        write_summary_rows(f, rows)
    else:
        write_summary(f, rows_to_columns(rows))
    return data


def total_steps(rows: list[dict[str, Any]]) -> int:
    return int(sum(int(r["num_steps"]) for r in rows))


def write_recording(path: str | os.PathLike, rollouts: Iterable[Any], *,
                    env_args: dict | None = None, config: dict | None = None,
                    seed_panel: Iterable[int] = (), perturbations: dict | None = None,
                    kind: str = "demos") -> int:
    """Write a whole recording in one go (fixtures, synthetic data, conversions): straight into
    PATH.tmp, then one atomic rename. Nothing half-written is ever visible at path, but a crash
    loses all of it: for long runs use RecordingWriter, which keeps every finished rollout.
    About twice as fast as RecordingWriter (no segments, no merge). Returns the rollout count."""
    from recordings.atomic import remove_quietly, replace
    from recordings.layout import write_demo
    from recordings.schema import LAYOUT_SINGLE, summary_row
    path = os.path.abspath(os.fspath(path))
    header = make_header(path, env_args=env_args, config=config, seed_panel=seed_panel,
                         perturbations=perturbations, kind=kind)
    tmp = path + ".tmp"
    rows: list[dict[str, Any]] = []
    try:
        with h5py.File(tmp, "w") as f:
            data = f.create_group("data")
            for rid, rollout in enumerate(rollouts):
                write_demo(data.create_group(f"demo_{rid}"), rollout, rid)
                rows.append(summary_row(rollout, rid))
            write_header(f, header, rows, partial=False, layout=LAYOUT_SINGLE)
        replace(tmp, path, durable=True)
    except OSError as exc:
        remove_quietly(tmp)
        raise RecordingError(f"cannot write {path}: {exc}") from None
    except BaseException:
        remove_quietly(tmp)
        raise
    return len(rows)
