"""The LeRobot reference policies (made by lerobot 0.4.4 / 0.3.3 itself, see fixtures/README.md)."""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
POLICIES = ("lowdim_044_ddpm", "lowdim_044_ddim", "lowdim_033", "camera_044", "camera_044_resize")


def read_golden(name: str) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, metadata) LeRobot produced for reference `name`."""
    from safetensors.numpy import load_file
    arrays = load_file(str(FIXTURES / name / "golden.safetensors"))
    return arrays, json.loads((FIXTURES / name / "golden.json").read_text())


def observation(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The raw observation history the reference was given, under LeRobot's feature names."""
    return {key[len("obs."):]: value for key, value in arrays.items() if key.startswith("obs.")}


def copy_policy(name: str, dest: Path) -> Path:
    """A writable copy of reference `name`'s pretrained_model folder (weights un-gzipped)."""
    folder = dest / name / "pretrained_model"
    shutil.copytree(FIXTURES / name / "pretrained_model", folder)
    packed = folder / "model.safetensors.gz"
    if packed.exists():     # the camera policy's 45 MB of ResNet-18 weights travel gzipped
        with gzip.open(packed) as src, open(folder / "model.safetensors", "wb") as dst:
            shutil.copyfileobj(src, dst)
        packed.unlink()
    return folder


@pytest.fixture(scope="session")
def lerobot_policy_dir(tmp_path_factory):
    """name -> folder of that reference policy, copied once per session."""
    root = tmp_path_factory.mktemp("lerobot")
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            made[name] = copy_policy(name, root)
        return made[name]
    return get
