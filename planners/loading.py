"""load_planner(): a checkpoint directory, a built-in name, or `module:attr` -> a Planner.

    load_planner("resources/checkpoints/mug_grasp_diffusion")   # checkpoint directory
    load_planner("probe")                                       # the teaching probe
    load_planner("examples.gmm_policy:make_planner")            # a plugin: object, class or factory

A plugin attribute may be an object with `plan` and `spec`, or a zero-argument callable
(class or factory) returning one. torch is imported only when a checkpoint is loaded.
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from planners.protocol import PlannerError, PlannerSpec

BUILTINS = ("probe",)


def load_planner(source: str | os.PathLike, *, device: str = "cpu", chain_dtype: str = "float32"):
    """Resolve `source` (see module doc) to an object implementing the Planner protocol."""
    text = str(source)
    if text in BUILTINS and not Path(text).exists():
        from planners.probe import ProbePlanner
        return ProbePlanner()
    path = Path(text)
    if path.exists() or not _looks_like_plugin(text):
        return load_checkpoint(path, device=device, chain_dtype=chain_dtype)
    return load_plugin(text)


def load_checkpoint(path: str | Path, *, device: str = "cpu", chain_dtype: str = "float32"):
    """A DiffusionPlanner or RegressionPlanner from a checkpoint directory."""
    from planners.checkpoint import load_state, read_checkpoint

    ckpt = read_checkpoint(path)
    kind, cfg = ckpt["config"]["kind"], ckpt["config"].get("model", {})
    extra = {"checkpoint": str(Path(path).resolve()), "training": ckpt["training"],
             "data_mode_shares": ckpt["training"].get("data", {}).get("mode_shares", {})}
    name = ckpt["config"].get("name") or Path(path).name
    try:
        if kind == "diffusion":
            from planners.diffusion.config import DiffusionConfig
            from planners.diffusion.policy import DiffusionPlanner
            from planners.diffusion.unet import ConditionalUnet1D
            config = DiffusionConfig.from_json(cfg)
            model = ConditionalUnet1D(config)
            load_state(model, ckpt["state_dict"], ckpt["path"])
            return DiffusionPlanner(config, model, ckpt["obs_normalizer"], ckpt["action_normalizer"],
                                    name=name, device=device, chain_dtype=chain_dtype, extra=extra)
        from planners.regression.model import RegressionConfig, RegressionMLP
        from planners.regression.policy import RegressionPlanner
        config = RegressionConfig.from_json(cfg)
        model = RegressionMLP(config)
        load_state(model, ckpt["state_dict"], ckpt["path"])
        return RegressionPlanner(config, model, ckpt["obs_normalizer"], ckpt["action_normalizer"],
                                 name=name, device=device, extra=extra)
    except (TypeError, ValueError) as exc:
        raise PlannerError(f"{Path(path) / 'config.json'}: invalid model config ({exc})") from None


def load_plugin(spec: str):
    """`module:attr` -> a planner object (calling attr when it is a class or factory)."""
    module_name, _, attr_path = spec.partition(":")
    if not module_name or not attr_path:
        raise PlannerError(f"policy {spec!r}: expected a checkpoint directory or module:attr")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())   # so `examples.gmm_policy:...` works from the project root
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise PlannerError(f"policy {spec!r}: cannot import module {module_name!r} ({exc})") from None
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            raise PlannerError(f"policy {spec!r}: module {module_name!r} has no attribute {attr_path!r}")
        obj = getattr(obj, part)
    if isinstance(obj, type) or (not hasattr(obj, "plan") and callable(obj)):   # class or factory
        try:
            obj = obj()
        except Exception as exc:  # a user's factory: report its failure in one line
            raise PlannerError(f"policy {spec!r}: calling {attr_path}() failed: {type(exc).__name__}: {exc}") from None
    if not callable(getattr(obj, "plan", None)):
        raise PlannerError(f"policy {spec!r}: {type(obj).__name__} has no plan() method (Planner protocol)")
    if not isinstance(getattr(obj, "spec", None), PlannerSpec):
        raise PlannerError(f"policy {spec!r}: {type(obj).__name__} has no `spec: PlannerSpec` attribute")
    return obj


def _looks_like_plugin(text: str) -> bool:
    module, sep, attr = text.partition(":")
    return bool(sep) and bool(attr) and all(p.isidentifier() for p in module.split(".")) and \
        all(p.isidentifier() for p in attr.split("."))
