"""LeRobot's normalisation statistics, from either layout its releases write.

- Releases >= 0.4 save processor pipelines beside the weights: `policy_preprocessor.json` with a
  `normalizer_processor` step whose `state_file` (`policy_preprocessor_step_<i>_normalizer_processor
  .safetensors`) holds flat keys `<feature>.<stat>` (e.g. `observation.state.min`), and
  `policy_postprocessor.json` with an `unnormalizer_processor` step for the action.
- Releases <= 0.3 keep the statistics as buffers inside `model.safetensors`:
  `normalize_inputs.buffer_<feature with . -> _>.<stat>`, `normalize_targets.buffer_action.<stat>`,
  `unnormalize_outputs.buffer_action.<stat>`.

The arithmetic is each layout's own (they differ in where eps goes for MIN_MAX):
    >= 0.4  MIN_MAX  2 (x - min) / d - 1, d = max - min (eps where d == 0);  MEAN_STD (x - mean) / (std + eps)
    <= 0.3  MIN_MAX  2 (x - min) / (max - min + 1e-8) - 1;                   MEAN_STD (x - mean) / (std + 1e-8)
    both    unnormalise MIN_MAX (y + 1) / 2 (max - min) + min;  MEAN_STD y std + mean
Images are normalised per channel with [3, 1, 1] statistics, on pixel values in [0, 1].
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor

from planners.lerobot.config import Feature, LeRobotDiffusionConfig
from planners.protocol import PlannerError

Layout = Literal["processor", "buffers"]
BUFFER_PREFIXES = ("normalize_inputs.", "normalize_targets.", "unnormalize_outputs.")
STAT_NAMES = {"MIN_MAX": ("min", "max"), "MEAN_STD": ("mean", "std"), "IDENTITY": ()}
PREPROCESSOR_JSON = "policy_preprocessor.json"
POSTPROCESSOR_JSON = "policy_postprocessor.json"


@dataclass(frozen=True)
class FeatureNorm:
    """How one feature is (un)normalised: its mode and float32 statistics (broadcastable to it)."""
    mode: str
    stats: dict[str, Tensor]


class LeRobotNormalizer:
    """Normalises observation features and unnormalises actions exactly as a LeRobot layout does.

    inputs: feature name -> FeatureNorm for observations; action: FeatureNorm for `action`
    (the post-processor's, or `unnormalize_outputs`' statistics). layout: "processor" (>= 0.4) or
    "buffers" (<= 0.3); source: the file(s) the statistics came from.
    """

    def __init__(self, inputs: dict[str, FeatureNorm], action: FeatureNorm, *, layout: Layout,
                 eps: float, source: str) -> None:
        self.inputs = inputs
        self.action = action
        self.layout = layout
        self.eps = float(eps)
        self.source = source

    def to(self, device: torch.device | str) -> "LeRobotNormalizer":
        """Moves every statistic to `device` (in place); returns self."""
        for norm in (*self.inputs.values(), self.action):
            for key, value in norm.stats.items():
                norm.stats[key] = value.to(device)
        return self

    def normalize(self, name: str, x: Tensor) -> Tensor:
        """Normalise observation feature `name` (any leading dims; images [..., 3, H, W] in [0, 1])."""
        norm = self.inputs[name]
        if norm.mode == "MEAN_STD":
            return (x - norm.stats["mean"]) / (norm.stats["std"] + self.eps)
        if norm.mode == "MIN_MAX":
            low, high = norm.stats["min"], norm.stats["max"]
            if self.layout == "buffers":
                return (x - low) / (high - low + 1e-8) * 2 - 1
            denom = high - low
            denom = torch.where(denom == 0, torch.tensor(self.eps, dtype=x.dtype, device=x.device), denom)
            return 2 * (x - low) / denom - 1
        return x

    def unnormalize_action(self, y: Tensor) -> Tensor:
        """Normalised actions [..., D] -> action units [..., D]."""
        norm = self.action
        if norm.mode == "MEAN_STD":
            return y * norm.stats["std"] + norm.stats["mean"]
        if norm.mode == "MIN_MAX":
            low, high = norm.stats["min"], norm.stats["max"]
            if self.layout == "buffers":
                return (y + 1) / 2 * (high - low) + low
            denom = high - low
            denom = torch.where(denom == 0, torch.tensor(self.eps, dtype=y.dtype, device=y.device), denom)
            return (y + 1) / 2 * denom + low
        return y

    def describe(self) -> dict:
        """Plain data for the Policy panel: layout, source and each feature's mode and statistics."""
        def stats(norm: FeatureNorm) -> dict:
            return {"mode": norm.mode, **{k: v.reshape(-1).tolist() for k, v in norm.stats.items()}}
        return {"layout": self.layout, "source": self.source,
                "features": {**{name: stats(n) for name, n in self.inputs.items()}, "action": stats(self.action)}}


def has_buffer_stats(state: dict[str, Tensor]) -> bool:
    """True when model.safetensors carries the <= 0.3 normalisation buffers."""
    return any(key.startswith(BUFFER_PREFIXES) for key in state)


