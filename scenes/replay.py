"""Put a recorded state into a live scene whose state layout differs only in the delay tail.

A scene's state vector (BulletScene.get_state) is the scene's own part (bodies, joints, step
count, task flags) followed by the actions still pending under a delay perturbation
(`delay * ACTION_DIM` values). A rollout recorded with delay=2 has 8 more values than the same
scene made without the delay, so `set_state` of the nominal scene rejects it. Replay only draws
recorded states (it never steps from them), so the pending tail is carried over as far as the
live scene has room and padded with zeros (hold) otherwise; the scene's own part must match
exactly, or the state belongs to another scene and a clear SceneError says so.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from scenes.api import ACTION_DIM, SceneError


def live_pending(scene: Any) -> int:
    """Number of delayed actions the live scene's state carries (0 without a delay)."""
    perturbation = getattr(scene, "perturbation", None)
    return int(getattr(perturbation, "delay", 0) or 0)


def fit_state(state: np.ndarray, layout: dict | None, live_size: int, live_delay: int) -> np.ndarray:
    """Recorded state [S_rec] -> [live_size] float64 for a scene whose delay tail holds
    `live_delay` actions. layout: {"pending_actions": k, "action_dim": D} of the recording
    (None: assume the live layout). Raises SceneError naming both sizes when they cannot match."""
    state = np.asarray(state, dtype=np.float64).reshape(-1)
    layout = layout or {}
    dim = int(layout.get("action_dim") or ACTION_DIM)
    pending = int(layout.get("pending_actions", live_delay) or 0)
    base = live_size - live_delay * ACTION_DIM
    expected = base + pending * dim
    if state.size != expected or base <= 0:
        raise SceneError(f"recorded state has {state.size} values but this scene's own part has "
                         f"{base} and the rollout's layout adds {pending} pending actions of {dim} "
                         f"(= {expected}): it was recorded in another scene or scene version")
    if pending == live_delay and dim == ACTION_DIM:
        return state
    tail = np.zeros((live_delay, ACTION_DIM), dtype=np.float64)
    recorded = state[base:].reshape(pending, dim)
    keep = min(live_delay, pending)
    width = min(dim, ACTION_DIM)
    if keep:
        tail[:keep, :width] = recorded[:keep, :width]
    return np.concatenate([state[:base], tail.reshape(-1)])


def set_recorded_state(scene: Any, state: np.ndarray, layout: dict | None) -> None:
    """scene.set_state(fit_state(...)) for a live scene of any delay."""
    size = int(getattr(scene, "state_size", np.asarray(state).size))
    scene.set_state(fit_state(state, layout, size, live_pending(scene)))
