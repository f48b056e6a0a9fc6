"""Open a LeRobot `pretrained_model/` folder as a planscope planner (LeRobot is never imported).

    folder/config.json           {"type": "diffusion", ...}                      (planners/lerobot/config.py)
    folder/model.safetensors     diffusion.unet.*, diffusion.rgb_encoder.*  (+ normalize_* buffers <= 0.3)
    folder/policy_preprocessor.json, policy_postprocessor.json and their *.safetensors   (>= 0.4)

Everything is checked before a module runs: the config, the statistics, then every weight's key
and shape against the model the config describes (one line naming the file and the first key that
does not match); the state dict is then loaded with strict=True. Nothing is written.
"""
from __future__ import annotations

from pathlib import Path

import torch

from planners.lerobot.config import Feature, LeRobotDiffusionConfig, read_config, resolve_folder
from planners.lerobot.modeling import LeRobotDiffusion, count_parameters, to_planscope_keys
from planners.lerobot.normalization import from_buffers, from_processors, has_buffer_stats
from planners.lerobot.planner import LeRobotPlanner, scheduler_settings
from planners.protocol import Feature as SpecFeature
from planners.protocol import PlannerError, PlannerSpec, SOLVERS

WEIGHTS = "model.safetensors"
KINDS = {"STATE": "state", "ENV": "environment", "VISUAL": "image"}


def load_lerobot_policy(folder: str | Path, *, device: str = "cpu", chain_dtype: str = "float32") -> LeRobotPlanner:
    """The planner for a LeRobot diffusion policy folder; PlannerError (one line) when anything is off."""
    folder = resolve_folder(Path(folder))
    config = read_config(folder / "config.json")
    weights_path = folder / WEIGHTS
    state = read_weights(weights_path)
    if has_buffer_stats(state):
        normalizer = from_buffers(state, config, weights_path)          # pops the normalize_* buffers
    else:
        normalizer = from_processors(folder, config)
    try:
        model = LeRobotDiffusion(config)
    except (ValueError, RuntimeError) as exc:
        raise PlannerError(f"{folder / 'config.json'}: cannot build the model it describes ({exc})") from None
    state = to_planscope_keys(state)
    check_state_dict(model, state, weights_path)
    model.load_state_dict(state, strict=True)
    spec = make_spec(config, model, normalizer.describe(), folder)
    return LeRobotPlanner(config, model, normalizer, spec, device=device, chain_dtype=chain_dtype)


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file (no pickle is involved), PlannerError when unreadable."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise PlannerError(f"{path}: missing (a LeRobot pretrained_model folder holds the weights there)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise PlannerError(f"{path}: not a readable safetensors file ({exc})") from None


def check_state_dict(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """One line naming the first missing, unexpected or mis-shaped key (in LeRobot's own names)."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        raise PlannerError(f"{path}: missing weight {_lerobot_name(missing[0])!r} that config.json's model needs"
                           + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    if unexpected:
        raise PlannerError(f"{path}: unexpected weight {_lerobot_name(unexpected[0])!r} that config.json's "
                           "model does not have" + (f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""))
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise PlannerError(f"{path}: weight {_lerobot_name(key)!r} has shape {list(state[key].shape)}, "
                               f"config.json's model needs {list(shape)}")


def _lerobot_name(key: str) -> str:
    return key.replace(".2.conv.", ".2.")


def make_spec(config: LeRobotDiffusionConfig, model: LeRobotDiffusion, normalization: dict,
              folder: Path) -> PlannerSpec:
    """PlannerSpec with the Policy panel's details in `extra` (library, layout, features, horizons,
    scheduler, parameter count, normalisation)."""
    layout = normalization["layout"]
    # LeRobot writes no version number into a pretrained_model folder; the layout dates it.
    version = ">= 0.4 (processor files)" if layout == "processor" else "<= 0.3 (statistics in model.safetensors)"
    solver = config.noise_scheduler_type.lower()
    settings = scheduler_settings(config)
    features = tuple(_spec_feature(f) for f in config.input_features if f.type in KINDS)
    extra = {
        "source_library": "lerobot", "version": version, "policy_type": "diffusion",
        "checkpoint": str(folder.resolve()),
        "features": [{"name": f.name, "type": f.type, "shape": list(f.shape), "normalization": config.norm_mode(f)}
                     for f in (*config.input_features, *config.output_features)],
        "horizons": {"n_obs_steps": config.n_obs_steps, "horizon": config.horizon,
                     "n_action_steps": config.n_action_steps, "action_start": config.n_obs_steps - 1},
        "scheduler": {"type": config.noise_scheduler_type, "solver": solver,
                      "num_inference_steps": config.inference_steps,
                      **settings.to_json()},
        "model": {"down_dims": list(config.down_dims), "kernel_size": config.kernel_size,
                  "n_groups": config.n_groups, "diffusion_step_embed_dim": config.diffusion_step_embed_dim,
                  "use_film_scale_modulation": config.use_film_scale_modulation,
                  "global_cond_dim": model.diffusion.global_cond_dim},
        "normalization": normalization,
    }
    if config.image_features:
        extra["vision"] = {"backbone": config.vision_backbone, "use_group_norm": config.use_group_norm,
                           "crop_shape": list(config.crop_shape) if config.crop_shape else None,
                           "resize_shape": list(config.resize_shape) if config.resize_shape else None,
                           "spatial_softmax_num_keypoints": config.spatial_softmax_num_keypoints,
                           "use_separate_rgb_encoder_per_camera": config.use_separate_rgb_encoder_per_camera}
    assert solver in SOLVERS
    return PlannerSpec(name=folder.parent.name if folder.name == "pretrained_model" else folder.name,
                       kind="diffusion", action_dim=config.action_dim, horizon=config.horizon,
                       default_solver=solver, default_steps=config.inference_steps,
                       control_solver=solver, control_steps=config.inference_steps,
                       num_parameters=count_parameters(model), extra=extra, features=features,
                       n_obs_steps=config.n_obs_steps, n_action_steps=config.n_action_steps,
                       action_start=config.n_obs_steps - 1,   # LeRobot's generate_actions: start = To - 1
                       library=f"lerobot {version}")


def _spec_feature(feature: Feature) -> SpecFeature:
    if feature.type == "VISUAL":
        channels, height, width = feature.shape
        return SpecFeature(feature.name, (height, width, channels), "image")
    return SpecFeature(feature.name, tuple(feature.shape), KINDS[feature.type])
