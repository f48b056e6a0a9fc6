"""Broken LeRobot folders end in one PlannerError line naming the file and what is wrong, and the
loader writes nothing (each case is a real reference folder with one thing broken)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from planners.loading import load_planner
from planners.protocol import PlannerError
from tests.planners.lerobot.conftest import copy_policy


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def _refused(folder: Path, *patterns: str) -> str:
    before = _snapshot(folder)
    with pytest.raises(PlannerError) as info:
        load_planner(folder)
    message = str(info.value)
    assert "\n" not in message
    for pattern in patterns:
        assert pattern in message, message
    assert _snapshot(folder) == before        # nothing written, nothing removed
    return message


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _edit_tensors(path: Path, edit) -> None:
    from safetensors.torch import load_file, save_file
    tensors = load_file(str(path))
    edit(tensors)
    save_file(tensors, str(path))


@pytest.fixture
def folder044(tmp_path):
    return copy_policy("lowdim_044_ddpm", tmp_path)


@pytest.fixture
def folder033(tmp_path):
    return copy_policy("lowdim_033", tmp_path)


def test_policy_type_other_than_diffusion(folder044):
    _edit_json(folder044 / "config.json", type="act")
    _refused(folder044, "config.json", "'act'", "diffusion")


def test_config_field_out_of_range(folder044):
    _edit_json(folder044 / "config.json", noise_scheduler_type="EULER")
    _refused(folder044, "config.json", "noise_scheduler_type", "EULER")


def test_normalisation_mode_not_supported(folder044):
    config = json.loads((folder044 / "config.json").read_text())
    config["normalization_mapping"]["ACTION"] = "QUANTILES"
    (folder044 / "config.json").write_text(json.dumps(config))
    _refused(folder044, "config.json", "normalization_mapping['ACTION']", "QUANTILES", "MIN_MAX, MEAN_STD, IDENTITY")


def test_missing_preprocessor_file(folder044):
    (folder044 / "policy_preprocessor.json").unlink()
    _refused(folder044, "policy_preprocessor.json", "missing")


def test_missing_statistics_file(folder044):
    (folder044 / "policy_postprocessor_step_0_unnormalizer_processor.safetensors").unlink()
    _refused(folder044, "policy_postprocessor_step_0_unnormalizer_processor.safetensors", "missing")


def test_missing_statistic(folder044):
    _edit_tensors(folder044 / "policy_preprocessor_step_3_normalizer_processor.safetensors",
                  lambda t: t.pop("observation.environment_state.std"))
    _refused(folder044, "normalizer_processor.safetensors", "observation.environment_state.std", "MEAN_STD")


def test_statistic_of_wrong_shape(folder044):
    def edit(t):
        t["observation.state.min"] = torch.zeros(7)
    _edit_tensors(folder044 / "policy_preprocessor_step_3_normalizer_processor.safetensors", edit)
    _refused(folder044, "observation.state.min", "[7]", "[4]")


def test_missing_weight(folder044):
    _edit_tensors(folder044 / "model.safetensors", lambda t: t.pop("diffusion.unet.mid_modules.1.conv2.block.0.bias"))
    _refused(folder044, "model.safetensors", "missing weight", "diffusion.unet.mid_modules.1.conv2.block.0.bias")


def test_unexpected_weight(folder044):
    def edit(t):
        t["diffusion.rgb_encoder.out.weight"] = torch.zeros(2, 2)
    _edit_tensors(folder044 / "model.safetensors", edit)
    _refused(folder044, "model.safetensors", "unexpected weight", "diffusion.rgb_encoder.out.weight")


def test_weights_that_do_not_match_the_config(folder044):
    """config.json says the state has 5 values; the weights were trained for 4."""
    config = json.loads((folder044 / "config.json").read_text())
    config["input_features"]["observation.state"]["shape"] = [5]
    (folder044 / "config.json").write_text(json.dumps(config))
    # the statistics are checked first: give them the new shape so the weights are what fails
    def edit(t):
        for stat in ("min", "max", "mean", "std"):
            if f"observation.state.{stat}" in t:
                t[f"observation.state.{stat}"] = torch.zeros(5)
    _edit_tensors(folder044 / "policy_preprocessor_step_3_normalizer_processor.safetensors", edit)
    message = _refused(folder044, "model.safetensors", "has shape", "config.json's model needs")
    assert "cond_encoder" in message


def test_downsampling_weight_named_as_lerobot_writes_it(folder044):
    _edit_tensors(folder044 / "model.safetensors", lambda t: t.pop("diffusion.unet.down_modules.0.2.weight"))
    _refused(folder044, "'diffusion.unet.down_modules.0.2.weight'")


def test_corrupt_weights_file(folder044):
    (folder044 / "model.safetensors").write_bytes(b"not a safetensors file")
    _refused(folder044, "model.safetensors", "safetensors")


def test_old_layout_missing_buffer(folder033):
    _edit_tensors(folder033 / "model.safetensors", lambda t: t.pop("unnormalize_outputs.buffer_action.max"))
    _refused(folder033, "model.safetensors", "unnormalize_outputs.buffer_action.max")


def test_old_layout_buffer_never_set(folder033):
    def edit(t):
        t["normalize_inputs.buffer_observation_state.min"] = torch.full((3,), float("inf"))
    _edit_tensors(folder033 / "model.safetensors", edit)
    _refused(folder033, "normalize_inputs.buffer_observation_state.min", "not finite")


def test_no_statistics_anywhere(folder033):
    """0.3 weights without their buffers and no processor files: nothing to normalise with."""
    _edit_tensors(folder033 / "model.safetensors",
                  lambda t: [t.pop(k) for k in list(t) if k.startswith(("normalize_", "unnormalize_"))])
    _refused(folder033, "policy_preprocessor.json", "missing")


def test_checkpoint_folder_above_pretrained_model_opens(folder044):
    planner = load_planner(folder044.parent)
    assert planner.spec.library.startswith("lerobot")
