"""Broken inputs for tests/test_malformed_inputs.py, each made from a good one by one change.

`build(root)` writes every file and folder under root and returns a dict name -> path (str).
The plugin planners live in the module `malformed_plugins` (registered by `register_plugins`).
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import sys
import types
from pathlib import Path

import h5py
import numpy as np

from planners.protocol import PlannerSpec
from recordings.plan_batch import PlanBatch
from recordings.writer import RecordingWriter
from tests.recordings.helpers import ENV_ARGS, make_rollout

ROOT = Path(__file__).resolve().parents[2]
REGRESSION = ROOT / "resources" / "checkpoints" / "mug_grasp_regression"
MUG_KEYS = (("ee_pos", 3), ("gripper", 1), ("mug_pos", 3), ("mug_yaw", 2))


def _recording(path: Path) -> str:
    with RecordingWriter(path, env_args=ENV_ARGS) as w:
        for i in range(2):
            w.write_rollout(make_rollout(i, steps=12))
    return str(path)


def _replace(path: str, name: str, value) -> str:
    with h5py.File(path, "r+") as f:
        group = f["data/demo_1"]
        del group[name]
        group[name] = value
    return path


def _copy(src: str, dst: Path) -> str:
    shutil.copyfile(src, dst)
    return str(dst)


def _checkpoint(root: Path, name: str, change) -> str:
    folder = root / name
    shutil.copytree(REGRESSION, folder)
    change(folder)
    return str(folder)


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


class _Payload:
    """Unpickling this would run a shell command; planscope must refuse, never run it."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def build(root: Path) -> dict[str, str]:
    m: dict[str, str] = {}
    good = _recording(root / "good.h5")
    m["good"] = good
    m["empty"] = str(root / "empty.h5")
    Path(m["empty"]).write_bytes(b"")
    m["text"] = str(root / "text.h5")
    Path(m["text"]).write_text("time,x\n0,1\n" * 200)
    data = Path(good).read_bytes()
    m["truncated"] = str(root / "truncated.h5")
    Path(m["truncated"]).write_bytes(data[: len(data) // 2])
    m["future"] = _copy(good, root / "future.h5")
    with h5py.File(m["future"], "r+") as f:
        f.attrs["schema_version"] = 99
    m["foreign"] = _copy(good, root / "foreign.h5")
    with h5py.File(m["foreign"], "r+") as f:
        f.attrs["format"] = "someone-elses-format"
    with h5py.File(root / "nodata.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    m["nodata"] = str(root / "nodata.h5")
    m["actions_rank1"] = _replace(_copy(good, root / "a1.h5"), "actions", np.zeros(12, np.float32))
    m["actions_rank3"] = _replace(_copy(good, root / "a3.h5"), "actions", np.zeros((12, 4, 1), np.float32))
    m["actions_text"] = _replace(_copy(good, root / "at.h5"), "actions",
                                 np.array([[b"a"] * 4] * 12, dtype="S3"))
    m["obs_length"] = _replace(_copy(good, root / "ol.h5"), "obs/ee_pos", np.zeros((13, 3)))
    m["states_length"] = _replace(_copy(good, root / "sl.h5"), "states", np.zeros((11, 7)))
    m["folder"] = str(root / "a_folder")
    os.makedirs(m["folder"])

    # checkpoints: the shipped regression policy with one thing broken
    m["ckpt_good"] = str(REGRESSION)
    m["ckpt_no_config"] = _checkpoint(root, "no_config", lambda f: (f / "config.json").unlink())
    m["ckpt_bad_json"] = _checkpoint(root, "bad_json", lambda f: (f / "config.json").write_text("{oops"))
    m["ckpt_format"] = _checkpoint(root, "format", lambda f: _edit_json(f / "config.json", format="other"))
    m["ckpt_version"] = _checkpoint(root, "version", lambda f: _edit_json(f / "config.json", format_version=9))
    m["ckpt_kind"] = _checkpoint(root, "kind", lambda f: _edit_json(f / "config.json", kind="transformer"))
    m["ckpt_no_weights"] = _checkpoint(root, "no_weights", lambda f: (f / "model.safetensors").unlink())
    m["ckpt_trunc_weights"] = _checkpoint(root, "trunc_weights", lambda f: (f / "model.safetensors").write_bytes(
        (REGRESSION / "model.safetensors").read_bytes()[:1000]))
    m["ckpt_bad_normalizer"] = _checkpoint(root, "bad_norm", lambda f: (f / "normalizer.json").write_text("[]"))
    m["ckpt_wrong_shape"] = _checkpoint(root, "wrong_shape", lambda f: _edit_json(
        f / "config.json", model={**json.loads((REGRESSION / "config.json").read_text())["model"],
                                  "hidden": [128, 128]}))
    m["ckpt_file"] = str(root / "weights.safetensors")
    shutil.copyfile(REGRESSION / "model.safetensors", m["ckpt_file"])
    m["pickle_marker"] = str(root / "PAYLOAD_RAN")
    m["ckpt_pickle"] = str(root / "evil.ckpt")
    Path(m["ckpt_pickle"]).write_bytes(pickle.dumps({"state_dicts": _Payload(m["pickle_marker"])}))

    # data sets (LeRobot v3 folders): a copy of the committed export with one thing broken
    lerobot = ROOT / "tests" / "recordings" / "formats" / "data" / "planscope_export" / "lerobot"
    def dataset(name, change):
        folder = root / name
        shutil.copytree(lerobot, folder)
        change(folder)
        return str(folder)
    m["ds_no_info"] = dataset("ds_no_info", lambda f: (f / "meta" / "info.json").unlink())
    m["ds_bad_info"] = dataset("ds_bad_info", lambda f: (f / "meta" / "info.json").write_text("{"))
    m["ds_version"] = dataset("ds_version", lambda f: _edit_json(f / "meta" / "info.json", codebase_version="v9.0"))
    m["ds_no_data"] = dataset("ds_no_data", lambda f: shutil.rmtree(f / "data"))
    m["ds_bad_parquet"] = dataset("ds_bad_parquet", _break_parquet)
    m["ds_good"] = dataset("ds_good", lambda f: None)
    m["ds_v21"] = dataset("ds_v21", _to_v21_layout)
    m["ds_no_version"] = dataset("ds_no_version", lambda f: _edit_json(f / "meta" / "info.json",
                                                                       codebase_version=None))
    m["ds_no_data_file"] = dataset("ds_no_data_file", lambda f: next((f / "data").rglob("*.parquet")).unlink())
    m["ds_bad_video"] = dataset("ds_bad_video", _truncate_video)
    m["ds_exists"] = dataset("ds_exists", lambda f: None)
    m.update(_zarr_buffers(root))
    return m


def _to_v21_layout(folder: Path) -> None:
    """What LeRobot <= 0.3 wrote (codebase_version v2.1): one parquet file per episode named
    data/chunk-000/episode_000000.parquet and meta/episodes.jsonl, no meta/episodes/ parquet."""
    _edit_json(folder / "meta" / "info.json", codebase_version="v2.1",
               data_path="data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet")
    data = next((folder / "data").rglob("*.parquet"))
    data.rename(data.with_name("episode_000000.parquet"))
    shutil.rmtree(folder / "meta" / "episodes")
    (folder / "meta" / "episodes.jsonl").write_text('{"episode_index": 0, "length": 11}\n')


def _truncate_video(folder: Path) -> None:
    video = next((folder / "videos").rglob("*.mp4"))
    video.write_bytes(video.read_bytes()[:1500])      # cut inside the stream: FFmpeg cannot open it


def _zarr_buffers(root: Path) -> dict[str, str]:
    """diffusion_policy replay buffers (zarr) copied from the committed fixture, one broken each."""
    import zarr
    src = ROOT / "tests" / "recordings" / "formats" / "data" / "dp_replay" / "buffer_v2.zarr"
    out: dict[str, str] = {}

    def buffer(name: str, change) -> str:
        folder = root / f"{name}.zarr"
        shutil.copytree(src, folder)
        change(folder)
        return str(folder)

    def not_increasing(folder: Path) -> None:
        ends = zarr.open(str(folder / "meta" / "episode_ends"), mode="r+")
        values = ends[...]
        values[[0, 1]] = values[[1, 0]]
        ends[...] = values

    out["zarr_good"] = buffer("zarr_good", lambda f: None)
    out["zarr_no_ends"] = buffer("zarr_no_ends", lambda f: shutil.rmtree(f / "meta" / "episode_ends"))
    out["zarr_ends_order"] = buffer("zarr_ends_order", not_increasing)
    return out


def _break_parquet(folder: Path) -> None:
    files = sorted((folder / "data").rglob("*.parquet"))
    files[0].write_bytes(b"PAR1 this is not parquet")


# ---------------------------------------------------------------------------- plugin planners
class _Plugin:
    def __init__(self, returns, spec: PlannerSpec | None = None) -> None:
        self.spec = spec or PlannerSpec(name="broken", kind="plugin", scene="mug_grasp", obs_dim=9,
                                        action_dim=4, horizon=16, obs_keys=MUG_KEYS)
        self.returns = returns

    def plan(self, obs, num_samples, *, seed, **_kw):
        return self.returns(num_samples)


def _batch(shape):
    return PlanBatch.without_chain(np.zeros(shape, np.float32), solver="x", seed=0)


def register_plugins() -> str:
    name = "malformed_plugins"
    module = types.ModuleType(name)
    module.raises = lambda: _Plugin(lambda n: 1 / 0)
    module.three = lambda: _Plugin(lambda n: _batch((3, 16, 4)))
    module.short = lambda: _Plugin(lambda n: _batch((n, 8, 4)))
    module.bare = lambda: _Plugin(lambda n: np.zeros((n, 16, 4)))
    module.rank2 = lambda: _Plugin(lambda n: _batch((n, 16)))
    module.dim3 = lambda: _Plugin(lambda n: _batch((n, 16, 3)))
    module.bad_kind = lambda: _Plugin(None, PlannerSpec(name="broken", kind="magic", scene="mug_grasp", obs_dim=9,
                                                        action_dim=4, horizon=16, obs_keys=MUG_KEYS))
    module.string_keys = lambda: _Plugin(None, PlannerSpec(name="broken", kind="plugin", scene="mug_grasp",
                                                           obs_dim=9, action_dim=4, horizon=16,
                                                           obs_keys=("ee_pos", "gripper")))
    module.no_plan = lambda: object()
    module.factory_raises = lambda: {}["missing"]
    module.not_callable = 42
    sys.modules[name] = module
    return name
