"""The README's new-user path, as a new user runs it (issue 15): collect 40 mug_grasp episodes,
export them as a LeRobot data set, sample the SHIPPED policy at episode 0, frame 10. The reading
printed there must be true of what the plans do: they sit on the demonstrated chunk, so they are
not "no mode"; a local mode the data gives ~0 % at that state is listed as not judged; the grammar
holds. And on the committed 3-episode export (2 neighbours) there is no reading, said as such.

Before the fix this printed `verdict: no-mode - 100% of plans reach none of the modes of 39
nearest frames` beside `demonstrated chunk: nearest plan 0.041`."""
from __future__ import annotations

import json
import re

import pytest

from app.cli import main

POLICY = "resources/checkpoints/mug_grasp_diffusion"
SMALL_EXPORT = "tests/recordings/formats/data/planscope_export/demos.h5"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """planscope collect --episodes 40 --seed 0, then export --to lerobot (~20 s on 2 cores)."""
    root = tmp_path_factory.mktemp("new_user")
    demos, out = root / "demos.h5", root / "out"
    assert main(["collect", "--scene", "mug_grasp", "--episodes", "40", "--seed", "0",
                 "--out", str(demos), "--quiet"]) == 0
    assert main(["export", str(demos), "--to", "lerobot", str(out)]) == 0
    return str(out)


def test_mid_episode_plans_on_the_demonstration_are_read_in_the_datas_mode(exported, capsys):
    capsys.readouterr()
    argv = ["sample", "--policy", POLICY, "--data", exported, "--episode", "0", "--frame", "10",
            "--num", "16", "--threads", "1"]
    assert main(argv + ["--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["neighbours"] == 39                       # one frame per other episode
    assert s["demo_dist_nearest"] < 0.1                # the plans sit on the demonstration ...
    assert s["verdict"] not in ("no-mode", "averaging", "collapsed", "no-reading"), s["reason"]
    assert s["no_mode_share"] <= 0.2                   # ... and on the data's modes
    judged = [m for m in s["modes"] if m["judged"]]
    assert judged and all(m["data_share"] >= 0.05 for m in judged)
    for m in s["modes"]:
        if not m["judged"]:                            # ~0 % here: never the verdict's subject
            assert f"mode '{m['mode']}' gets" not in s["reason"]
    assert main(argv) == 0                             # the text a user reads
    text = capsys.readouterr().out
    assert "verdict: " + s["verdict_label"] in text and " has one mode" not in text
    assert not re.search(r"\b1 nearest frames\b|\bframes has\b", text)
    for m in s["modes"]:
        line = next(line for line in text.splitlines() if line.strip().startswith(m["mode"]))
        assert ("not judged" in line) == (not m["judged"])


def test_two_neighbours_give_no_reading_not_a_verdict(capsys):
    capsys.readouterr()
    assert main(["sample", "--policy", POLICY, "--data", SMALL_EXPORT, "--episode", "1",
                 "--frame", "3", "--num", "4", "--solver", "ddim", "--steps", "5",
                 "--threads", "1"]) == 0
    text = capsys.readouterr().out
    assert "verdict: no-reading - only 2 nearest frames to compare with (needs >= 8)" in text
    assert "local data modes: none read (2 nearest frames)" in text
    assert "  m0" not in text and "has one mode" not in text


def test_no_reading_draws_no_modes_in_the_inspector() -> None:
    """The inspector's result at a no-reading frame lists no local modes and labels no plan with
    one (the Modes dock drew 'm0 · left 100 %' bars under a 'no-reading' badge)."""
    from app.core.inspector.dataset_source import DatasetSource
    from app.core.inspector.frame_source import inspection_result
    from planners import load_planner

    source = DatasetSource(SMALL_EXPORT, load_planner(POLICY))
    inspection = source.inspect(1, 3, 4, seed=0, solver="ddim", steps=5)
    assert inspection.metrics.verdict == "no-reading"
    result = inspection_result(inspection)
    assert result.summary.num_modes == 0 and result.summary.verdict == "no-reading"
    assert (result.summary.labels < 0).all() and set(result.labels) == {""}
    assert "only 2 nearest frames" in result.summary.reason
