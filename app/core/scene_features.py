"""Which scene observation feeds which policy feature: the ONE mapping the inspector,
`planscope sample` (app/core/sampling.py) and `planscope eval` (app/core/evaluation/runner.py,
in every worker) build a policy's observation through.

    fmap = scene_feature_map(spec, scene)             # or PlannerError naming both sides
    obs = policy_observation(spec, fmap, frames, scene)   # [To, ...] history first, policy's names

A policy feature is fed, in this order of rules, by
  1. the scene key of the same name and size (planscope's own policies: ee_pos [3], ...);
  2. LeRobot's names for planscope's export (recordings/formats/lerobot_export.py):
     `observation.state` = the scene's robot-state keys (ee_pos, gripper, ...) concatenated in the
     scene's order, `observation.environment_state` = its other low-dimensional keys (mug_pos,
     mug_yaw, ...); a LeRobot policy trained on `planscope export` data therefore maps;
  3. diffusion_policy's low-dimensional `obs` [d] = the scene's whole flat vector (obs_spec order);
  4. an image feature named after one of the scene's cameras (`observation.images.front`, `front`;
     `image` = the front camera, as scenes record it) = that camera rendered at the feature's
     H x W (uint8 RGB).
Anything else has no mapping: the refusal names the policy's feature and everything the scene
provides, in one line (the previous policy stays loaded).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from planners.protocol import PlannerError, check_compatible
from recordings.dataset import feature_kind

LEROBOT_STATE, LEROBOT_ENV, LEROBOT_IMAGES = "observation.state", "observation.environment_state", "observation.images."
SCENE_IMAGE = "image"          # planscope scenes record their front camera under this key
FRONT = "front"


@dataclass(frozen=True)
class Source:
    """How one policy feature is built: from scene keys (concatenated) or a camera."""
    feature: str
    keys: tuple[str, ...] = ()
    camera: str = ""
    size: tuple[int, int] = (0, 0)       # (H, W) of a rendered camera

    def describe(self) -> str:
        if self.camera:
            return f"{self.feature} ← camera {self.camera} {self.size[0]}x{self.size[1]}"
        if self.keys == (self.feature,):
            return self.feature
        return f"{self.feature} ← {' + '.join(self.keys)}"


@dataclass(frozen=True)
class FeatureMap:
    """The sources of every feature of one policy (see module doc)."""
    sources: tuple[Source, ...]

    @property
    def identity(self) -> bool:
        """True when every feature is a scene key of its own name (nothing to translate)."""
        return all(s.keys == (s.feature,) for s in self.sources)

    @property
    def cameras(self) -> tuple[str, ...]:
        return tuple(s.camera for s in self.sources if s.camera)

    def describe(self) -> str:
        return "; ".join(s.describe() for s in self.sources)

    def frame(self, obs: Mapping[str, Any], scene: Any = None) -> dict[str, np.ndarray]:
        """One scene observation (key -> array) -> {policy feature: [d] float32 | [H, W, 3] uint8}.
        Cameras are rendered by `scene.camera_image(name, width, height)`."""
        out: dict[str, np.ndarray] = {}
        for source in self.sources:
            if source.camera:
                if scene is None:
                    raise PlannerError(f"feature {source.feature!r} needs camera {source.camera!r}: no scene to render it")
                h, w = source.size
                out[source.feature] = np.asarray(scene.camera_image(source.camera, width=w, height=h), dtype=np.uint8)
            else:
                out[source.feature] = np.concatenate(
                    [np.asarray(obs[k], dtype=np.float32).reshape(-1) for k in source.keys])
        return out


def scene_key_kinds(obs_spec: Sequence[tuple[str, int]]) -> dict[str, str]:
    """{key: "state" | "environment"} by the rule planscope's LeRobot export uses."""
    return {k: ("state" if feature_kind(k, "float32", (int(s),)) == "state" else "environment") for k, s in obs_spec}


