"""Read a LeRobotDataset v3 folder (LeRobot >= 0.4; codebase_version "v3.x") lazily.

Layout (lerobot/datasets/utils.py, lerobot_dataset.py):
    meta/info.json                       codebase_version, fps, features {name: dtype, shape,
                                         names}, data_path / video_path templates, chunks_size
    meta/episodes/chunk-*/file-*.parquet one row per episode: episode_index, length, tasks,
                                         dataset_from_index / dataset_to_index, data/chunk_index,
                                         data/file_index, videos/<key>/{chunk_index, file_index,
                                         from_timestamp, to_timestamp}, stats/...
    data/chunk-*/file-*.parquet          one row per frame, many episodes per file (one row group
                                         per episode when LeRobot wrote it)
    videos/<key>/chunk-*/file-*.mp4      many episodes per file, back to back

Opening reads info.json and the episode files' non-stats columns (a few ms for 1,000 episodes).
A frame read opens the episode's data file once (cached), reads only the row groups that hold
the wanted rows and only the wanted columns, and checks the `index` column against the
metadata. Video frames are decoded at from_timestamp + timestamp (recordings.formats.video).
pyarrow and PyAV are imported here, lazily (only when such a data set is opened).
"""
from __future__ import annotations

import bisect
import glob
import json
import os
import re
from collections import OrderedDict
from typing import Any, Sequence

import numpy as np

from recordings.dataset import Dataset, DatasetError, Episode, Feature, feature_kind
from recordings.formats.arrow_columns import column_to_numpy
from recordings.formats.video import DEFAULT_TOLERANCE_S, VideoFiles

_VERSION = re.compile(r"^v?(\d+)\.(\d+)")
_CACHED_GROUPS, _CACHE_GROUP_BYTES = 4, 64 << 20   # decoded row groups kept (small ones only)
PLANSCOPE_MODE = "planscope/mode"          # extra per-episode columns planscope's writer adds
PLANSCOPE_SUCCESS = "planscope/success"
PLANSCOPE_SEED = "planscope/seed"


def _names(raw: Any) -> tuple[str, ...] | None:
    """LeRobot names are a list, or a dict holding one list (e.g. {"motors": [...]})."""
    if isinstance(raw, list) and all(isinstance(n, str) for n in raw):
        return tuple(raw)
    if isinstance(raw, dict) and len(raw) == 1:
        return _names(next(iter(raw.values())))
    return None


class _ParquetFiles:
    """Open ParquetFile objects with their row-group row offsets, a few at a time."""

    def __init__(self, capacity: int = 16) -> None:
        self._open: OrderedDict[str, tuple[Any, list[int]]] = OrderedDict()
        self._capacity = capacity

    def get(self, path: str) -> tuple[Any, list[int]]:
        import pyarrow as pa
        import pyarrow.parquet as pq
        hit = self._open.get(path)
        if hit is None:
            if not os.path.isfile(path):
                raise DatasetError(f"{path}: missing parquet file")
            try:
                pf = pq.ParquetFile(path, memory_map=True)
            except (pa.ArrowException, OSError) as exc:
                raise DatasetError(f"{path}: not a readable parquet file "
                                   f"({str(exc).splitlines()[0]}); truncated or corrupt") from None
            starts = [0]
            for g in range(pf.metadata.num_row_groups):
                starts.append(starts[-1] + pf.metadata.row_group(g).num_rows)
            hit = (pf, starts)
            self._open[path] = hit
            while len(self._open) > self._capacity:
                self._open.popitem(last=False)
        self._open.move_to_end(path)
        return hit

    def clear(self) -> None:
        self._open.clear()


