"""The new user's path (issue 15): `planscope collect` demos -> `planscope export demos.h5 --to
lerobot out/` -> `planscope sample --policy <shipped> --data out/ --episode 3 --frame 10` with no
other step; the recording and its export give the policy the same observation and the same
demonstrated chunk; bad frames and unmappable features are one line and exit 2."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main

CKPT = "resources/checkpoints/mug_grasp_diffusion"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("new_user")
    demos, out = root / "demos.h5", root / "out"
    assert main(["collect", "--scene", "mug_grasp", "--episodes", "5", "--workers", "1",
                 "--quiet", "--out", str(demos)]) == 0
    assert main(["export", str(demos), "--to", "lerobot", str(out)]) == 0
    return demos, out


def test_sample_the_shipped_policy_at_episode_3_frame_10_of_the_export(exported, capsys):
    _, out = exported
    capsys.readouterr()
    assert main(["sample", "--policy", CKPT, "--data", str(out), "--episode", "3", "--frame",
                 "10", "--num", "16", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert (s["episode"], s["frame"], s["num_samples"], s["horizon"], s["action_dim"]) == \
        (3, 10, 16, 16, 4)
    assert s["neighbours"] == 4                  # one frame from each other episode
    assert {f["episode"] for f in s["nearest_frames"]} == {0, 1, 2, 4}
    assert s["compared_against"].startswith("the 4 nearest frames of out")
    assert s["compared_against"] in s["reason"]
    assert s["verdict"] and sum(m["data_share"] for m in s["modes"]) == pytest.approx(1.0)
    assert s["demo_dist_nearest"] is not None and s["demo_dist_nearest"] >= 0
    capsys.readouterr()
    assert main(["sample", "--policy", CKPT, "--data", str(out), "--episode", "3", "--frame",
                 "10", "--num", "8"]) == 0
    text = capsys.readouterr().out
    assert "episode 3, frame 10" in text and "verdict:" in text


def test_recording_and_export_give_the_same_observation_and_demo(exported):
    from app.core.inspector.dataset_source import DatasetSource
    from planners import load_planner

    demos, out = exported
    planner = load_planner(CKPT)
    a, b = DatasetSource(demos, planner), DatasetSource(out, planner)
    for ep, t in ((3, 10), (0, 0), (4, 29)):
        oa, ob = a.observation(ep, t), b.observation(ep, t)
        assert list(oa) == [f.name for f in planner.spec.features] == list(ob)
        for k in oa:
            np.testing.assert_allclose(oa[k], ob[k], atol=1e-6)
        (da, ma), (db, mb) = a.demo(ep, t), b.demo(ep, t)
        np.testing.assert_allclose(da, db, atol=1e-6)
        np.testing.assert_array_equal(ma, mb)
    demo, mask = a.demo(4, a.ds.episodes[4].length - 3)      # 3 steps left, then padded
    assert mask.tolist() == [True] * 3 + [False] * 13
    np.testing.assert_array_equal(demo[3:], np.repeat(demo[2:3], 13, axis=0))


def test_bad_frame_and_unmappable_features_are_one_line(exported, tmp_path, capsys):
    from tests.app.core.scan.conftest import write_bimodal_recording

    _, out = exported
    capsys.readouterr()
    assert main(["sample", "--policy", CKPT, "--data", str(out), "--episode", "9", "--frame",
                 "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no episode 9" in err and "5 episodes" in err
    assert main(["sample", "--policy", CKPT, "--data", str(out), "--episode", "1", "--frame",
                 "500"]) == 2
    assert "episode 1 has no frame 500" in capsys.readouterr().err
    other = write_bimodal_recording(tmp_path / "other.h5", episodes=2)
    assert main(["sample", "--policy", CKPT, "--data", other, "--episode", "0", "--frame",
                 "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "other.h5" in err and "mug_grasp_diffusion" in err
    assert "gripper" in err and "ee_pos" in err          # both sides named
    assert main(["sample", "--policy", CKPT, "--data", str(out), "--episode", "1"]) == 2
    assert "--data DS --episode E --frame F" in capsys.readouterr().err


def test_snapshot_refuses_a_missing_data_set_in_one_line(tmp_path, capsys):
    assert main(["snapshot", "--data", str(tmp_path / "nope"), "--out",
                 str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope" in err and not (tmp_path / "x.png").exists()