def map_scene_features(spec: Any, scene_name: str, obs_spec: Sequence[tuple[str, int]],
                       cameras: Sequence[str] = ()) -> FeatureMap | None:
    """The FeatureMap feeding `spec` from this scene, or None for a planner without features
    (the probe, the older protocol's flat vector: check_compatible has checked it).

    Raises PlannerError, one line naming both sides, when a feature has no mapping."""
    features = tuple(getattr(spec, "features", ()) or ())
    if getattr(spec, "scene", "") or getattr(spec, "older_form", False) or not features:
        check_compatible(spec, scene_name, obs_spec, cameras)   # planscope's own: trained for a scene
        if getattr(spec, "older_form", False) or not features:
            return None
    obs_spec = tuple((str(k), int(s)) for k, s in obs_spec)
    sizes = dict(obs_spec)
    kinds = scene_key_kinds(obs_spec)
    groups = {LEROBOT_STATE: [k for k, _ in obs_spec if kinds[k] == "state"],
              LEROBOT_ENV: [k for k, _ in obs_spec if kinds[k] == "environment"],
              "obs": [k for k, _ in obs_spec]}
    sources = []
    for feature in features:
        source = _source_for(feature, sizes, groups, tuple(cameras))
        if source is None:
            raise PlannerError(_refusal(spec, feature, scene_name, obs_spec, cameras, groups, sizes))
        sources.append(source)
    return FeatureMap(tuple(sources))


def scene_cameras(scene: Any) -> tuple[str, ...]:
    """The camera names a scene renders (`scene.cameras`; none for a scene without them)."""
    cameras = getattr(scene, "cameras", ())
    return tuple(cameras() if callable(cameras) else cameras or ())


def scene_feature_map(spec: Any, scene: Any) -> FeatureMap | None:
    """map_scene_features for a live scene (its name, obs_spec and cameras)."""
    return map_scene_features(spec, scene.name, tuple(scene.obs_spec), scene_cameras(scene))


def policy_observation(spec: Any, fmap: FeatureMap | None, frames: Sequence[Mapping[str, Any]],
                       scene: Any = None) -> dict[str, np.ndarray]:
    """The policy's observation {feature: [To, *shape]} from scene frames (oldest first; the last
    is the scene's current observation), under the policy's own names when `fmap` translates.
    Cameras are rendered once, from the scene now (the current frame): an older frame of the
    window reuses that image, since a past camera pose cannot be re-rendered (low-dim features
    are exact per frame)."""
    from planners.protocol import observation_from_frames
    window = list(frames)[-max(1, int(spec.n_obs_steps)):]
    if fmap is None or fmap.identity:
        return observation_from_frames(spec, window)
    current = fmap.frame(window[-1], scene)
    images = {s.feature: current[s.feature] for s in fmap.sources if s.camera}
    older = [{**_low_dim(fmap, f), **images} for f in window[:-1]]
    return observation_from_frames(spec, [*older, current])


def _low_dim(fmap: FeatureMap, obs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return FeatureMap(tuple(s for s in fmap.sources if not s.camera)).frame(obs)


def _source_for(feature: Any, sizes: dict[str, int], groups: dict[str, list[str]],
                cameras: tuple[str, ...]) -> Source | None:
    name, shape = feature.name, tuple(feature.shape)
    if feature.kind == "image":
        camera = name[len(LEROBOT_IMAGES):] if name.startswith(LEROBOT_IMAGES) else name
        camera = FRONT if camera == SCENE_IMAGE else camera
        return Source(name, camera=camera, size=(shape[0], shape[1])) if camera in cameras else None
    size = int(np.prod(shape))
    if sizes.get(name) == size:
        return Source(name, keys=(name,))
    keys = groups.get(name)
    if keys and sum(sizes[k] for k in keys) == size:
        return Source(name, keys=tuple(keys))
    return None


def _refusal(spec: Any, feature: Any, scene_name: str, obs_spec, cameras, groups, sizes) -> str:
    provided = ", ".join([f"{k}[{s}]" for k, s in obs_spec] + [f"camera {c}" for c in cameras]) or "nothing"
    text = (f"policy {spec.name!r} needs {feature.kind} feature {feature.name!r} {list(feature.shape)}; "
            f"scene {scene_name!r} provides {provided}")
    keys = groups.get(feature.name)
    if feature.kind == "image":
        why = f"no scene camera is called {feature.name.removeprefix(LEROBOT_IMAGES)!r}"
    elif keys is not None:
        have = sum(sizes[k] for k in keys)
        where = ("the scene's whole flat vector, as diffusion_policy's low-dim environments give it"
                 if feature.name == "obs" else "the scene's keys of that kind, as planscope export writes them")
        why = (f"{feature.name} would be {' + '.join(keys) or 'nothing'} [{have}] ({where}), "
               f"not [{int(np.prod(feature.shape))}]")
    else:
        why = "no scene key has that name and size"
    return f"{text} — no mapping exists: {why}"
