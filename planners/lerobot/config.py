"""LeRobot DiffusionPolicy's `config.json`, read as data and checked field by field.

LeRobot (0.3 and 0.4 releases) writes the policy's dataclass with draccus: `"type": "diffusion"`,
the observation/action features, the normalisation mapping, the U-Net, vision and scheduler
settings. Only the fields that change the sampled actions are kept; each is validated here so
that a bad file ends in one line naming the file and the field.

Feature kinds follow LeRobot's FeatureType: STATE (`observation.state`, the robot state), ENV
(`observation.environment_state`), VISUAL (`observation.images.<camera>`, shape [C, H, W]) and
ACTION (`action`, shape [D]).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planners.protocol import PlannerError

OBS_STATE = "observation.state"
OBS_ENV_STATE = "observation.environment_state"
ACTION = "action"
FEATURE_TYPES = ("STATE", "VISUAL", "ENV", "ACTION")
NORM_MODES = ("MIN_MAX", "MEAN_STD", "IDENTITY")
SCHEDULER_TYPES = ("DDPM", "DDIM")
PREDICTION_TYPES = ("epsilon", "sample")
BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")


@dataclass(frozen=True)
class Feature:
    """One input or output of the policy: its key, LeRobot type and shape (images: [C, H, W])."""
    name: str
    type: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class LeRobotDiffusionConfig:
    """The sampling-relevant part of a LeRobot `DiffusionConfig` (names as in LeRobot)."""
    input_features: tuple[Feature, ...]
    output_features: tuple[Feature, ...]
    normalization_mapping: dict[str, str]
    n_obs_steps: int = 2
    horizon: int = 16
    n_action_steps: int = 8
    vision_backbone: str = "resnet18"
    resize_shape: tuple[int, int] | None = None
    crop_shape: tuple[int, int] | None = None
    crop_is_random: bool = True
    pretrained_backbone_weights: str | None = None
    use_group_norm: bool = True
    spatial_softmax_num_keypoints: int = 32
    use_separate_rgb_encoder_per_camera: bool = False
    down_dims: tuple[int, ...] = (512, 1024, 2048)
    kernel_size: int = 5
    n_groups: int = 8
    diffusion_step_embed_dim: int = 128
    use_film_scale_modulation: bool = True
    noise_scheduler_type: str = "DDPM"
    num_train_timesteps: int = 100
    beta_schedule: str = "squaredcos_cap_v2"
    beta_start: float = 0.0001
    beta_end: float = 0.02
    prediction_type: str = "epsilon"
    clip_sample: bool = True
    clip_sample_range: float = 1.0
    num_inference_steps: int | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    # -- the features, as LeRobot's config properties find them ------------------------------
    @property
    def robot_state_feature(self) -> Feature | None:
        return next((f for f in self.input_features if f.type == "STATE" and f.name == OBS_STATE), None)

    @property
    def env_state_feature(self) -> Feature | None:
        return next((f for f in self.input_features if f.type == "ENV"), None)

    @property
    def image_features(self) -> tuple[Feature, ...]:
        return tuple(f for f in self.input_features if f.type == "VISUAL")

    @property
    def action_feature(self) -> Feature:
        return next(f for f in self.output_features if f.type == "ACTION" and f.name == ACTION)

    @property
    def action_dim(self) -> int:
        return int(self.action_feature.shape[0])

    @property
    def inference_steps(self) -> int:
        """The checkpoint's own number of denoising steps (all training steps when unset)."""
        return int(self.num_inference_steps or self.num_train_timesteps)

    def norm_mode(self, feature: Feature) -> str:
        """MIN_MAX | MEAN_STD | IDENTITY for a feature (IDENTITY when its type is not mapped)."""
        return self.normalization_mapping.get(feature.type, "IDENTITY")


def resolve_folder(path: Path) -> Path:
    """The pretrained_model folder itself, or the one inside a LeRobot checkpoint folder."""
    inner = Path(path) / "pretrained_model"
    return inner if not (Path(path) / "config.json").is_file() and (inner / "config.json").is_file() else Path(path)


