"""Scene registry: `make_scene(name, **options)` with errors that list what is valid."""
from __future__ import annotations

import importlib
import inspect
from typing import Any

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
