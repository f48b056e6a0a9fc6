"""Checkpoint directories: config.json + model.safetensors + normalizer.json + training.json.

    DIR/config.json        {"format": "planscope-checkpoint", "format_version": 1, "kind": ...,
                            "name": ..., "model": <the kind's config dataclass as JSON>}
    DIR/model.safetensors  weights (the EMA weights for diffusion); never a pickle
    DIR/normalizer.json    {"obs": minmax, "action": minmax} (planners/normalizer.py)
    DIR/training.json      training config, data file sha256 + summary, provenance; its "data"
                           also holds scene_options, perturb and obs_range (planners/training.py;
                           absent in older checkpoints, which load with the scene's defaults)

Loading never unpickles anything; every failure is a PlannerError naming the file and the problem.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from planners.normalizer import MinMaxNormalizer
from planners.protocol import PlannerError

FORMAT = "planscope-checkpoint"
FORMAT_VERSION = 1
KINDS = ("diffusion", "regression")
FILES = ("config.json", "model.safetensors", "normalizer.json", "training.json")


def save_checkpoint(out_dir: str | Path, *, kind: str, name: str, model_config: dict, state_dict: dict,
                    obs_normalizer: MinMaxNormalizer, action_normalizer: MinMaxNormalizer,
                    training: dict) -> Path:
    """Write a checkpoint directory atomically (built in a temp dir beside it, then renamed)."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    _write_json(tmp / "config.json", {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind,
                                      "name": name, "model": model_config})
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": FORMAT, "kind": kind})
    _write_json(tmp / "normalizer.json", {"obs": obs_normalizer.to_json(), "action": action_normalizer.to_json()})
    _write_json(tmp / "training.json", training)
    if out_dir.exists():
        _replace_dir(out_dir, tmp)
    else:
        os.replace(tmp, out_dir)
    return out_dir


def read_checkpoint(path: str | Path) -> dict:
    """Read and validate a checkpoint directory (no torch model built yet).

    Returns {"config": dict, "state_dict": {name: tensor}, "obs_normalizer", "action_normalizer",
    "training": dict, "path": Path}."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise PlannerError(f"checkpoint {str(path)!r} does not exist")
    if not path.is_dir():
        raise PlannerError(f"checkpoint {str(path)!r} is not a directory (expected config.json + model.safetensors)")
    config = _read_json(path / "config.json")
    if config.get("format") != FORMAT:
        raise PlannerError(f"{path / 'config.json'}: not a planscope checkpoint (format {config.get('format')!r})")
    if config.get("format_version") != FORMAT_VERSION:
        raise PlannerError(f"{path / 'config.json'}: checkpoint format version {config.get('format_version')!r}, "
                           f"this planscope reads version {FORMAT_VERSION}")
    if config.get("kind") not in KINDS:
        raise PlannerError(f"{path / 'config.json'}: kind {config.get('kind')!r} is not one of {', '.join(KINDS)}")
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise PlannerError(f"checkpoint {str(path)!r} has no model.safetensors")
    try:
        state_dict = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise PlannerError(f"{weights}: corrupt weights file ({exc})") from None
    norm = _read_json(path / "normalizer.json")
    try:
        obs_norm = MinMaxNormalizer.from_json(norm["obs"])
        action_norm = MinMaxNormalizer.from_json(norm["action"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PlannerError(f"{path / 'normalizer.json'}: invalid normalizer ({exc})") from None
    training_file = path / "training.json"
    training = _read_json(training_file) if training_file.is_file() else {}
    return {"config": config, "state_dict": state_dict, "obs_normalizer": obs_norm,
            "action_normalizer": action_norm, "training": training, "path": path}


def load_state(model, state_dict: dict, path: Path) -> None:
    """Load weights into a freshly built model; PlannerError on any shape/name mismatch."""
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise PlannerError(f"{path / 'model.safetensors'}: weights do not match config.json "
                           f"({first[1].strip() if len(first) > 1 else first[0]})") from None


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise PlannerError(f"checkpoint file {str(path)!r} is missing")
    try:
        payload = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlannerError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise PlannerError(f"{path}: expected a JSON object")
    return payload


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _replace_dir(target: Path, new: Path) -> None:
    """Swap `new` into `target`'s place; the old directory is removed only after the swap."""
    import shutil
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def recorded_scene_options(spec) -> dict:
    """The scene options of a policy's training data ({} for checkpoints written before they
    were recorded, and for planners without a training record: the scene's defaults)."""
    data = (((getattr(spec, "extra", {}) or {}).get("training") or {}).get("data") or {})
    options = data.get("scene_options") or {}
    return dict(options) if isinstance(options, dict) else {}


def check_scene_options(spec, scene_name: str, options: dict, defaults: dict) -> None:
    """Refuse a policy whose training data came from another geometry of the same scene.

    options: the scene options it is run with (e.g. {"rows": 2}); defaults: {option: default}
    of the options that define the task (scenes.registry.task_option_defaults), the only ones
    compared (asset paths, cameras and perturbations do not change what the policy must do).
    Raises PlannerError naming both settings, like a policy for another scene. A planner without
    a training record (a plugin, the probe) claims no geometry and is not checked."""
    if not ((getattr(spec, "extra", {}) or {}).get("training")):
        return
    recorded = recorded_scene_options(spec)
    trained = {k: recorded.get(k, d) for k, d in defaults.items()}
    running = {k: options.get(k, d) for k, d in defaults.items()}
    differ = [k for k in defaults if str(trained[k]) != str(running[k])]
    if differ:
        def fmt(values: dict) -> str:
            return ", ".join(f"{k}={values[k]}" for k in differ)
        raise PlannerError(f"policy {getattr(spec, 'name', '?')!r} was trained on {scene_name} with "
                           f"{fmt(trained)}, not {fmt(running)} (run it with --option "
                           f"{' --option '.join(f'{k}={trained[k]}' for k in differ)})")
