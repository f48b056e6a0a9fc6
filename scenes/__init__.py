"""Scenes: PyBullet tasks with known modes, scripted experts, perturbations. No Qt, no torch.

    from scenes import make_scene, make_expert
    scene = make_scene("mug_grasp")            # or "obstacle_reach", rows=2
    obs = scene.reset(seed=0)
    expert = make_expert(scene, mode_mix=(0.5, 0.5), seed=0)
    result = scene.step(expert.act(obs)[:8])
"""
from scenes.api import SceneError  # noqa: F401
from scenes.registry import SCENES, make_scene, scene_names  # noqa: F401


def make_expert(scene, mode_mix=None, noise=None, seed=0):
    """Scripted expert for `scene` (see scenes/experts.py)."""
    from scenes.experts import make_expert as _make
    return _make(scene, mode_mix=mode_mix, noise=noise, seed=seed)
