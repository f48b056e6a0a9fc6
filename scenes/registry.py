"""Scene registry: `make_scene(name, **options)` with errors that list what is valid."""
from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable

from scenes.api import SceneError

# name -> (module, class). Modules are imported on demand so listing names costs nothing.
SCENES: dict[str, tuple[str, str]] = {
    "mug_grasp": ("scenes.mug_grasp", "MugGrasp"),
    "obstacle_reach": ("scenes.obstacle_reach", "ObstacleReach"),
}


def scene_names() -> tuple[str, ...]:
    return tuple(SCENES)


def scene_class(name: str):
    if name not in SCENES:
        raise SceneError(f"unknown scene {name!r}; valid: {', '.join(SCENES)}")
    module, cls = SCENES[name]
    return getattr(importlib.import_module(module), cls)


def scene_options(name: str) -> tuple[str, ...]:
    """Keyword options a scene accepts (its __init__ and the shared BulletScene ones)."""
    cls = scene_class(name)
    names: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for param in inspect.signature(init).parameters.values():
            if param.kind is param.KEYWORD_ONLY and param.name not in names:
                names.append(param.name)
    return tuple(names)


def task_option_defaults(name: str) -> dict[str, Any]:
    """{option: default} of the options that define the task itself (declared by the scene's own
    class, e.g. obstacle_reach rows=1), not the shared BulletScene ones (asset_root, camera,
    perturb): a policy trained with one value cannot be run with another."""
    cls = scene_class(name)
    shared: set[str] = set()
    for klass in cls.__mro__[1:]:
        init = klass.__dict__.get("__init__")
        if init is not None:
            shared |= set(inspect.signature(init).parameters)
    init = cls.__dict__.get("__init__")
    if init is None:
        return {}
    return {p.name: p.default for p in inspect.signature(init).parameters.values()
            if p.kind is p.KEYWORD_ONLY and p.name not in shared and p.default is not p.empty}


def parse_options(items: list[str] | tuple[str, ...], flag: str = "--option") -> dict[str, Any]:
    """['rows=2', 'camera=true'] -> {'rows': 2, 'camera': True}: integers, floats and true/false
    are converted, anything else stays text. SceneError for an item without '=' or a key twice."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise SceneError(f"{flag} {item!r} must look like KEY=VALUE, e.g. rows=2")
        if key in out:
            raise SceneError(f"{flag} {key!r} is given twice")
        out[key] = _option_value(value)
    return out


def _option_value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def plan_labeller(scene) -> Callable[[Any], str]:
    """plan [H, >=3] -> mode label for mode analysis: scene.label_mode, asking for the decided
    part of the mode ("L" of LL|LR) where the scene can give one (obstacle_reach rows=2: a plan
    too short to reach the second row), so such plans are compared on what they decide."""
    label = scene.label_mode
    try:
        partial = "partial" in inspect.signature(label).parameters
    except (TypeError, ValueError):
        partial = False
    return (lambda plan: label(plan, partial=True)) if partial else label


def make_scene(name: str, **options: Any):
    """Build a scene by name. Options (all scenes): asset_root=DIR (default pybullet_data),
    camera=bool (add an "image" to observations), perturb={...} (see scenes.perturbations);
    obstacle_reach also takes rows=k. Unknown names/options raise SceneError listing valid ones."""
    cls = scene_class(name)
    valid = scene_options(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise SceneError(f"scene {name!r} has no option {', '.join(map(repr, unknown))}; "
                         f"valid: {', '.join(valid)}")
    return cls(**options)
