"""Issue 15's acceptance on mug_grasp's own recorded demonstrations (slow: collects 200
demonstrations, about two minutes on two cores; the one-grasp collapse is tested with constructed
plans in test_dataset_source.py and with a trained policy in the scan's acceptance test).

At an episode's first frame the state does not tell the grasp (the hand starts in one pose; only
the mug's placement differs), so the K nearest frames show both grasps: the shipped diffusion
policy must reach both (never collapsed or averaging) with its shares — over the first frames —
within 0.1 of the neighbours', and the shipped regression baseline must read averaging. One
observation's shares legitimately differ from the data's (issue 17: the shipped policy's per-
observation spread is sd 0.15-0.2), so the share check is on the mean over first frames, each
local mode named by its neighbours' recorded grasp."""
from __future__ import annotations

import numpy as np
import pytest

CHECKPOINTS = "resources/checkpoints"
EPISODES = 12


@pytest.mark.slow
@pytest.mark.acceptance
def test_mug_grasp_first_frames_against_the_nearest_frames(tmp_path):
    from app.core.evaluation.collect import collect
    from app.core.inspector.dataset_source import DatasetSource
    from planners import load_planner

    demos = tmp_path / "demos.h5"
    collect("mug_grasp", 200, 0, str(demos), mode_mix=(0.5, 0.5), workers=2)
    dp = DatasetSource(demos, load_planner(f"{CHECKPOINTS}/mug_grasp_diffusion"), neighbours=64)
    reg = DatasetSource(dp.ds, load_planner(f"{CHECKPOINTS}/mug_grasp_regression"),
                        neighbours=64)
    both = dp_ok = reg_avg = 0
    plan_left, data_left = [], []
    for ep in range(EPISODES):
        r = dp.inspect(ep, 0, 64, seed=ep)
        if sorted(r.data_labels.values()) != ["left", "right"]:
            continue                                  # this frame's neighbours show one grasp
        both += 1
        assert r.compared_against.startswith("the 64 nearest frames of demos.h5 (2 local")
        dp_ok += r.verdict not in ("collapsed", "averaging") and r.metrics.coverage == 1.0
        names = {v: k for k, v in r.data_labels.items()}
        plan_left.append(r.label_shares()["left"])
        data_left.append(r.data_shares[names["left"]])
        reg_avg += reg.inspect(ep, 0, 64, seed=ep).verdict == "averaging"
    assert both >= 0.8 * EPISODES                     # the data's two grasps
    assert dp_ok == both                              # diffusion: both grasps, every frame
    assert reg_avg >= 0.8 * both                      # regression: averaging
    assert abs(np.mean(plan_left) - np.mean(data_left)) <= 0.1