def is_lerobot_folder(path: Path) -> bool:
    """True for a folder (or its pretrained_model/) whose config.json has LeRobot's `"type"` field
    and is not a planscope checkpoint. Cheap and torch-free: reads one JSON file."""
    folder = resolve_folder(Path(path))
    config = folder / "config.json"
    if not folder.is_dir() or not config.is_file() or (folder / "normalizer.json").is_file():
        return False
    try:
        raw = json.loads(config.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(raw, dict) and "type" in raw and "format" not in raw


def read_config(path: Path) -> LeRobotDiffusionConfig:
    """Parse `path` (a LeRobot `config.json`); PlannerError naming the file and field when invalid."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise PlannerError(f"{path}: cannot read LeRobot config ({exc})") from None
    except json.JSONDecodeError as exc:
        raise PlannerError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise PlannerError(f"{path}: expected a JSON object, found {type(raw).__name__}")
    policy_type = raw.get("type")
    if policy_type != "diffusion":
        raise PlannerError(f"{path}: LeRobot policy type {policy_type!r} is not supported "
                           "(planscope opens \"diffusion\" policies)")
    try:
        return _parse(raw)
    except (KeyError, TypeError, ValueError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        if isinstance(exc, KeyError):
            message = f"missing field {message!r}"
        raise PlannerError(f"{path}: {message}") from None


def _parse(raw: dict[str, Any]) -> LeRobotDiffusionConfig:
    inputs = _features(raw, "input_features")
    outputs = _features(raw, "output_features")
    mapping = raw.get("normalization_mapping")
    if not isinstance(mapping, dict):
        raise ValueError("normalization_mapping must be an object of feature type -> mode")
    for ftype, mode in mapping.items():
        if mode not in NORM_MODES:
            raise ValueError(f"normalization_mapping[{ftype!r}] = {mode!r} is not supported "
                             f"(allowed: {', '.join(NORM_MODES)})")
    kwargs: dict[str, Any] = {}
    for name in ("n_obs_steps", "horizon", "n_action_steps", "spatial_softmax_num_keypoints",
                 "kernel_size", "n_groups", "diffusion_step_embed_dim", "num_train_timesteps"):
        if name in raw:
            kwargs[name] = _positive_int(raw[name], name)
    for name in ("crop_is_random", "use_group_norm", "use_separate_rgb_encoder_per_camera",
                 "use_film_scale_modulation", "clip_sample"):
        if name in raw:
            if not isinstance(raw[name], bool):
                raise ValueError(f"{name} must be true or false, got {raw[name]!r}")
            kwargs[name] = raw[name]
    for name in ("beta_start", "beta_end", "clip_sample_range"):
        if name in raw:
            if isinstance(raw[name], bool) or not isinstance(raw[name], (int, float)):
                raise ValueError(f"{name} must be a number, got {raw[name]!r}")
            kwargs[name] = float(raw[name])
    for name, allowed in (("noise_scheduler_type", SCHEDULER_TYPES), ("prediction_type", PREDICTION_TYPES),
                          ("beta_schedule", BETA_SCHEDULES)):
        if name in raw:
            if raw[name] not in allowed:
                raise ValueError(f"{name} {raw[name]!r} is not supported (allowed: {', '.join(allowed)})")
            kwargs[name] = raw[name]
    if "down_dims" in raw:
        dims = raw["down_dims"]
        if not isinstance(dims, list) or not dims:
            raise ValueError(f"down_dims must be a non-empty list of channel counts, got {dims!r}")
        kwargs["down_dims"] = tuple(_positive_int(d, "down_dims") for d in dims)
    if raw.get("num_inference_steps") is not None:
        kwargs["num_inference_steps"] = _positive_int(raw["num_inference_steps"], "num_inference_steps")
    for name in ("crop_shape", "resize_shape"):
        if raw.get(name) is not None:
            kwargs[name] = _pair(raw[name], name)
    backbone = raw.get("vision_backbone", "resnet18")
    kwargs["vision_backbone"] = backbone
    kwargs["pretrained_backbone_weights"] = raw.get("pretrained_backbone_weights")
    # 0.4 releases derive crop_shape from resize_shape and crop_ratio (crop_ratio 1 = no crop).
    if kwargs.get("resize_shape") is not None:
        ratio = float(raw.get("crop_ratio", 1.0))
        if not 0 < ratio <= 1:
            raise ValueError(f"crop_ratio must be in (0, 1], got {ratio}")
        shape = kwargs["resize_shape"]
        kwargs["crop_shape"] = (int(shape[0] * ratio), int(shape[1] * ratio)) if ratio < 1 else None
    config = LeRobotDiffusionConfig(input_features=inputs, output_features=outputs,
                                    normalization_mapping=dict(mapping), raw=raw, **kwargs)
    _validate(config)
    return config


def _validate(config: LeRobotDiffusionConfig) -> None:
    if config.robot_state_feature is None:
        raise ValueError(f"input_features has no {OBS_STATE!r} of type STATE (LeRobot's diffusion "
                         "policy requires the robot state)")
    if not any(f.type == "ACTION" and f.name == ACTION for f in config.output_features):
        raise ValueError(f"output_features has no {ACTION!r} of type ACTION")
    if not config.image_features and config.env_state_feature is None:
        raise ValueError("input_features needs at least one image or the environment state")
    for feat in (config.robot_state_feature, config.env_state_feature, config.action_feature):
        if feat is not None and len(feat.shape) != 1:
            raise ValueError(f"feature {feat.name!r} must be a vector, got shape {list(feat.shape)}")
    images = config.image_features
    for feat in images:
        if len(feat.shape) != 3 or feat.shape[0] != 3:
            raise ValueError(f"image feature {feat.name!r} must have shape [3, H, W], got {list(feat.shape)}")
        if feat.shape != images[0].shape:
            raise ValueError(f"image feature {feat.name!r} has shape {list(feat.shape)}, "
                             f"{images[0].name!r} has {list(images[0].shape)}: all cameras must match")
    if images:
        if config.vision_backbone != "resnet18":
            raise ValueError(f"vision_backbone {config.vision_backbone!r} is not supported (planscope "
                             "re-implements resnet18)")
        if config.resize_shape is None and config.crop_shape is not None:
            _, height, width = images[0].shape
            if config.crop_shape[0] > height or config.crop_shape[1] > width:
                raise ValueError(f"crop_shape {list(config.crop_shape)} does not fit the images "
                                 f"{list(images[0].shape)}")
    factor = 2 ** len(config.down_dims)
    if config.horizon % factor:
        raise ValueError(f"horizon {config.horizon} is not a multiple of 2 ** len(down_dims) = {factor}")
    for dim in config.down_dims:
        if dim % config.n_groups:
            raise ValueError(f"down_dims entry {dim} is not divisible by n_groups={config.n_groups} "
                             "(the U-Net's GroupNorm)")
    if config.down_dims[0] % 8:    # the final block's GroupNorm always has 8 groups
        raise ValueError(f"down_dims[0] = {config.down_dims[0]} is not divisible by 8 (the U-Net's final GroupNorm)")
    if config.n_action_steps > config.horizon:
        raise ValueError(f"n_action_steps {config.n_action_steps} exceeds horizon {config.horizon}")


def _features(raw: dict[str, Any], key: str) -> tuple[Feature, ...]:
    entries = raw[key]
    if not isinstance(entries, dict) or not entries:
        raise ValueError(f"{key} must be a non-empty object of name -> {{type, shape}}")
    features = []
    for name, entry in entries.items():
        if not isinstance(entry, dict) or "type" not in entry or "shape" not in entry:
            raise ValueError(f"{key}[{name!r}] must be an object with 'type' and 'shape'")
        ftype = entry["type"]
        if ftype not in FEATURE_TYPES:
            raise ValueError(f"{key}[{name!r}] has type {ftype!r} (allowed: {', '.join(FEATURE_TYPES)})")
        shape = entry["shape"]
        if not isinstance(shape, list) or not shape:
            raise ValueError(f"{key}[{name!r}] shape must be a list of sizes, got {shape!r}")
        features.append(Feature(str(name), ftype, tuple(_positive_int(s, f"{key}[{name!r}].shape") for s in shape)))
    return tuple(features)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _pair(value: Any, name: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"{name} must be a pair [H, W], got {value!r}")
    return (_positive_int(value[0], name), _positive_int(value[1], name))
