"""Perturbations: validation, serialisation, composition, and their effect on a rollout."""
import numpy as np
import pytest

from scenes import make_scene
from scenes.api import SceneError
from scenes.perturbations import PERTURBATION_KEYS, Perturbation, parse_perturbation


def test_validation_names_the_valid_keys():
    with pytest.raises(SceneError, match="unknown perturbation 'gust'; valid: " +
                       ", ".join(PERTURBATION_KEYS)):
        Perturbation.from_dict({"gust": 1})
    for bad in ({"delay": 1.5}, {"mass": 0}, {"obs_noise": -1}, {"friction": "x"}):
        with pytest.raises(SceneError):
            Perturbation.from_dict(bad)
    with pytest.raises(SceneError, match="KEY=VALUE"):
        parse_perturbation(["delay"])


def test_serialises_and_composes():
    pert = Perturbation.from_dict(parse_perturbation(["obs_noise=0.01", "delay=2", "mass=2"]))
    assert pert.to_dict() == {"obs_noise": 0.01, "delay": 2, "mass": 2.0}
    assert Perturbation.from_dict(pert.to_dict()) == pert
    both = pert.compose(Perturbation(obs_noise=0.01, delay=1, mass=0.5))
    assert both.delay == 3 and both.mass == 1.0 and np.isclose(both.obs_noise, np.sqrt(2) * 0.01)
    assert Perturbation().to_dict() == {} and not Perturbation().active


def test_effects_are_seeded_and_recorded():
    plain = make_scene("mug_grasp")
    shaken = make_scene("mug_grasp", perturb={"obs_noise": 0.01, "delay": 2, "pose_shift": 0.03,
                                             "mass": 2.0, "friction": 0.5})
    try:
        base, a = plain.reset(4), shaken.reset(4)
        assert np.isclose(np.linalg.norm(a["mug_pos"][:2] - base["mug_pos"][:2]), 0.03, atol=0.012)
        np.testing.assert_array_equal(shaken.reset(4)["mug_pos"], a["mug_pos"])   # seeded
        mass = shaken.p.getDynamicsInfo(shaken.bodies["mug"], -1, physicsClientId=shaken.client)[0]
        assert np.isclose(mass, 0.5)
        ee = shaken.robot.ee_pos()   # the observation is noisy
        chunk = np.array([[ee[0], ee[1], ee[2] - 0.02 * (i + 1), 1.0] for i in range(4)])
        result = shaken.step(chunk)
        applied = np.stack(result.action_trace)
        # delay=2: the first two executed actions are the hold pose, then the chunk's first rows
        np.testing.assert_allclose(applied[2:, :3], chunk[:2, :3], atol=1e-6)
        np.testing.assert_allclose(applied[0, :3], ee, atol=1e-3)
        assert shaken.perturbation.to_dict()["delay"] == 2
        assert shaken.get_state().size == plain.get_state().size + 2 * 4
    finally:
        plain.close()
        shaken.close()
