"""SceneSession (Qt-free): lazy scene, play/pause stepping with a hold action, exact state."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.scene_session import SceneSession, hold_action
from tests.app.shell_fakes import FakeScene


def test_scene_is_built_lazily_and_events_are_emitted(fake_scene_session):
    events = []
    for name in ("loaded", "reset", "stepped", "state", "playing", "closed"):
        getattr(fake_scene_session.events, name).connect(lambda *_, n=name: events.append(n))
    assert not fake_scene_session.loaded
    assert fake_scene_session.scene.name == "fake"          # first access builds it
    assert events == ["loaded"] and fake_scene_session.sim_time_s == 0.0


def test_tick_steps_only_while_playing(fake_scene_session):
    session = fake_scene_session
    session.load()
    assert session.tick() is False and session.step_count == 0
    session.set_playing(True)
    assert session.tick() and session.tick()
    assert session.step_count == 2 and session.sim_time_s == pytest.approx(0.2)
    session.set_playing(False)
    assert session.tick() is False


def test_hold_action_keeps_the_end_effector_where_it_is():
    obs = {"ee_pos": np.array([0.4, -0.1, 0.3]), "gripper": np.array([0.0])}
    np.testing.assert_allclose(hold_action(obs), [[0.4, -0.1, 0.3, 0.0]], atol=1e-6)
    with pytest.raises(KeyError, match="end-effector"):
        hold_action({"mug_pos": np.zeros(3)})


def test_state_round_trip_and_reset(fake_scene_session):
    session = fake_scene_session
    session.load()
    for _ in range(5):
        session.step()
    state, poses = session.get_state(), session.link_poses().copy()
    session.reset(seed=3)
    assert session.seed == 3 and session.step_count == 0
    assert not np.allclose(session.link_poses(), poses)
    session.set_state(state, step=5)
    np.testing.assert_allclose(session.link_poses(), poses)
    assert session.sim_time_s == pytest.approx(0.5)


def test_close_releases_the_scene():
    scene = FakeScene()
    session = SceneSession("fake", factory=lambda _n: scene)
    session.load()
    session.set_playing(True)
    session.close()
    assert scene.closed and not session.loaded and not session.playing
