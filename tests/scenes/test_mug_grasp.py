"""mug_grasp: determinism, exact state restore, drawing data, expert, modes, feasibility."""
import os

import numpy as np
import pytest

from scenes import make_expert, make_scene
from scenes.api import PLAN_HORIZON, Scene, SceneError, flat_obs
from tests.scenes.conftest import run_expert


def test_scene_satisfies_protocol(mug):
    assert isinstance(mug, Scene)
    assert mug.modes == ("left", "right")
    obs = mug.reset(0)
    assert flat_obs(obs, mug.obs_spec).shape == (9,)


def test_same_seed_gives_identical_arrays(mug):
    first = run_expert(mug, 11, "left")
    second = run_expert(mug, 11, "left")
    np.testing.assert_array_equal(first[1], second[1])
    np.testing.assert_array_equal(np.stack(first[2]), np.stack(second[2]))
    other = mug.reset(12)["mug_pos"]
    assert not np.array_equal(mug.reset(11)["mug_pos"], other)


def test_set_state_restores_every_recorded_step(mug):
    _, _, states, obs_rows, _ = run_expert(mug, 3, "right")
    for state, obs in zip(states, obs_rows):
        mug.set_state(state)
        # Exact apart from PyBullet renormalising quaternions (<= 1 ulp).
        np.testing.assert_allclose(mug.get_state(), state, rtol=0, atol=1e-15)
        again = mug.observe()
        for key in obs:
            np.testing.assert_array_equal(again[key], obs[key])
    with pytest.raises(SceneError, match="expected"):
        mug.set_state(np.zeros(3))


def test_describe_matches_link_poses(mug):
    mug.reset(0)
    desc = mug.describe()
    poses = mug.link_poses()
    assert poses.shape == (len(desc.links), 7)
    assert {link.body for link in desc.links} == {"table", "panda", "mug"}
    meshes = [s.mesh_file for link in desc.links for s in link.shapes if s.kind == "mesh"]
    assert meshes and all(os.path.isabs(m) and os.path.isfile(m) for m in meshes)
    np.testing.assert_allclose(np.linalg.norm(poses[:, 3:], axis=1), 1.0, atol=1e-6)
    mug_row = [i for i, link in enumerate(desc.links) if link.body == "mug"][0]
    np.testing.assert_allclose(poses[mug_row, :3], mug.observe()["mug_pos"], atol=1e-6)


def test_camera_image_shows_the_scene(mug):
    mug.reset(0)
    image = mug.camera_image("front", 160, 120)
    assert image.shape == (120, 160, 3) and image.dtype == np.uint8
    assert image.reshape(-1, 3).std(axis=0).max() > 20   # not a blank frame
    with pytest.raises(SceneError, match="valid: front"):
        mug.camera_image("nope")


@pytest.mark.parametrize("mode", ["left", "right"])
def test_expert_succeeds_and_label_agrees(mug, mode):
    for seed in (0, 1, 2):
        success, actions, states, _, events = run_expert(mug, seed, mode)
        assert success, (mode, seed, events)
        mug.set_state(states[0])
        assert mug.label_mode(actions) == mode
        assert any(e.kind == "success" for e in events)


def test_averaged_path_collides_with_the_mug(mug):
    obs = mug.reset(5)
    expert = make_expert(mug, seed=5)
    left, right = (expert.plan_for(obs, m, horizon=40) for m in ("left", "right"))
    before = mug.get_state()
    assert mug.check_plan(left).feasible and mug.check_plan(right).feasible
    check = mug.check_plan((left + right) / 2)
    assert not check.feasible
    assert "mug" in check.collides_with and check.first_bad_waypoint >= 0
    assert mug.label_mode((left + right) / 2) == ""
    assert mug.clearance((left + right) / 2) < 0 < mug.clearance(left)
    np.testing.assert_array_equal(mug.get_state(), before)   # the live scene is untouched


def test_check_plan_flags_table_and_reach(mug):
    mug.reset(0)
    plan = np.tile([0.35, 0.0, 0.2, 1.0], (PLAN_HORIZON, 1))
    plan[5, 2] = -0.03                      # fingers into the table
    plan[9, :3] = [0.8, 0.4, 0.55]          # out of the arm's reach
    check = mug.check_plan(plan)
    assert check.collides_with[5] == "table"
    assert check.unreachable[9] and not check.unreachable[0]
    assert check.first_bad_waypoint == 5 and not check.feasible


def test_mode_draw_follows_the_mix(mug):
    for mix in ((0.5, 0.5), (0.7, 0.3)):
        modes = [make_expert(mug, mode_mix=mix, seed=s).mode for s in range(100)]
        assert abs(modes.count("left") / 100 - mix[0]) <= 0.1


def test_bad_input_is_one_clear_error(mug, tmp_path):
    with pytest.raises(SceneError, match="valid: mug_grasp"):
        make_scene("no_such_scene")
    with pytest.raises(SceneError, match="valid: .*camera"):
        make_scene("mug_grasp", colour="red")
    with pytest.raises(SceneError, match="scene asset not found: .*table.urdf"):
        make_scene("mug_grasp", asset_root=str(tmp_path))
    with pytest.raises(SceneError, match="valid: obs_noise"):
        make_scene("mug_grasp", perturb={"wind": 1})
    with pytest.raises(SceneError, match="action chunk"):
        mug.step(np.zeros((3, 2)))
    with pytest.raises(SceneError, match="mode mix"):
        make_expert(mug, mode_mix=(1.0,))


def test_driving_into_the_table_ends_with_a_contact_event(mug):
    obs = mug.reset(0)
    ee = obs["ee_pos"]
    path = np.array([[ee[0], ee[1], z, 1.0] for z in np.linspace(0.25, -0.05, 12)])
    result = mug.step(path)
    assert result.done and not result.success
    kinds = {(e.kind, e.bodies) for e in result.events}
    assert ("contact", ("panda", "table")) in kinds


def test_camera_option_adds_an_image_outside_the_flat_vector():
    scene = make_scene("mug_grasp", camera=True)
    try:
        obs = scene.reset(1)
        assert obs["image"].shape == (240, 320, 3)
        assert flat_obs(obs, scene.obs_spec).shape == (9,)
        result = scene.step(np.tile(np.append(obs["ee_pos"], 1.0), (2, 1)))
        assert len(result.obs_trace) == 2 and "image" in result.obs_trace[1]
        np.testing.assert_array_equal(result.obs["image"], scene.camera_image("front"))
    finally:
        scene.close()


def test_set_object_pose_moves_the_mug_at_rest_and_keeps_its_height(mug):
    obs = mug.reset(4)
    height = float(obs["mug_pos"][2])
    mug.set_object_pose(0.6, -0.1, 0.5)
    moved = mug.observe()
    np.testing.assert_allclose(moved["mug_pos"], [0.6, -0.1, height], atol=1e-9)
    np.testing.assert_allclose(moved["mug_yaw"], [np.cos(0.5), np.sin(0.5)], atol=1e-6)
    reach = make_scene("obstacle_reach")
    try:
        reach.reset(0)
        with pytest.raises(SceneError, match="no task object"):
            reach.set_object_pose(0.5, 0.0, 0.0)
    finally:
        reach.close()
