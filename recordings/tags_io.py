"""Tags in and out of the sidecar: CSV / JSON export and import, and "save review into artifact".

CSV columns: id, rollout_id, tag, step (empty = whole rollout), note, author, created (Unix
seconds, exact repr), created_utc (ISO 8601, for people). JSON: {"format": "planscope-tags",
"version": 1, "recording": ..., "tags": [{id, rollout_id, tag, step|null, note, author, created}]}.
Import accepts both (created_utc is used only when created is missing).

save_review() writes the tags into the recording's /review group without ever modifying the
recording in place: it copies the file byte for byte to FILE.h5.review.tmp (same folder), adds
/review to the copy, fsyncs it and os.replace()s it over the original. A crash at any point leaves
either the old file or the new one; the trace bytes are copied, never rewritten.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from recordings import atomic
from recordings.errors import RecordingError
from recordings.schema import LAYOUT_INDEX, write_summary
from recordings.tag_model import TAXONOMY, normalise_tag

CSV_COLUMNS = ("id", "rollout_id", "tag", "step", "note", "author", "created", "created_utc")
JSON_FORMAT = "planscope-tags"


def _iso(created: float) -> str:
    return dt.datetime.fromtimestamp(created, dt.timezone.utc).isoformat(timespec="microseconds")


def tag_key(record: dict[str, Any]) -> tuple:
    """What makes two tags the same for import (ids differ between sidecars)."""
    step = record.get("step")
    return (int(record["rollout_id"]), str(record["tag"]), None if step is None else int(step),
            str(record.get("note", "")), str(record.get("author", "")),
            round(float(record.get("created", 0.0)), 3))


def export_tags(tags: list, path: Path) -> int:
    """Write tags to path (.csv or .json by suffix), atomically. Returns the count."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise RecordingError(f"{path}: export format must be .csv or .json")
    tmp = path.with_name(path.name + ".tmp")
    try:
        if suffix == ".csv":
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                out = csv.writer(fh)
                out.writerow(CSV_COLUMNS)
                for t in tags:
                    out.writerow([t.id, t.rollout_id, t.tag, "" if t.step is None else t.step,
                                  t.note, t.author, repr(t.created), _iso(t.created)])
        else:
            doc = {"format": JSON_FORMAT, "version": 1, "tags": [t.to_dict() for t in tags]}
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=1, ensure_ascii=False)
        atomic.replace(str(tmp), str(path), durable=True)
    except OSError as exc:
        atomic.remove_quietly(str(tmp))
        raise RecordingError(f"{path}: cannot write tags ({exc.strerror or exc})") from None
    return len(tags)


def _record(raw: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        step = raw.get("step")
        step = None if step in (None, "", "null", "None") else int(step)
        created = raw.get("created")
        if created in (None, ""):
            iso = raw.get("created_utc")
            created = dt.datetime.fromisoformat(iso).timestamp() if iso else time.time()
        record = {"rollout_id": int(raw["rollout_id"]), "tag": normalise_tag(raw["tag"]),
                  "step": step, "note": str(raw.get("note") or ""),
                  "author": str(raw.get("author") or ""), "created": float(created)}
    except KeyError as exc:
        raise RecordingError(f"{where}: missing field {exc}") from None
    except (TypeError, ValueError) as exc:
        raise RecordingError(f"{where}: bad value ({exc})") from None
    if record["rollout_id"] < 0 or (step is not None and step < 0):
        raise RecordingError(f"{where}: rollout_id and step must be >= 0")
    return record


def read_tag_file(path: Path) -> list[dict[str, Any]]:
    """Parse a CSV or JSON tag export into tag records (without ids)."""
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: cannot read ({exc})") from None
    if suffix == ".json":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise RecordingError(f"{path}: not valid JSON ({exc})") from None
        raw = doc.get("tags") if isinstance(doc, dict) else doc
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise RecordingError(f"{path}: expected a planscope tag export (a 'tags' list)")
        return [_record(r, f"{path}: tag {i + 1}") for i, r in enumerate(raw)]
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = {"rollout_id", "tag"} - set(reader.fieldnames or ())
        if missing:
            raise RecordingError(f"{path}: CSV lacks column(s) {', '.join(sorted(missing))}")
        return [_record(r, f"{path}: line {i + 2}") for i, r in enumerate(reader)]
    raise RecordingError(f"{path}: import format must be .csv or .json")


def tag_columns(tags: list) -> dict[str, np.ndarray]:
    """Tags as the /review/tags column table (step -1 = whole rollout)."""
    return {
        "id": np.asarray([t.id for t in tags], dtype=np.int64).reshape(-1),
        "rollout_id": np.asarray([t.rollout_id for t in tags], dtype=np.int64).reshape(-1),
        "tag": np.asarray([t.tag for t in tags], dtype=str).reshape(-1),
        "step": np.asarray([-1 if t.step is None else t.step for t in tags],
                           dtype=np.int64).reshape(-1),
        "note": np.asarray([t.note for t in tags], dtype=str).reshape(-1),
        "author": np.asarray([t.author for t in tags], dtype=str).reshape(-1),
        "created": np.asarray([t.created for t in tags], dtype=np.float64).reshape(-1),
    }


def save_review(recording: Path, tags: list) -> Path:
    """Copy tags into recording's /review group: copy, add, fsync, atomic rename (see module)."""
    from recordings.reader import open_h5
    with open_h5(str(recording)) as f:
        if f.attrs.get("layout") == LAYOUT_INDEX:
            raise RecordingError(f"{recording}: the recording is still being written (or was "
                                 f"interrupted); finish or resume it before saving the review")
    folder = recording.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RecordingError(f"{recording}: folder {folder} is read-only; export the tags "
                             f"instead, or copy the recording somewhere writable")
    tmp = recording.with_name(recording.name + ".review.tmp")
    try:
        shutil.copyfile(recording, tmp)
        shutil.copymode(recording, tmp)
        with h5py.File(tmp, "r+") as f:
            if "review" in f:
                del f["review"]
            group = f.create_group("review")
            group.attrs["saved_utc"] = _iso(time.time())
            group.attrs["num_tags"] = len(tags)
            group.attrs["taxonomy"] = json.dumps(list(TAXONOMY))
            write_summary(group, tag_columns(tags), name="tags")
        atomic.replace(str(tmp), str(recording), durable=True)
    except OSError as exc:
        atomic.remove_quietly(str(tmp))
        raise RecordingError(f"{recording}: cannot save the review ({exc})") from None
    return recording
