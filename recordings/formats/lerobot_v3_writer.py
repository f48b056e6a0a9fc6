"""Write a LeRobotDataset v3 folder that LeRobot's own `LeRobotDataset(repo_id, root=DIR)` loads.

The files are the ones LeRobot 0.4.x writes (lerobot/datasets/lerobot_dataset.py): info.json
(codebase_version "v3.0"), stats.json, tasks.parquet (a pandas frame indexed by task text),
meta/episodes/chunk-000/file-000.parquet (one row per episode, with per-episode stats/...
columns), data/chunk-CCC/file-FFF.parquet (one row group per episode, one file per
`frames_per_file` frames) and, for camera features, videos/<key>/chunk-CCC/file-FFF.mp4 holding
the same episodes back to back (AV1 via libsvtav1 by default, as LeRobot; H.264 with
codec="libx264"). planscope adds per-episode columns planscope/mode, planscope/success and
planscope/seed, which LeRobot carries along and ignores.

Nothing is half-written: everything goes to a temporary sibling folder, which is renamed to the
destination only after the last file is closed (an existing destination is refused unless
overwrite=True, and then replaced only at that final rename).
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from typing import Any, Mapping

import numpy as np

from recordings.dataset import DatasetError
from recordings.formats.video import VideoEncoder, video_info

CODEBASE_VERSION = "v3.0"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-000/file-000.parquet"
DEFAULT_FEATURES = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
_QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}


def _stats(values: np.ndarray, image: bool) -> dict[str, np.ndarray]:
    """LeRobot's per-feature statistics: over frames (and pixels, per channel, in [0, 1], shaped
    [3, 1, 1] for images)."""
    if image:
        v = values.astype(np.float64) / 255.0                     # [T, H, W, 3]
        axes, shape = (0, 1, 2), (3, 1, 1)
        out = {"min": v.min(axes).reshape(shape), "max": v.max(axes).reshape(shape),
               "mean": v.mean(axes).reshape(shape), "std": v.std(axes).reshape(shape)}
    else:
        v = values.astype(np.float64).reshape(len(values), -1)
        out = {"min": v.min(0), "max": v.max(0), "mean": v.mean(0), "std": v.std(0)}
        out.update({k: np.quantile(v, q, axis=0) for k, q in _QUANTILES.items()})
    out["count"] = np.array([len(values)], dtype=np.int64)
    return out


class LeRobotV3Writer:
    """features: LeRobot feature dicts {name: {"dtype", "shape", "names"}} without the default
    index columns; a camera is {"dtype": "video", "shape": [H, W, 3]}. Other features are 1-D
    numeric (shape [d], [1] for scalars). add_episode() takes {name: [T, *shape]} arrays."""

    def __init__(self, root: str, *, fps: int, features: Mapping[str, Mapping[str, Any]],
                 robot_type: str | None = None, codec: str = "libsvtav1",
                 frames_per_file: int = 1_000_000, chunks_size: int = 1000,
                 overwrite: bool = False) -> None:
        import pyarrow as pa
        self.root = os.path.abspath(root)
        if os.path.exists(self.root) and not overwrite and (
                not os.path.isdir(self.root) or os.listdir(self.root)):
            raise DatasetError(f"{self.root}: already exists; choose a new folder")
        parent = os.path.dirname(self.root) or "."
        if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
            raise DatasetError(f"{parent}: folder missing or not writable")
        self.fps, self.codec, self.robot_type = int(fps), codec, robot_type
        self.frames_per_file, self.chunks_size = int(frames_per_file), int(chunks_size)
        self.features = {k: {"dtype": v["dtype"], "shape": [int(s) for s in v["shape"]],
                             "names": v.get("names")} for k, v in features.items()}
        for k, v in self.features.items():
            if "/" in k:
                raise DatasetError(f"{self.root}: feature name {k!r} contains '/'")
            if v["dtype"] != "video" and len(v["shape"]) != 1:
                raise DatasetError(f"{self.root}: feature {k!r} of shape {v['shape']}: only 1-D "
                                   f"numeric features and video cameras are written")
        self.video_keys = [k for k, v in self.features.items() if v["dtype"] == "video"]
        self._columns = [k for k in [*self.features, *DEFAULT_FEATURES] if k not in
                         self.video_keys]
        all_ft = {**self.features, **DEFAULT_FEATURES}
        self._schema = pa.schema([(k, self._arrow_type(all_ft[k])) for k in self._columns])
        self._tmp = os.path.join(parent, f".{os.path.basename(self.root)}.tmp-{uuid.uuid4().hex[:8]}")
        os.makedirs(os.path.join(self._tmp, "meta"))
        self._tasks: dict[str, int] = {}
        self._episodes: list[dict[str, Any]] = []
        self._all: dict[str, list[np.ndarray]] = {k: [] for k in self._columns}
        self._image_stats: dict[str, list[dict]] = {k: [] for k in self.video_keys}
        self._file = (0, 0)
        self._file_frames = 0
        self._writer: Any = None
        self._encoders: dict[str, VideoEncoder] = {}
        self._total = 0
        self._closed = False

    @staticmethod
    def _arrow_type(ft: Mapping[str, Any]) -> Any:
        import pyarrow as pa
        base = pa.from_numpy_dtype(np.dtype(ft["dtype"]))
        return base if list(ft["shape"]) == [1] else pa.list_(base, int(ft["shape"][0]))

    # ----- writing -----
    def __enter__(self) -> "LeRobotV3Writer":
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _next_file(self) -> None:
        self._close_file()
        c, f = self._file
        self._file = (c + 1, 0) if f == self.chunks_size - 1 else (c, f + 1)
        self._file_frames = 0

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for enc in self._encoders.values():
            enc.close()
        self._encoders.clear()

    def add_episode(self, frames: Mapping[str, np.ndarray], task: str, *, mode: str = "",
                    success: bool | None = None, seed: int = -1) -> None:
        """Append one episode: frames {feature: [T, *shape]} for every feature given at init."""
        import pyarrow as pa
        import pyarrow.parquet as pq
        missing = [k for k in self.features if k not in frames]
        if missing:
            raise DatasetError(f"{self.root}: episode lacks feature(s) {', '.join(missing)}")
        lengths = {k: len(frames[k]) for k in self.features}
        T = next(iter(lengths.values()), 0)
        if T == 0 or any(n != T for n in lengths.values()):
            raise DatasetError(f"{self.root}: episode features have lengths {lengths}")
        if self._file_frames and self._file_frames + T > self.frames_per_file:
            self._next_file()
        e = len(self._episodes)
        task_index = self._tasks.setdefault(task, len(self._tasks))
        cols: dict[str, np.ndarray] = {
            "timestamp": (np.arange(T) / self.fps).astype(np.float32),
            "frame_index": np.arange(T, dtype=np.int64),
            "episode_index": np.full(T, e, np.int64),
            "index": np.arange(self._total, self._total + T, dtype=np.int64),
            "task_index": np.full(T, task_index, np.int64)}
        for k, ft in self.features.items():
            if k in self.video_keys:
                continue
            a = np.asarray(frames[k], dtype=ft["dtype"]).reshape(T, *ft["shape"])
            cols[k] = a[:, 0] if ft["shape"] == [1] else a
        arrays = []
        for k in self._columns:
            a = cols[k]
            if a.ndim == 2:
                arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(a.reshape(-1)), a.shape[1]))
            else:
                arrays.append(pa.array(a))
            self._all[k].append(a)
        path = os.path.join(self._tmp, DATA_PATH.format(chunk_index=self._file[0],
                                                        file_index=self._file[1]))
        if self._writer is None:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self._writer = pq.ParquetWriter(path, self._schema, compression="snappy")
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        row: dict[str, Any] = {"episode_index": e, "tasks": [task], "length": T,
                               "data/chunk_index": self._file[0], "data/file_index": self._file[1],
                               "dataset_from_index": self._total,
                               "dataset_to_index": self._total + T}
        for k in self.video_keys:
            row.update(self._write_video(k, np.asarray(frames[k], dtype=np.uint8)))
        stats = {k: _stats(cols[k], False) for k in self._columns}
        for k in self.video_keys:
            stats[k] = _stats(np.asarray(frames[k]), True)
            self._image_stats[k].append(stats[k])
        for k, st in stats.items():
            for name, value in st.items():
                row[f"stats/{k}/{name}"] = value.tolist()
        row.update({"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0,
                    "planscope/mode": str(mode), "planscope/seed": int(seed),
                    "planscope/success": None if success is None else bool(success)})
        self._episodes.append(row)
        self._file_frames += T
        self._total += T

    def _write_video(self, key: str, frames: np.ndarray) -> dict[str, Any]:
        h, w = self.features[key]["shape"][:2]
        enc = self._encoders.get(key)
        if enc is None:
            path = os.path.join(self._tmp, VIDEO_PATH.format(
                video_key=key, chunk_index=self._file[0], file_index=self._file[1]))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            enc = self._encoders[key] = VideoEncoder(path, self.fps, w, h, codec=self.codec)
        start = enc.frames_written / self.fps
        enc.write(frames)
        return {f"videos/{key}/chunk_index": self._file[0],
                f"videos/{key}/file_index": self._file[1],
                f"videos/{key}/from_timestamp": start,
                f"videos/{key}/to_timestamp": start + len(frames) / self.fps}

    # ----- finishing -----
    def abort(self) -> None:
        """Drop everything written so far (the destination is untouched)."""
        for enc in self._encoders.values():
            enc.abort()
        self._encoders.clear()
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - the folder is removed next
                pass
            self._writer = None
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._closed = True

    def close(self) -> None:
        """Write the metadata and move the finished folder into place."""
        if self._closed:
            return
        try:
            if not self._episodes:
                raise DatasetError(f"{self.root}: no episodes to write")
            self._close_file()
            self._write_meta()
            if os.path.exists(self.root):
                old = self._tmp + ".old"
                os.rename(self.root, old)
                os.rename(self._tmp, self.root)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(self._tmp, self.root)
            self._closed = True
        except BaseException:
            self.abort()
            raise

    def _write_meta(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq
        meta = os.path.join(self._tmp, "meta")
        episodes = pa.Table.from_pylist(self._episodes)
        col = episodes.schema.get_field_index("planscope/success")
        if episodes.schema.field(col).type == pa.null():     # success unknown everywhere
            episodes = episodes.set_column(col, "planscope/success",
                                           pa.nulls(len(episodes), pa.bool_()))
        os.makedirs(os.path.join(meta, "episodes", "chunk-000"))
        pq.write_table(episodes, os.path.join(self._tmp, EPISODES_PATH), compression="snappy")
        tasks = sorted(self._tasks.items(), key=lambda kv: kv[1])
        table = pa.table({"task_index": pa.array([i for _, i in tasks], pa.int64()),
                          "__index_level_0__": pa.array([t for t, _ in tasks], pa.string())})
        pandas_meta = {"index_columns": ["__index_level_0__"], "column_indexes": [
            {"name": None, "field_name": None, "pandas_type": "unicode", "numpy_type": "object",
             "metadata": {"encoding": "UTF-8"}}], "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
             "numpy_type": "int64", "metadata": None},
            {"name": None, "field_name": "__index_level_0__", "pandas_type": "unicode",
             "numpy_type": "object", "metadata": None}],
            "creator": {"library": "pyarrow", "version": pa.__version__},
            "pandas_version": "2.2.3"}
        table = table.replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode()})
        pq.write_table(table, os.path.join(meta, "tasks.parquet"))
        stats = {k: _stats(np.concatenate(v), False) for k, v in self._all.items()}
        for k, parts in self._image_stats.items():
            counts = np.array([p["count"][0] for p in parts], np.float64)
            means = np.stack([p["mean"] for p in parts])
            mean = np.tensordot(counts, means, 1) / counts.sum()
            var = np.tensordot(counts, np.stack([p["std"] ** 2 for p in parts]) +
                               (means - mean) ** 2, 1) / counts.sum()
            stats[k] = {"min": np.min([p["min"] for p in parts], 0),
                        "max": np.max([p["max"] for p in parts], 0), "mean": mean,
                        "std": np.sqrt(var), "count": np.array([int(counts.sum())])}
        with open(os.path.join(meta, "stats.json"), "w", encoding="utf-8") as fh:
            json.dump({k: {n: v.tolist() for n, v in s.items()} for k, s in stats.items()},
                      fh, indent=4)
        features = {}
        for k, ft in self.features.items():
            features[k] = dict(ft)
            if k in self.video_keys:
                features[k]["names"] = ["height", "width", "channels"]
                features[k]["info"] = video_info(os.path.join(self._tmp, VIDEO_PATH.format(
                    video_key=k, chunk_index=0, file_index=0)))
        features.update(DEFAULT_FEATURES)
        n = len(self._episodes)
        info = {"codebase_version": CODEBASE_VERSION, "robot_type": self.robot_type,
                "total_episodes": n, "total_frames": self._total, "total_tasks": len(tasks),
                "chunks_size": self.chunks_size, "data_files_size_in_mb": 100,
                "video_files_size_in_mb": 200, "fps": self.fps, "splits": {"train": f"0:{n}"},
                "data_path": DATA_PATH, "video_path": VIDEO_PATH if self.video_keys else None,
                "features": features}
        with open(os.path.join(meta, "info.json"), "w", encoding="utf-8") as fh:
            json.dump(info, fh, indent=4)


__all__ = ["LeRobotV3Writer", "CODEBASE_VERSION"]
