"""planscope recordings and plain robomimic HDF5 files behind the Dataset interface.

A thin wrapper over recordings.reader.RecordingReader (which stays the one HDF5 reader):
episodes are the demos (data/demo_<i>), listed from the summary table (planscope) or demo
attributes (robomimic) without reading a trace; features are obs/<key> (kind from the key name:
ee_pos / gripper / joint... are robot state, other low-dimensional keys environment state,
[H, W, C] arrays images), "actions", "rewards" and "dones", with shapes and dtypes read from the
first demo's dataset headers.
"""
from __future__ import annotations

import os
from typing import Sequence

import h5py
import numpy as np

from recordings.dataset import Dataset, DatasetError, Episode, Feature, feature_kind
from recordings.errors import RecordingError
from recordings.reader import RecordingReader

_TRACES = {"actions": "action", "rewards": "reward", "dones": "done"}


class HDF5Dataset(Dataset):
    """Demos of a planscope recording or a robomimic file as episodes."""

    format_name = "hdf5"

    def __init__(self, path: str, *, fps: float | None = None) -> None:
        self.path = os.path.abspath(path)
        try:
            self.reader = RecordingReader(self.path)
        except RecordingError as exc:
            raise DatasetError(str(exc)) from None
        env = self.reader.env_args or {}
        self.fps = fps if fps is not None else env.get("control_hz")
        self.scene = str(env.get("env_name", ""))
        self.format_name = "planscope" if self.reader.is_planscope else "robomimic"
        self.features = self._features()
        self.action_key = "actions" if "actions" in self.features else None
        self._episodes = self._list()

    def _features(self) -> dict[str, Feature]:
        if not len(self.reader):
            raise DatasetError(f"{self.path}: no demos (data/demo_<i>) in the file")
        try:
            demo = self.reader.h5["data"][self.reader.demo_names[0]]
            out: dict[str, Feature] = {}
            obs = demo.get("obs")
            for key in (obs.keys() if isinstance(obs, h5py.Group) else []):
                ds = obs[key]
                shape, dtype = tuple(int(s) for s in ds.shape[1:]), str(ds.dtype)
                out[key] = Feature(key, dtype, shape, feature_kind(key, dtype, shape))
            for name, kind in _TRACES.items():
                if name in demo:
                    ds = demo[name]
                    out[name] = Feature(name, str(ds.dtype), tuple(int(s) for s in ds.shape[1:]),
                                        kind)  # type: ignore[arg-type]
        except (OSError, KeyError, ValueError) as exc:
            raise DatasetError(f"{self.path}: cannot read the first demo's layout ({exc})") from None
        return out

    def _list(self) -> list[Episode]:
        try:
            s = self.reader.summary
        except RecordingError as exc:
            raise DatasetError(str(exc)) from None
        known = self.reader.is_planscope
        eps, start = [], 0
        for i in range(len(self.reader)):
            n = int(s["num_steps"][i])
            eps.append(Episode(index=i, length=n, task=self.scene,
                               success=bool(s["success"][i]) if known else None,
                               mode=str(s["mode"][i]), start=start,
                               extra={"seed": int(s["seed"][i]), "policy": str(s["policy"][i]),
                                      "failure_label": str(s["failure_label"][i])}))
            start += n
        return eps

    @property
    def episodes(self) -> list[Episode]:
        return self._episodes

    def close(self) -> None:
        self.reader.close()

    def _read(self, episode: int, start: int, stop: int, keys: Sequence[str]
              ) -> dict[str, np.ndarray]:
        view = self.reader.rollout(episode)
        sl = slice(start, stop)
        out = {}
        try:
            for k in keys:
                if k == "actions":
                    out[k] = view.actions(sl)
                elif k == "rewards":
                    out[k] = view.rewards(sl)
                elif k == "dones":
                    out[k] = view.dones(sl)
                else:
                    out[k] = view.obs(k, sl)
        except RecordingError as exc:
            raise DatasetError(str(exc)) from None
        return out


__all__ = ["HDF5Dataset"]