class LeRobotV3Dataset(Dataset):
    """A local LeRobotDataset v3 folder. See the module docstring for what is read when."""

    format_name = "lerobot-v3"

    def __init__(self, root: str, *, tolerance_s: float = DEFAULT_TOLERANCE_S) -> None:
        self.path = os.path.abspath(root)
        self.tolerance_s = tolerance_s
        self.info = self._load_info()
        self.fps = float(self.info["fps"])
        self.features = self._features()
        self.action_key = "action" if "action" in self.features else None
        self.video_keys = [n for n, f in self.features.items() if f.video]
        self._episodes, self._meta = self._load_episodes()
        self._parquet = _ParquetFiles()
        self._groups: OrderedDict[tuple, Any] = OrderedDict()
        self._videos = VideoFiles()

    # ----- metadata -----
    def _file(self, rel: str) -> str:
        return os.path.join(self.path, rel)

    def _load_info(self) -> dict:
        path = self._file("meta/info.json")
        try:
            with open(path, encoding="utf-8") as fh:
                info = json.load(fh)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DatasetError(f"{path}: not readable JSON ({str(exc).splitlines()[0]})") from None
        if not isinstance(info, dict):
            raise DatasetError(f"{path}: expected a JSON object")
        version = str(info.get("codebase_version", ""))
        m = _VERSION.match(version)
        if not m:
            raise DatasetError(f"{path}: unknown codebase_version {version!r}; planscope reads "
                               f"LeRobotDataset v3.x")
        major = int(m.group(1))
        if major < 3:
            raise DatasetError(f"{path}: LeRobotDataset {version} is the older per-episode "
                               f"layout; convert it with LeRobot's convert_dataset_v21_to_v30 "
                               f"(planscope reads v3.x)")
        if major > 3:
            raise DatasetError(f"{path}: codebase_version {version} is newer than planscope "
                               f"reads (v3.x); upgrade planscope")
        for key in ("fps", "features", "data_path"):
            if key not in info:
                raise DatasetError(f"{path}: no {key!r} in info.json")
        if not isinstance(info["features"], dict):
            raise DatasetError(f"{path}: 'features' is not an object")
        return info

    def _features(self) -> dict[str, Feature]:
        out = {}
        where = self._file("meta/info.json")
        for name, ft in self.info["features"].items():
            try:
                dtype, shape = str(ft["dtype"]), tuple(int(s) for s in ft["shape"])
            except (KeyError, TypeError, ValueError):
                raise DatasetError(f"{where}: feature {name!r} has no valid dtype/shape") from None
            video = dtype == "video"
            if dtype in ("video", "image"):
                # LeRobot camera shapes are (H, W, C) in info.json
                names = tuple(ft.get("names") or ())
                if names[:1] == ("channels",) or (len(shape) == 3 and shape[0] in (1, 3)
                                                  and shape[2] not in (1, 3)):
                    shape = (shape[1], shape[2], shape[0])
                out[name] = Feature(name, "uint8", shape, "image", None, video)
                continue
            if dtype == "string":
                continue
            kind = feature_kind(name, dtype, shape)
            shape_out = () if shape == (1,) else shape     # scalar columns, as LeRobot returns
            out[name] = Feature(name, dtype, shape_out, kind, _names(ft.get("names")))
        if video := [n for n, f in out.items() if f.video]:
            if not self.info.get("video_path"):
                raise DatasetError(f"{where}: video features {video} but no video_path")
        return out

    def _load_episodes(self) -> tuple[list[Episode], dict[str, np.ndarray]]:
        import pyarrow as pa
        import pyarrow.parquet as pq
        files = sorted(glob.glob(self._file("meta/episodes/chunk-*/file-*.parquet")))
        if not files:
            raise DatasetError(f"{self._file('meta/episodes')}: no episode metadata "
                               f"(chunk-*/file-*.parquet)")
        need = ["episode_index", "length", "dataset_from_index", "dataset_to_index",
                "data/chunk_index", "data/file_index"]
        for k in self.video_keys:
            need += [f"videos/{k}/chunk_index", f"videos/{k}/file_index",
                     f"videos/{k}/from_timestamp"]
        tables = []
        for f in files:
            try:
                names = pq.read_schema(f).names
                missing = [c for c in need if c not in names]
                if missing:
                    raise DatasetError(f"{f}: episode metadata lacks column(s) "
                                       f"{', '.join(missing)}")
                cols = [c for c in names if not c.startswith("stats/")]
                tables.append(pq.read_table(f, columns=cols))
            except (pa.ArrowException, OSError) as exc:
                raise DatasetError(f"{f}: not a readable parquet file "
                                   f"({str(exc).splitlines()[0]})") from None
        try:
            table = pa.concat_tables(tables, promote_options="default")
        except pa.ArrowException as exc:
            raise DatasetError(f"{files[0]}: episode files disagree ({exc})") from None
        meta: dict[str, Any] = {}
        for c in table.column_names:
            if c.startswith("planscope/"):      # may hold nulls (success not known)
                meta[c] = np.asarray(table.column(c).to_pylist(), dtype=object)
            elif c != "tasks" and not pa.types.is_list(table.schema.field(c).type):
                meta[c] = column_to_numpy(table.column(c), where=f"{files[0]}: {c}")
        order = np.argsort(meta["episode_index"], kind="stable")
        meta = {k: v[order] for k, v in meta.items()}
        idx = meta["episode_index"]
        if not np.array_equal(idx, np.arange(len(idx))):
            raise DatasetError(f"{self._file('meta/episodes')}: episode_index is not 0..N-1")
        lengths = meta["length"].astype(np.int64)
        starts = meta["dataset_from_index"].astype(np.int64)
        if np.any(meta["dataset_to_index"] - starts != lengths):
            bad = int(np.argmax(meta["dataset_to_index"] - starts != lengths))
            raise DatasetError(f"{self._file('meta/episodes')}: episode {bad} has length "
                               f"{lengths[bad]} but index range {starts[bad]}.."
                               f"{meta['dataset_to_index'][bad]}")
        tasks = table.column("tasks").to_pylist() if "tasks" in table.column_names else None
        # The first global index stored in each data file: rows of a file are its episodes'
        # frames in index order, so episode e starts at row from_index - file_start.
        file_key = meta["data/chunk_index"].astype(np.int64) * 1_000_000 + \
            meta["data/file_index"].astype(np.int64)
        file_start = {}
        for k, s in zip(file_key.tolist(), starts.tolist()):
            file_start[k] = min(s, file_start.get(k, s))
        meta["_row0"] = starts - np.array([file_start[k] for k in file_key.tolist()], np.int64)
        success = meta.get(PLANSCOPE_SUCCESS)
        mode = meta.get(PLANSCOPE_MODE)
        extra_cols = [c for c in meta if c.startswith("planscope/") and c not in
                      (PLANSCOPE_SUCCESS, PLANSCOPE_MODE)]
        episodes = []
        for i in range(len(idx)):
            t = tasks[order[i]] if tasks is not None else None
            episodes.append(Episode(
                index=i, length=int(lengths[i]),
                task="; ".join(t) if isinstance(t, list) else (t or ""),
                success=None if success is None or success[i] is None else bool(success[i]),
                mode="" if mode is None else str(mode[i]), start=int(starts[i]),
                extra={c.removeprefix("planscope/"): meta[c][i] for c in extra_cols}))
        return episodes, meta

    @property
    def episodes(self) -> list[Episode]:
        return self._episodes

    @property
    def num_frames(self) -> int:
        return int(self._meta["length"].sum())

    # ----- frames -----
    def close(self) -> None:
        self._parquet.clear()
        self._groups.clear()
        self._videos.close()

    def _data_path(self, e: int) -> str:
        try:
            rel = self.info["data_path"].format(chunk_index=int(self._meta["data/chunk_index"][e]),
                                                file_index=int(self._meta["data/file_index"][e]))
        except (KeyError, IndexError, ValueError) as exc:
            raise DatasetError(f"{self._file('meta/info.json')}: data_path template "
                               f"{self.info['data_path']!r} does not format ({exc})") from None
        return self._file(rel)

    def _video_path(self, e: int, key: str) -> str:
        return self._file(self.info["video_path"].format(
            video_key=key, chunk_index=int(self._meta[f"videos/{key}/chunk_index"][e]),
            file_index=int(self._meta[f"videos/{key}/file_index"][e])))

    def _table_rows(self, e: int, lo: int, hi: int, columns: list[str]) -> dict[str, np.ndarray]:
        """Columns of episode e's frames lo..hi-1, reading only the row groups that hold them."""
        import pyarrow as pa
        path = self._data_path(e)
        pf, starts = self._parquet.get(path)
        r0 = int(self._meta["_row0"][e]) + lo
        r1 = r0 + (hi - lo)
        if r1 > starts[-1]:
            raise DatasetError(f"{path}: has {starts[-1]} rows, episode {e} needs rows up to "
                               f"{r1}; missing or truncated data")
        g0 = bisect.bisect_right(starts, r0) - 1
        g1 = bisect.bisect_left(starts, r1)
        cols = list(dict.fromkeys([*columns, "index"]))
        key = (path, g0, g1, tuple(cols))
        table = self._groups.get(key)
        if table is None:
            try:
                table = pf.read_row_groups(list(range(g0, g1)), columns=cols)
            except (pa.ArrowException, OSError, KeyError) as exc:
                raise DatasetError(f"{path}: cannot read rows {r0}..{r1} "
                                   f"({str(exc).splitlines()[0]})") from None
            # Files converted from v2.1 or merged by LeRobot's aggregate hold one big row
            # group: keep the last few decoded groups so the next frames are a slice.
            if table.nbytes <= _CACHE_GROUP_BYTES:
                self._groups[key] = table
                while len(self._groups) > _CACHED_GROUPS:
                    self._groups.popitem(last=False)
        else:
            self._groups.move_to_end(key)
        table = table.slice(r0 - starts[g0], r1 - r0)
        first = table.column("index")[0].as_py()
        expect = int(self._meta["dataset_from_index"][e]) + lo
        if first != expect:
            raise DatasetError(f"{path}: row {r0} holds frame index {first}, meta/episodes says "
                               f"{expect}; the data file does not match the episode metadata")
        out = {}
        for c in columns:
            ft = self.features.get(c)
            out[c] = column_to_numpy(table.column(c), ft.shape if ft else None,
                                     image=bool(ft and ft.kind == "image"), where=f"{path}: {c}")
        return out

    def _read(self, episode: int, start: int, stop: int, keys: Sequence[str]
              ) -> dict[str, np.ndarray]:
        return self._read_rows(episode, np.arange(start, stop), keys)

    def column(self, key: str) -> np.ndarray:
        """[num_frames, ...] of one non-video feature: one column read per data file (plus its
        `index` column, to put the rows in episode order and check them)."""
        import pyarrow as pa
        self.require([key], "the request")
        if self.features[key].video:
            raise DatasetError(f"{self.path}: {key} is a video; read it frame by frame")
        seen, values, index = set(), [], []
        for e in range(len(self._episodes)):
            path = self._data_path(e)
            if path in seen:
                continue
            seen.add(path)
            pf, _ = self._parquet.get(path)
            try:
                table = pf.read(columns=list(dict.fromkeys([key, "index"])))
            except (pa.ArrowException, OSError, KeyError) as exc:
                raise DatasetError(f"{path}: cannot read column {key} "
                                   f"({str(exc).splitlines()[0]})") from None
            ft = self.features[key]
            values.append(column_to_numpy(table.column(key), ft.shape,
                                          image=ft.kind == "image", where=f"{path}: {key}"))
            index.append(column_to_numpy(table.column("index")))
        idx = np.concatenate(index)
        order = np.argsort(idx, kind="stable")
        want = np.concatenate([np.arange(e.start, e.start + e.length) for e in self._episodes])
        if len(idx) != len(want) or not np.array_equal(idx[order], want):
            raise DatasetError(f"{self.path}: the data files' index column does not match "
                               f"meta/episodes ({len(idx)} rows, {len(want)} frames listed)")
        return np.concatenate(values)[order]

    def _read_rows(self, episode: int, rows: np.ndarray, keys: Sequence[str]
                   ) -> dict[str, np.ndarray]:
        videos = [k for k in keys if k in self.video_keys]
        columns = [k for k in keys if k not in videos]
        if videos and "timestamp" not in columns:
            columns.append("timestamp")
        lo, hi = int(rows.min()), int(rows.max()) + 1
        block = self._table_rows(episode, lo, hi, columns) if columns else {}
        out = {k: v[rows - lo] for k, v in block.items() if k in keys}
        for key in videos:
            ts = block["timestamp"][rows - lo].astype(np.float64)
            offset = float(self._meta[f"videos/{key}/from_timestamp"][episode])
            out[key] = self._videos.get(self._video_path(episode, key)).frames_at(
                (offset + ts).tolist(), self.tolerance_s)
        return out


__all__ = ["LeRobotV3Dataset", "PLANSCOPE_MODE", "PLANSCOPE_SUCCESS", "PLANSCOPE_SEED"]
