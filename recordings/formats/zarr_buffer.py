"""Read a diffusion_policy replay buffer (zarr group: data/<key> arrays [N, ...] + meta/episode_ends
[E] int64, the cumulative end index of each episode) lazily, zarr format v2 or v3 stores.

Layout (diffusion_policy/common/replay_buffer.py, ReplayBuffer): every array under data/ has the
total step count N = episode_ends[-1] as its first dimension and is chunked along time only;
episode e is rows episode_ends[e-1]..episode_ends[e]-1. There is no fps, task or success: those
stay unknown. A read of frames a..b reads only the chunks that hold them. zarr (>= 3, which opens
both v2 and v3 stores; DP itself writes v2 with zarr 2.x) is imported lazily.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from recordings.dataset import Dataset, DatasetError, Episode, Feature, feature_kind


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ZarrReplayBuffer(Dataset):
    """A diffusion_policy zarr replay buffer (a folder store)."""

    format_name = "diffusion_policy-zarr"

    def __init__(self, path: str, *, fps: float | None = None) -> None:
        import zarr
        self.path = os.path.abspath(path)
        self.fps = fps
        try:
            self._root = zarr.open_group(self.path, mode="r")
        except Exception as exc:  # noqa: BLE001 - zarr raises many types for a bad store
            raise DatasetError(f"{self.path}: not a readable zarr group "
                               f"({_first_line(exc)})") from None
        self.zarr_format = int(getattr(self._root.metadata, "zarr_format", 2))
        try:
            meta, data = self._root["meta"], self._root["data"]
        except KeyError:
            raise DatasetError(f"{self.path}: not a diffusion_policy replay buffer (needs groups "
                               f"data/ and meta/)") from None
        try:
            ends = np.asarray(meta["episode_ends"][...], dtype=np.int64).reshape(-1)
        except KeyError:
            raise DatasetError(f"{self.path}: no meta/episode_ends; not a diffusion_policy "
                               f"replay buffer") from None
        except Exception as exc:  # noqa: BLE001
            raise DatasetError(f"{self.path}: meta/episode_ends unreadable "
                               f"({_first_line(exc)})") from None
        if len(ends) and ends[0] < 0:
            raise DatasetError(f"{self.path}: meta/episode_ends starts at {int(ends[0])}; episode "
                               f"ends are cumulative step counts (>= 0)")
        drops = np.flatnonzero(np.diff(ends) < 0)
        if drops.size:
            e = int(drops[0]) + 1
            raise DatasetError(f"{self.path}: meta/episode_ends decreases at episode {e} "
                               f"({int(ends[e - 1])} then {int(ends[e])}); episode ends are "
                               f"cumulative step counts and never decrease")
        total = int(ends[-1]) if len(ends) else 0
        self._arrays: dict[str, Any] = {}
        self.features = {}
        for name, arr in sorted(data.arrays()):
            if arr.ndim == 0 or arr.shape[0] != total:
                raise DatasetError(f"{self.path}: data/{name} has {arr.shape[0] if arr.ndim else 0}"
                                   f" steps but meta/episode_ends ends at {total}")
            shape = tuple(int(s) for s in arr.shape[1:])
            dtype = str(np.dtype(arr.dtype))
            self._arrays[name] = arr
            self.features[name] = Feature(name, dtype, shape, feature_kind(name, dtype, shape))
        if not self.features:
            raise DatasetError(f"{self.path}: data/ holds no arrays")
        self.action_key = next((k for k in ("action", "actions") if k in self.features), None)
        starts = np.concatenate([[0], ends[:-1]]) if len(ends) else ends
        self._starts = starts
        self._episodes = [Episode(index=i, length=int(e - s), start=int(s))
                          for i, (s, e) in enumerate(zip(starts, ends))]

    @property
    def episodes(self) -> list[Episode]:
        return self._episodes

    def _read(self, episode: int, start: int, stop: int, keys: Sequence[str]
              ) -> dict[str, np.ndarray]:
        s = int(self._starts[episode])
        out = {}
        for k in keys:
            try:
                out[k] = np.asarray(self._arrays[k][s + start:s + stop])
            except Exception as exc:  # noqa: BLE001 - a missing/corrupt chunk file
                raise DatasetError(f"{self.path}: data/{k} rows {s + start}..{s + stop} "
                                   f"unreadable ({_first_line(exc)})") from None
        return out

    def column(self, key: str) -> np.ndarray:
        self.require([key], "the request")
        return np.asarray(self._arrays[key][...])


__all__ = ["ZarrReplayBuffer"]
