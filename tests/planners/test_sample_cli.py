"""`planscope sample` end to end on mug_grasp (a real scene), with the example plugin policy and
a regression baseline trained for another scene; bad input ends in one line and exit code 2."""
from __future__ import annotations

import json

import pytest

from app.cli import main

pytest.importorskip("pybullet")


def test_sample_json_summary_with_the_plugin_policy(capsys, tmp_path):
    out = tmp_path / "plans.h5"
    rc = main(["sample", "--policy", "examples.gmm_policy:make_planner", "--scene", "mug_grasp", "--seed", "3",
               "--num", "64", "--json", "--out", str(out)])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scene"] == "mug_grasp" and summary["num_samples"] == 64
    assert set(summary["label_shares"]) <= {"left", "right", ""}
    assert summary["label_shares"].get("left", 0) > 0.2 and summary["label_shares"].get("right", 0) > 0.2
    assert summary["verdict"] in ("multimodal", "unimodal") and len(summary["clusters"]) == 2
    from recordings.reader import RecordingReader
    with RecordingReader(out) as reader:
        replans = reader.rollout(0).replans
        assert len(replans) == 1 and replans[0].samples.shape == (64, 16, 4)


def test_sample_text_summary_for_the_probe(capsys):
    assert main(["sample", "--policy", "probe"]) == 0
    assert "dist_to_goal=0.016" in capsys.readouterr().out


def test_policy_for_another_scene_names_expected_and_found(bimodal_ckpt, capsys):
    assert main(["sample", "--policy", str(bimodal_ckpt), "--scene", "mug_grasp", "--num", "4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "synthetic_bimodal" in err and "size 5" in err and "size 9" in err


@pytest.mark.parametrize("argv,message", [
    (["--policy", "probe", "--solver", "euler"], "unknown solver 'euler'"),
    (["--policy", "/no/such/checkpoint"], "does not exist"),
    (["--policy", "no_such_module_q:attr"], "cannot import module"),
])
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    assert main(["sample", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0
