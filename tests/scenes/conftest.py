"""Shared fixtures: one mug_grasp scene per test module (building one costs ~0.3 s)."""
import pytest


@pytest.fixture(scope="module")
def mug():
    from scenes import make_scene
    scene = make_scene("mug_grasp")
    yield scene
    scene.close()


def run_expert(scene, seed, mode):
    """Run the scripted expert in `mode` to the end; returns (success, actions [T,4], states, obs)."""
    import numpy as np
    from scenes import make_expert
    mix = [1.0 if m == mode else 0.0 for m in scene.modes]
    obs = scene.reset(seed)
    expert = make_expert(scene, mode_mix=mix, seed=seed)
    actions, states, obs_rows, events, success = [], [], [], [], False
    while True:
        chunk = expert.act(obs)[:8]
        result = scene.step(chunk)
        actions.append(chunk[:len(result.action_trace)])
        states += result.state_trace
        obs_rows += result.obs_trace
        events += result.events
        success, obs = success or result.success, result.obs
        if result.done:
            return success, np.concatenate(actions), states, obs_rows, events
