"""One interface over every data set planscope reads: LeRobotDataset v3 folders, diffusion_policy
zarr replay buffers, and planscope/robomimic HDF5 files.

    ds = open_dataset(path)                 # reads metadata only, never frames
    ds.episodes                             # [Episode(index, length, task, success, mode, start)]
    ds.features                             # name -> Feature(dtype, shape, kind, names, video)
    ds.frame(e, t)                          # one frame: {name: array of Feature.shape}
    ds.episode_slice(e, a, b, keys)         # {name: [b-a, *shape]}
    ds.window(e, t, {"observation.state": [-1, 0], "action": range(16)})
        # {name: [len(deltas), *shape], name + "_is_pad": [len(deltas)] bool}

Windows follow LeRobot's `delta_timestamps` semantics exactly: frame t + d is clamped to the
episode ([0, length-1]) and marked padded when it falls outside, so a 2-step observation history
at frame 0 repeats frame 0 with is_pad [True, False], and the demonstrated action chunk near the
end repeats the last action with is_pad True there. (diffusion_policy's SequenceSampler pads by
repeating the edge frame too: the values agree, DP just has no is_pad.)

Images come back as stored: LeRobot video/image features as [H, W, 3] uint8 (LeRobot's own
__getitem__ gives [3, H, W] float in [0, 1], the same pixels / 255); zarr arrays in their stored
dtype. Features of shape (1,) stored as scalar columns (LeRobot's timestamp, next.reward, ...)
come back without the trailing axis, as LeRobot returns them.

Every problem a user can cause raises DatasetError (a UserFacingError) with one line naming the
file and what is wrong.
"""
from __future__ import annotations

import abc
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping, Sequence

import numpy as np

from recordings.errors import UserFacingError

FeatureKind = Literal["state", "environment", "image", "action", "reward", "done", "index",
                      "other"]


class DatasetError(UserFacingError):
    """A data set cannot be read or written: unknown layout or version, missing or corrupt files,
    truncated videos, features a policy needs that the data lacks."""


@dataclass(frozen=True)
class Feature:
    """One named per-frame array. dtype: numpy dtype name of the values returned ("uint8" for
    video frames); shape: one frame's shape (e.g. (9,) state, (96, 96, 3) camera); kind: what it
    is (state | environment | image | action | reward | done | index | other); names: per-dimension
    names when the data gives them; video: decoded from mp4 segments on demand."""
    name: str
    dtype: str
    shape: tuple[int, ...]
    kind: FeatureKind
    names: tuple[str, ...] | None = None
    video: bool = False

    def describe(self) -> str:
        dims = "x".join(str(s) for s in self.shape) or "scalar"
        where = ", video" if self.video else ""
        return f"{self.name}: {self.kind} {self.dtype}[{dims}]{where}"


@dataclass(frozen=True)
class Episode:
    """Listing row. index: position (0-based, = the format's episode id); length: frames;
    task: text ("" when the data has none); success: None when the data does not say; mode:
    planscope's mode label ("" when unknown); start: global index of the episode's frame 0;
    extra: any other per-episode values the file carries (text or numbers)."""
    index: int
    length: int
    task: str = ""
    success: bool | None = None
    mode: str = ""
    start: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def feature_kind(name: str, dtype: str, shape: Sequence[int]) -> FeatureKind:
    """Kind of a feature from its name (LeRobot, diffusion_policy and planscope conventions)."""
    low = name.lower()
    pixels = len(shape) == 3 and shape[-1] in (1, 3, 4)
    if dtype in ("video", "image") or (pixels and ("image" in low or "img" in low
                                                   or "rgb" in low or "camera" in low)):
        return "image"
    if low in ("action", "actions") or low.startswith("action."):
        return "action"
    if low in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        return "index"
    if low in ("next.reward", "reward", "rewards"):
        return "reward"
    if low in ("next.done", "done", "dones", "next.success"):
        return "done"
    if "environment_state" in low:
        return "environment"
    if low.startswith("observation.") or low == "state" or low.startswith("robot") or \
            low.startswith(("ee_", "eef_", "gripper", "joint", "qpos", "qvel", "agent_pos")):
        return "state"
    if pixels:
        return "image"
    return "environment"


AXES = ("x", "y", "z", "w")
# LeRobot's motor-bus robots name a scalar joint "<motor>.pos" (so100: "gripper.pos").
SCALAR_SUFFIXES = ("pos",)


