"""obstacle_reach: 2^k modes, expert per mode, labels, feasibility of the mode-averaged path."""
import numpy as np
import pytest

from scenes import make_expert, make_scene
from scenes.api import SceneError
from tests.scenes.conftest import run_expert


@pytest.fixture(scope="module")
def two_rows():
    scene = make_scene("obstacle_reach", rows=2)
    yield scene
    scene.close()


def test_rows_define_the_modes(two_rows):
    assert two_rows.modes == ("LL", "LR", "RL", "RR")
    one = make_scene("obstacle_reach")
    try:
        assert one.modes == ("left", "right")
        assert {l.body for l in one.describe().links} >= {"row1", "table", "panda", "target"}
    finally:
        one.close()
    with pytest.raises(SceneError, match="rows=5 must be 1 or 2"):
        make_scene("obstacle_reach", rows=5)


@pytest.mark.parametrize("mode", ["LL", "LR", "RL", "RR"])
def test_expert_reaches_the_target_in_every_mode(two_rows, mode):
    success, actions, states, _, events = run_expert(two_rows, 4, mode)
    assert success, events
    assert not [e for e in events if e.kind == "contact"]
    assert two_rows.label_mode(actions) == mode
    assert two_rows.check_plan(actions[:16]).feasible


def test_averaged_path_hits_the_central_block(two_rows):
    obs = two_rows.reset(2)
    expert = make_expert(two_rows, seed=2)
    left, right = (expert.plan_for(obs, m, horizon=40) for m in ("LL", "RR"))
    check = two_rows.check_plan((left + right) / 2)
    assert not check.feasible and "row1" in check.collides_with
    assert two_rows.label_mode((left + right) / 2) == ""
    assert two_rows.clearance((left + right) / 2) < 0 < two_rows.clearance(left)


def test_plans_after_the_first_row_keep_the_full_label(two_rows):
    from scenes.obstacle_reach import FIRST_ROW_X
    obs = two_rows.reset(6)
    expert = make_expert(two_rows, mode_mix=(0, 1, 0, 0), seed=6)   # LR
    labels = []
    while True:
        plan = expert.act(obs)
        # past the first row, and the plan gets to the last row (else that row is undecided)
        if obs["ee_pos"][0] > FIRST_ROW_X + 0.03 and plan[:, 0].max() >= two_rows.row_x[-1]:
            labels.append(two_rows.label_mode(plan))
        result = two_rows.step(plan[:8])
        obs = result.obs
        if result.done:
            break
    assert result.success and labels and set(labels) == {"LR"}
    state = two_rows.get_state()
    two_rows.set_state(state)   # the crossing history is part of the state
    assert two_rows.label_mode(plan) == "LR"


def test_a_plan_that_ends_before_the_second_row_gets_its_decided_prefix(two_rows):
    obs = two_rows.reset(0)
    expert = make_expert(two_rows, seed=0)
    for mode in two_rows.modes:
        plan16 = expert.plan_for(obs, mode)                # 1.6 s from the start: row 1 only
        assert plan16[:, 0].max() < two_rows.row_x[1]
        assert two_rows.label_mode(plan16) == ""            # strict: no full mode
        assert two_rows.label_mode(plan16, partial=True) == mode[0]
        assert two_rows.label_mode(expert.plan_for(obs, mode, horizon=60), partial=True) == mode
    # through the central block stays "no mode" even when partial labels are asked for
    left, right = (expert.plan_for(obs, m) for m in ("LL", "RR"))
    assert two_rows.label_mode((left + right) / 2, partial=True) == ""


def test_scene_options_defaults_and_parsing():
    from scenes.registry import parse_options, task_option_defaults
    assert task_option_defaults("obstacle_reach") == {"rows": 1}
    assert task_option_defaults("mug_grasp") == {}         # asset_root, camera, perturb are shared
    assert parse_options(["rows=2", "camera=true", "noise=0.5", "name=x"]) == \
        {"rows": 2, "camera": True, "noise": 0.5, "name": "x"}
    with pytest.raises(SceneError, match="must look like KEY=VALUE"):
        parse_options(["rows"])
    with pytest.raises(SceneError, match="given twice"):
        parse_options(["rows=1", "rows=2"])


def test_plan_labeller_asks_for_partial_labels_only_where_the_scene_has_them(two_rows):
    from scenes.registry import plan_labeller
    obs = two_rows.reset(0)
    plan16 = make_expert(two_rows, seed=0).plan_for(obs, "RL")
    assert plan_labeller(two_rows)(plan16) == "R"
    mug = make_scene("mug_grasp")
    try:
        assert plan_labeller(mug) == mug.label_mode      # mug_grasp labels have no parts
    finally:
        mug.close()
