"""One scene -> policy feature mapping (app/core/scene_features.py) for the inspector,
`planscope sample` and `planscope eval`: a real LeRobot 0.4.4 DiffusionPolicy trained on planscope's
own export of mug_grasp (tests/app/qt/inspector/fixtures/lerobot_mug_grasp; features
observation.state [4], observation.environment_state [5], To=2) samples and evaluates through the
CLI, and a scene that cannot feed it is refused in one line naming both sides (exit 2)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.core.scene_features import policy_observation, scene_feature_map
from planners.protocol import PlannerError, check_compatible
from recordings.reader import RecordingReader

ROOT = Path(__file__).resolve().parents[3]
POLICY = str(ROOT / "tests/app/qt/inspector/fixtures/lerobot_mug_grasp/pretrained_model")


@pytest.fixture(scope="module")
def mug_policy():
    from planners import load_planner
    return load_planner(POLICY)


class FakeMugScene:
    """mug_grasp's observation layout (no physics needed to check the mapping)."""
    name = "mug_grasp"
    obs_spec = (("ee_pos", 3), ("gripper", 1), ("mug_pos", 3), ("mug_yaw", 2))
    cameras = ("front",)


def test_history_maps_each_frame_onto_lerobot_names(mug_policy):
    spec = mug_policy.spec
    with pytest.raises(PlannerError):          # the old check alone refuses planscope's own export
        check_compatible(spec, "mug_grasp", FakeMugScene.obs_spec)
    fmap = scene_feature_map(spec, FakeMugScene())
    frames = [{"ee_pos": np.full(3, 0.1 * i, np.float32), "gripper": np.array([i], np.float32),
               "mug_pos": np.full(3, 1.0 + i, np.float32), "mug_yaw": np.array([i, -i], np.float32)}
              for i in range(3)]
    obs = policy_observation(spec, fmap, frames, None)
    assert set(obs) == {"observation.state", "observation.environment_state"}
    # To=2: the last two frames, oldest first, each concatenated in the scene's key order
    np.testing.assert_array_equal(obs["observation.state"],
                                  np.float32([[0.1, 0.1, 0.1, 1], [0.2, 0.2, 0.2, 2]]))
    np.testing.assert_array_equal(obs["observation.environment_state"],
                                  np.float32([[2, 2, 2, 1, -1], [3, 3, 3, 2, -2]]))


def test_sample_cli_plans_with_a_lerobot_policy_trained_on_planscope_export(capsys):
    rc = main(["sample", "--policy", POLICY, "--scene", "mug_grasp", "--seed", "0", "--num", "8", "--json"])
    out = capsys.readouterr().out
    assert rc == 0, out
    summary = json.loads(out)
    assert summary["policy"] == "lerobot_mug_grasp" and summary["num_samples"] == 8
    assert summary["nonfinite_samples"] == 0
    assert sum(m["count"] for m in summary["modes"]) + summary["no_mode"]["count"] == 8


def test_eval_cli_feeds_the_same_mapping_in_its_workers(tmp_path, mug_policy):
    out = tmp_path / "run.h5"
    rc = main(["eval", "--policy", POLICY, "--scene", "mug_grasp", "--seeds", "0:2", "--record-samples", "2",
               "--solver", "ddim", "--steps", "4", "--max-steps", "8", "--workers", "1", "--quiet",
               "--out", str(out)])
    assert rc == 0
    from app.core.evaluation.config import RolloutSettings
    from app.core.evaluation.runner import clear_caches, make_scene, planner_seed, sample_plans
    with RecordingReader(out) as r:
        assert len(r) == 2 and sorted(r.rollout(i).seed for i in range(2)) == [0, 1]
        first = {r.rollout(i).seed: r.rollout(i).replans[0].samples for i in range(2)}
    # the worker's first replan is what the mapped reset observation gives in this process
    settings = RolloutSettings(scene="mug_grasp", record_samples=2, solver="ddim", steps=4, max_steps=8)
    try:
        scene = make_scene("mug_grasp", {}, {})
        for seed, samples in first.items():
            obs = scene.reset(seed)
            batch = sample_plans(mug_policy, [obs], settings, planner_seed(seed, 0), scene)
            assert np.asarray(samples).shape == (2, 16, 4)
            np.testing.assert_allclose(samples, batch.plans, atol=1e-5)
    finally:
        clear_caches()


@pytest.mark.parametrize("command", ["sample", "eval"])
def test_a_scene_that_cannot_feed_it_is_refused_naming_both_sides(command, tmp_path, capsys):
    out = tmp_path / "run.h5"
    args = (["sample", "--policy", POLICY, "--scene", "obstacle_reach", "--seed", "0", "--num", "2"]
            if command == "sample" else
            ["eval", "--policy", POLICY, "--scene", "obstacle_reach", "--seeds", "0:2", "--quiet",
             "--out", str(out)])
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'lerobot_mug_grasp'" in err and "'obstacle_reach'" in err and "observation.environment_state" in err
    assert not out.exists()