def dimension_names(key: str, size: int) -> list[list[str]]:
    """Every spelling of a flat key's per-dimension names that maps onto it, in the order tried:
    planscope's own ("<key>.0".."<key>.<n-1>", "<key>" for a scalar: what `planscope export`
    writes), then LeRobot's recorders' axis names ("<key>.x", ".y", ".z", ".w" for up to four
    dimensions; info.json features[...]["names"]) and, for a scalar, "<key>.0" and
    "<key>.pos" (a motor position)."""
    if size == 1:
        return [[key], [f"{key}.0"], [f"{key}.x"], *[[f"{key}.{s}"] for s in SCALAR_SUFFIXES]]
    out = [[f"{key}.{i}" for i in range(size)]]
    if size <= len(AXES):
        out.append([f"{key}.{a}" for a in AXES[:size]])
    return out


def _dims_of(key: str, names: Sequence[str]) -> list[str]:
    """The names in a feature's list that belong to key ("key" itself or "key.<anything>")."""
    return [n for n in names if n == key or n.startswith(f"{key}.")]


def _spelling(key: str, names: list[str]) -> str:
    """["ee_pos.x", "ee_pos.y", "ee_pos.z"] -> "ee_pos.x/y/z"; 18 numbered -> "k.0..17"."""
    if len(names) == 1:
        return names[0]
    tails = [n[len(key) + 1:] for n in names]
    return f"{key}.{tails[0]}..{tails[-1]}" if len(names) > 4 else f"{key}.{'/'.join(tails)}"