def from_buffers(state: dict[str, Tensor], config: LeRobotDiffusionConfig, weights_path: Path) -> LeRobotNormalizer:
    """Statistics from `normalize_inputs.*` / `unnormalize_outputs.*` buffers (LeRobot <= 0.3).

    Removes every normalisation buffer from `state` (the model proper has none of them)."""
    buffers = {key: state.pop(key) for key in list(state) if key.startswith(BUFFER_PREFIXES)}

    def read(prefix: str, feature: Feature) -> FeatureNorm:
        mode = config.norm_mode(feature)
        stats = {}
        for stat in STAT_NAMES[mode]:
            key = f"{prefix}.buffer_{feature.name.replace('.', '_')}.{stat}"
            if key not in buffers:
                raise PlannerError(f"{weights_path}: missing normalisation buffer {key!r} "
                                   f"({feature.name} is {mode})")
            value = buffers[key].float()
            if not torch.isfinite(value).all():
                raise PlannerError(f"{weights_path}: normalisation buffer {key!r} is not finite "
                                   "(the statistics were never set)")
            stats[stat] = _check_shape(value, feature, key, weights_path)
        return FeatureNorm(mode, stats)

    inputs = {f.name: read("normalize_inputs", f) for f in config.input_features}
    action = read("unnormalize_outputs", config.action_feature)
    return LeRobotNormalizer(inputs, action, layout="buffers", eps=1e-8, source=weights_path.name)


def from_processors(folder: Path, config: LeRobotDiffusionConfig) -> LeRobotNormalizer:
    """Statistics from the pre/post-processor files that LeRobot >= 0.4 writes beside the weights."""
    pre_json = folder / PREPROCESSOR_JSON
    post_json = folder / POSTPROCESSOR_JSON
    for path in (pre_json, post_json):
        if not path.is_file():
            raise PlannerError(f"{path}: missing (LeRobot >= 0.4 keeps the normalisation statistics in "
                               "the processor files; model.safetensors has no normalize_* buffers either)")
    pre_cfg, pre_stats, pre_file = _normalizer_step(pre_json, "normalizer_processor")
    post_cfg, post_stats, post_file = _normalizer_step(post_json, "unnormalizer_processor")
    eps = float(pre_cfg.get("eps", 1e-8))
    pre_map, post_map = pre_cfg.get("norm_map", {}), post_cfg.get("norm_map", {})

    def read(stats_all: dict[str, Tensor], path: Path, norm_map: dict, feature: Feature) -> FeatureNorm:
        mode = norm_map.get(feature.type, config.norm_mode(feature))
        if mode not in STAT_NAMES:
            raise PlannerError(f"{path}: normalisation mode {mode!r} for {feature.name} is not supported "
                               f"(allowed: {', '.join(STAT_NAMES)})")
        stats = {}
        for stat in STAT_NAMES[mode]:
            key = f"{feature.name}.{stat}"
            if key not in stats_all:
                raise PlannerError(f"{path}: missing statistic {key!r} ({feature.name} is {mode})")
            stats[stat] = _check_shape(stats_all[key].float(), feature, key, path)
        return FeatureNorm(mode, stats)

    inputs = {f.name: read(pre_stats, pre_file, pre_map, f) for f in config.input_features}
    action = read(post_stats, post_file, post_map, config.action_feature)
    return LeRobotNormalizer(inputs, action, layout="processor", eps=eps,
                             source=f"{pre_file.name}, {post_file.name}")


def _normalizer_step(json_path: Path, registry_name: str) -> tuple[dict, dict[str, Tensor], Path]:
    """(step config, flat statistics, statistics file) of the pipeline step named `registry_name`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        pipeline = json.loads(json_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlannerError(f"{json_path}: cannot read processor pipeline ({exc})") from None
    steps = pipeline.get("steps") if isinstance(pipeline, dict) else None
    if not isinstance(steps, list):
        raise PlannerError(f"{json_path}: not a LeRobot processor pipeline (no 'steps' list)")
    step = next((s for s in steps if isinstance(s, dict) and s.get("registry_name") == registry_name), None)
    if step is None:
        raise PlannerError(f"{json_path}: no {registry_name!r} step (the normalisation statistics)")
    state_file = step.get("state_file")
    if not isinstance(state_file, str) or not state_file:
        raise PlannerError(f"{json_path}: the {registry_name!r} step names no state_file with its statistics")
    stats_path = json_path.parent / state_file
    if not stats_path.is_file():
        raise PlannerError(f"{stats_path}: missing (named by {json_path.name}'s {registry_name} step)")
    try:
        stats = load_file(str(stats_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise PlannerError(f"{stats_path}: not a readable safetensors file ({exc})") from None
    config = step.get("config") if isinstance(step.get("config"), dict) else {}
    return config, stats, stats_path


def _check_shape(value: Tensor, feature: Feature, key: str, path: Path) -> Tensor:
    """Statistics must broadcast to the feature: [d] for vectors, [3, 1, 1] (or [3, H, W]) for images."""
    if feature.type == "VISUAL":
        ok = value.dim() == 3 and value.shape[0] == feature.shape[0] and \
            value.shape[1:] in ((1, 1), tuple(feature.shape[1:]))
    else:
        ok = tuple(value.shape) == tuple(feature.shape)
    if not ok:
        raise PlannerError(f"{path}: statistic {key!r} has shape {list(value.shape)}, feature "
                           f"{feature.name} has shape {list(feature.shape)}")
    return value.contiguous()
