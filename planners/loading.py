"""load_planner(): the ONE loader. A checkpoint, a built-in name, or `module:attr` -> a Planner.

    load_planner("resources/checkpoints/mug_grasp_diffusion")   # planscope checkpoint directory
    load_planner("probe")                                       # the teaching probe
    load_planner("examples.gmm_policy:make_planner")            # a plugin: object, class or factory

Dispatch is the list LOADERS of (name, detect, load) entries, tried in order: the first whose
detect(text, path) is True loads. Another format is one entry (a detector that looks at the
files cheaply, and a loader returning a planner); a path that no detector claims is read as a
planscope checkpoint, whose reader names what is missing. Every result's spec is checked
(planners.protocol.check_spec); a plugin is wrapped in planners.plugin.PluginPlanner.
torch is imported only when a checkpoint is loaded.
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any, Callable

from planners.protocol import PlannerError, check_spec

BUILTINS = ("probe",)

Detect = Callable[[str, Path], bool]
Load = Callable[..., Any]          # load(text, *, device, chain_dtype) -> planner


def load_planner(source: str | os.PathLike, *, device: str = "cpu", chain_dtype: str = "float32"):
    """Resolve `source` (see module doc) to an object implementing the Planner protocol."""
    text = str(source)
    path = Path(text)
    for _name, detect, load in LOADERS:
        if detect(text, path):
            planner = load(text, device=device, chain_dtype=chain_dtype)
            break
    else:
        data = data_set_kind(path)
        if data:
            raise PlannerError(f"{text}: this is a data set ({data}), not a policy; open it as data "
                               "(--data, or File > Open Data Set...) and give a policy checkpoint")
        planner = load_checkpoint(path, device=device, chain_dtype=chain_dtype)
    check_spec(planner.spec, text)
    return planner


def data_set_kind(path: Path) -> str:
    """What kind of data set `path` cheaply looks like ('' when none): users pass a data set where
    a policy goes, and 'checkpoint file config.json is missing' did not tell them why."""
    if path.is_file() and path.suffix.lower() in (".h5", ".hdf5"):
        return "an HDF5 recording"
    if not path.is_dir():
        return ""
    if (path / "meta" / "info.json").is_file():
        return "a LeRobot data set folder"
    if path.suffix == ".zarr" or ((path / "data").is_dir() and (path / "meta").is_dir()
                                  and any((path / n).exists() for n in (".zgroup", "zarr.json"))):
        return "a zarr replay buffer"
    return ""


def load_builtin(text: str, **_: Any):
    from planners.probe import ProbePlanner
    return ProbePlanner()


def load_checkpoint(path: str | Path, *, device: str = "cpu", chain_dtype: str = "float32"):
    """A DiffusionPlanner or RegressionPlanner from a planscope checkpoint directory."""
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
        from planners.regression.config import RegressionConfig
        from planners.regression.model import RegressionMLP
        from planners.regression.policy import RegressionPlanner
        config = RegressionConfig.from_json(cfg)
        model = RegressionMLP(config)
        load_state(model, ckpt["state_dict"], ckpt["path"])
        return RegressionPlanner(config, model, ckpt["obs_normalizer"], ckpt["action_normalizer"],
                                 name=name, device=device, extra=extra)
    except (TypeError, ValueError) as exc:
        raise PlannerError(f"{Path(path) / 'config.json'}: invalid model config ({exc})") from None


def load_plugin(spec: str, **_: Any):
    """`module:attr` -> the planner object (attr called when it is a class or factory), wrapped
    in PluginPlanner (older form adapted, errors in one line, batches checked)."""
    from planners.plugin import PluginPlanner

    module_name, _, attr_path = spec.partition(":")
    if not module_name or not attr_path:
        raise PlannerError(f"policy {spec!r}: expected a checkpoint directory or module:attr")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())   # so `examples.gmm_policy:...` works from the project root
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise PlannerError(f"policy {spec!r}: cannot import module {module_name!r} ({exc})") from None
    except Exception as exc:   # a user's module failing at import: one line
        raise PlannerError(f"policy {spec!r}: importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
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
    if not hasattr(obj, "spec"):
        raise PlannerError(f"policy {spec!r}: {type(obj).__name__} has no `spec: PlannerSpec` attribute")
    return PluginPlanner(obj, spec)


def is_builtin(text: str, path: Path) -> bool:
    return text in BUILTINS and not path.exists()


def looks_like_plugin(text: str, path: Path) -> bool:
    module, sep, attr = text.partition(":")
    return not path.exists() and bool(sep) and bool(attr) and \
        all(p.isidentifier() for p in module.split(".")) and all(p.isidentifier() for p in attr.split("."))


def is_planscope_checkpoint(text: str, path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file() and (path / "normalizer.json").is_file()


def is_dp_checkpoint(text: str, path: Path) -> bool:
    """A diffusion_policy workspace checkpoint: a `.ckpt` file (read by planners.diffusion_policy)."""
    return path.suffix == ".ckpt" and path.is_file()


def load_dp(text: str, *, device: str = "cpu", chain_dtype: str = "float32"):
    from planners.diffusion_policy.loading import load_dp_checkpoint
    return load_dp_checkpoint(text, device=device, chain_dtype=chain_dtype)


def is_lerobot_policy(text: str, path: Path) -> bool:
    from planners.lerobot.config import is_lerobot_folder
    return is_lerobot_folder(path)


def load_lerobot(text: str, *, device: str = "cpu", chain_dtype: str = "float32"):
    """A LeRobot `pretrained_model/` folder (config.json with "type") -> LeRobotPlanner."""
    from planners.lerobot.loading import load_lerobot_policy
    return load_lerobot_policy(Path(text), device=device, chain_dtype=chain_dtype)


# (name, detect, load), tried in order. Adapters for other libraries' files add an entry here.
LOADERS: list[tuple[str, Detect, Load]] = [
    ("built-in", is_builtin, load_builtin),
    ("planscope checkpoint", is_planscope_checkpoint, load_checkpoint),
    ("LeRobot pretrained_model", is_lerobot_policy, load_lerobot),
    ("diffusion_policy .ckpt", is_dp_checkpoint, load_dp),
    ("plugin module:attr", looks_like_plugin, load_plugin),
]