class Dataset(abc.ABC):
    """A data set of episodes of frames. Subclasses implement `_read` (and may override
    `_read_rows` for formats that decode selected frames)."""

    path: str
    format_name: str = ""
    fps: float | None = None
    features: dict[str, Feature]
    action_key: str | None = None

    # ----- what a subclass provides -----
    @property
    @abc.abstractmethod
    def episodes(self) -> list[Episode]:
        """Every episode, from metadata only (no frame is read)."""

    @abc.abstractmethod
    def _read(self, episode: int, start: int, stop: int, keys: Sequence[str]
              ) -> dict[str, np.ndarray]:
        """Frames start..stop-1 of one episode (0 <= start < stop <= length): {key: [n, ...]}."""

    def _read_rows(self, episode: int, rows: np.ndarray, keys: Sequence[str]
                   ) -> dict[str, np.ndarray]:
        """Frames at the given (sorted, in-range, possibly repeated) rows: {key: [len(rows), ...]}.
        Default: one contiguous read of min..max, then a gather."""
        lo, hi = int(rows.min()), int(rows.max()) + 1
        block = self._read(episode, lo, hi, keys)
        return {k: v[rows - lo] for k, v in block.items()}

    def close(self) -> None:
        """Release open files (readers reopen lazily if used again)."""

    # ----- shared behaviour -----
    def __enter__(self) -> "Dataset":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.episodes)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.path}: {len(self)} episodes, "
                f"{self.num_frames} frames, {len(self.features)} features>")

    @property
    def num_frames(self) -> int:
        return int(sum(e.length for e in self.episodes))

    def describe_features(self) -> list[str]:
        """One line per feature (for `planscope` listings and error messages)."""
        return [f.describe() for f in self.features.values()]

    def keys_of_kind(self, *kinds: str) -> list[str]:
        return [n for n, f in self.features.items() if f.kind in kinds]

    def require(self, keys: Iterable[str], who: str = "the policy") -> None:
        """Raise DatasetError naming both sides when some keys are not features of the data."""
        missing = [k for k in keys if k not in self.features]
        if missing:
            have = ", ".join(n for n, f in self.features.items() if f.kind != "index")
            raise DatasetError(f"{self.path}: {who} needs {', '.join(missing)} but the data set "
                               f"has only {have}")

    def _episode(self, episode: int) -> Episode:
        eps = self.episodes
        if not -len(eps) <= episode < len(eps):
            raise IndexError(f"episode {episode} out of range ({len(eps)} episodes in "
                             f"{self.path})")
        return eps[episode % len(eps)]

    def _keys(self, keys: Iterable[str] | None) -> list[str]:
        if keys is None:
            return list(self.features)
        keys = list(keys)
        self.require(keys, "the request")
        return keys

    def episode_slice(self, episode: int, start: int = 0, stop: int | None = None,
                      keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Frames start..stop-1 of an episode (Python slice bounds, clipped): {key: [n, ...]}."""
        ep = self._episode(episode)
        a, b, _ = slice(start, stop).indices(ep.length)
        keys = self._keys(keys)
        if b <= a:
            return {k: np.zeros((0, *self.features[k].shape), self.features[k].dtype)
                    for k in keys}
        return self._read(ep.index, a, b, keys)

    def frame(self, episode: int, t: int, keys: Iterable[str] | None = None
              ) -> dict[str, np.ndarray]:
        """One frame: {key: array of the feature's shape}."""
        ep = self._episode(episode)
        if not -ep.length <= t < ep.length:
            raise IndexError(f"frame {t} out of range (episode {ep.index} has {ep.length} "
                             f"frames in {self.path})")
        t %= ep.length
        return {k: v[0] for k, v in self._read(ep.index, t, t + 1, self._keys(keys)).items()}

    def window(self, episode: int, t: int, deltas: Mapping[str, Sequence[int]]
               ) -> dict[str, np.ndarray]:
        """Frames t + d for each key's deltas (in frames), clamped to the episode as LeRobot
        does: {key: [len(d), ...], key + "_is_pad": [len(d)] bool (True = outside the episode,
        value repeated from the nearest edge frame)}."""
        ep = self._episode(episode)
        if not 0 <= t < ep.length:
            raise IndexError(f"frame {t} out of range (episode {ep.index} has {ep.length} "
                             f"frames in {self.path})")
        self.require(deltas, "the request")
        out: dict[str, np.ndarray] = {}
        by_rows: dict[tuple[int, ...], list[str]] = {}
        for key, d in deltas.items():
            raw = t + np.asarray(list(d), dtype=np.int64)
            out[f"{key}_is_pad"] = (raw < 0) | (raw >= ep.length)
            by_rows.setdefault(tuple(np.clip(raw, 0, ep.length - 1)), []).append(key)
        for rows, keys in by_rows.items():      # keys with the same deltas share one read
            out.update(self._read_rows(ep.index, np.asarray(rows, dtype=np.int64), keys))
        return out

    def history(self, episode: int, t: int, keys: Iterable[str], n_obs_steps: int
                ) -> dict[str, np.ndarray]:
        """The observation history ending at frame t: deltas -(To-1)..0 for each key."""
        d = list(range(1 - n_obs_steps, 1))
        return self.window(episode, t, {k: d for k in keys})

    # ----- a policy's flat observation vector, found under the data set's names -----
    def resolve(self, obs_spec: Sequence[tuple[str, int]], who: str = "the policy"
                ) -> list[tuple[str, slice]]:
        """Where each (key, size) of a flat-observation spec lives: (feature, slice of that
        feature's flattened values). A key is a feature of its own, or a run of per-dimension
        names inside another feature, under any of the spellings `dimension_names` lists
        (planscope's export writes ee_pos.0..2, LeRobot's own recorders ee_pos.x/y/z).
        DatasetError naming both sides otherwise."""
        out = []
        for key, size in obs_spec:
            f = self.features.get(key)
            if f is not None and f.kind != "image":
                if int(np.prod(f.shape)) != size:
                    raise DatasetError(f"{self.path}: {who} needs {key} of size {size}, the data "
                                       f"set's {key} has shape {f.shape}")
                out.append((key, slice(None)))
                continue
            found = self._find_named_run(key, size)
            if found is None:
                raise DatasetError(self._unmapped(key, size, who))
            out.append(found)
        return out

    def _find_named_run(self, key: str, size: int) -> tuple[str, slice] | None:
        """(feature, slice) of the first feature whose names hold one spelling of key's
        dimensions as a contiguous run, or None. The run must be all of the key's dimensions
        there: ee_pos [2] does not silently take the first two of ee_pos.x/y/z."""
        for want in dimension_names(key, size):
            for name, ft in self.features.items():
                names = list(ft.names or ())
                for i in range(len(names) - size + 1):
                    if names[i:i + size] == want:
                        if len(_dims_of(key, names)) != size:
                            break
                        return name, slice(i, i + size)
        return None

    def _unmapped(self, key: str, size: int, who: str) -> str:
        """One line naming the policy's key, the spellings looked for and what the data set has
        (a run of the key's dimensions of another length is called out: a real mismatch)."""
        spellings = " or ".join(_spelling(key, w) for w in dimension_names(key, size))
        have = "; ".join(f"{n} ({', '.join(f.names) if f.names else 'unnamed'})"
                         for n, f in self.features.items() if f.kind in ("state", "environment"))
        partial = [(n, _dims_of(key, f.names or ())) for n, f in self.features.items()
                   if f.kind != "image"]
        partial = [(n, ds) for n, ds in partial if ds]
        why = "".join(f"; {n} names {len(ds)} dimension{'s' * (len(ds) != 1)} of {key} "
                      f"({', '.join(ds)}), not {size}" for n, ds in partial)
        return (f"{self.path}: {who} needs {key} (size {size}) but the data set has no such "
                f"feature or named dimensions; it has {have} (looked for {spellings}){why}")

    def flat_history(self, episode: int, t: int, obs_spec: Sequence[tuple[str, int]],
                     n_obs_steps: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The policy's flat observation history at frame t: ([To, sum of sizes] float32 in
        spec order, is_pad [To]) — LeRobot's clamping at the episode start."""
        where = self.resolve(obs_spec)
        feats = list(dict.fromkeys(f for f, _ in where))
        h = self.history(episode, t, feats, n_obs_steps)
        parts = [h[f].reshape(n_obs_steps, -1)[:, sl] for f, sl in where]
        return np.concatenate(parts, axis=1).astype(np.float32), h[f"{feats[0]}_is_pad"]

    def flat_column(self, obs_spec: Sequence[tuple[str, int]]) -> np.ndarray:
        """[num_frames, sum of sizes] float32: the spec's values at every frame."""
        where = self.resolve(obs_spec)
        cols = {f: self.column(f).reshape(self.num_frames, -1) for f in dict.fromkeys(
            f for f, _ in where)}
        return np.concatenate([cols[f][:, sl] for f, sl in where], axis=1).astype(np.float32)

    def column(self, key: str) -> np.ndarray:
        """[num_frames, *shape] values of one non-image feature over the whole data set, in
        episode order (for indexes over all frames, e.g. nearest neighbours)."""
        self.require([key], "the request")
        if self.features[key].kind == "image":
            raise DatasetError(f"{self.path}: {key} is an image; read it frame by frame")
        parts = [self._read(e.index, 0, e.length, [key])[key] for e in self.episodes
                 if e.length]
        if not parts:
            return np.zeros((0, *self.features[key].shape), self.features[key].dtype)
        return np.concatenate(parts)


def open_dataset(path: str | os.PathLike) -> Dataset:
    """Open any data set planscope reads, by its layout: a folder with meta/info.json is a
    LeRobotDataset; a zarr group (zarr.json or .zgroup) a diffusion_policy replay buffer; an
    HDF5 file a planscope/robomimic recording."""
    p = os.path.abspath(os.fspath(path))
    if not os.path.exists(p):
        raise DatasetError(f"{p}: no such file or folder")
    if os.path.isdir(p):
        if os.path.isfile(os.path.join(p, "meta", "info.json")):
            from recordings.formats.lerobot_v3 import LeRobotV3Dataset
            return LeRobotV3Dataset(p)
        if any(os.path.isfile(os.path.join(p, n)) for n in ("zarr.json", ".zgroup")):
            from recordings.formats.zarr_buffer import ZarrReplayBuffer
            return ZarrReplayBuffer(p)
        if os.path.isdir(os.path.join(p, "meta")) or os.path.isdir(os.path.join(p, "data")):
            raise DatasetError(f"{p}: has meta/ or data/ but neither meta/info.json (LeRobot) "
                               f"nor a zarr group marker (zarr.json / .zgroup)")
        raise DatasetError(f"{p}: not a data set planscope reads (expected a LeRobotDataset v3 "
                           f"folder, a diffusion_policy zarr buffer, or an HDF5 file)")
    if p.endswith(".zip"):
        raise DatasetError(f"{p}: zipped zarr stores are not read; unzip it to a folder first")
    from recordings.formats.hdf5 import HDF5Dataset
    return HDF5Dataset(p)


__all__ = ["Dataset", "DatasetError", "Episode", "Feature", "FeatureKind", "dimension_names",
           "feature_kind", "open_dataset"]
