"""The demo's cached recording key, its data folder and the demo command's argument errors."""
from __future__ import annotations

import pytest

from app.cli import main
from app.core.demo import data as demo_data


@pytest.fixture
def fake_checkpoints(tmp_path, monkeypatch):
    diffusion, regression = tmp_path / "diffusion", tmp_path / "regression"
    for folder in (diffusion, regression):
        folder.mkdir()
        (folder / "config.json").write_text('{"kind": "x"}')
        (folder / "model.safetensors").write_bytes(b"weights")
    monkeypatch.setattr(demo_data, "DIFFUSION_CHECKPOINT", diffusion)
    monkeypatch.setattr(demo_data, "REGRESSION_CHECKPOINT", regression)
    monkeypatch.setenv(demo_data.DATA_DIR_ENV, str(tmp_path / "data"))
    return diffusion, regression


def test_recording_name_changes_when_a_checkpoint_or_the_recipe_changes(fake_checkpoints):
    diffusion, _ = fake_checkpoints
    first = demo_data.recording_path()
    assert first.parent == demo_data.data_dir()
    assert demo_data.recording_path() == first                     # stable
    (diffusion / "model.safetensors").write_bytes(b"retrained")
    assert demo_data.recording_path() != first                     # retrained -> remade
    assert demo_data.recording_path(demo_data.DemoRecipe(seeds=(0,))) != demo_data.recording_path()


def test_a_corrupt_cached_recording_is_not_used(fake_checkpoints):
    path = demo_data.recording_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not hdf5")
    assert demo_data.cached_recording() is None


def test_missing_checkpoint_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo_data, "DIFFUSION_CHECKPOINT", tmp_path / "nope")
    assert main(["demo", "--export", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("planscope: error: shipped checkpoint") and "make checkpoints" in err


def test_bad_card_number_is_refused(capsys):
    assert main(["demo", "--card", "9", "--export", "x"]) == 2
    assert "cards 1 to 6" in capsys.readouterr().err
