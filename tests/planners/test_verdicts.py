"""The verdicts the product exists to give, on policies trained in seconds on constructed data:
a diffusion policy keeps both modes, one trained on one mode is `collapsed` against 50/50 data,
and the regression baseline is `averaging`."""
from __future__ import annotations

import numpy as np

from planners import load_planner
from planners.modes import analyze_modes
from tests.planners import synthetic

DATA_SHARES = {"left": 0.5, "right": 0.5}


def _analyze(planner, solver="dpmpp", steps=10, n=128):
    batch = planner.plan(synthetic.start_obs(), n, seed=3, solver=solver, steps=steps)
    return batch, analyze_modes(batch.plans, x0_estimates=batch.x0_estimates, labels=synthetic.label,
                                data_shares=DATA_SHARES, mode_refs=synthetic.mode_refs(), seed=0)


def test_diffusion_on_bimodal_data_is_multimodal(bimodal_planner):
    batch, result = _analyze(bimodal_planner)
    assert result.verdict == "multimodal", result.reason
    assert result.coverage == 1.0
    assert 0.25 < result.label_shares["left"] < 0.75
    assert result.entropy > 0.8
    assert result.averaging_score < 0.2
    assert result.commit_step is not None and result.commit_step.shape == (128,)
    assert result.commit_step.min() >= 1 and result.commit_step.max() <= batch.num_steps


def test_diffusion_trained_on_one_mode_is_collapsed(one_mode_ckpt):
    _, result = _analyze(load_planner(one_mode_ckpt), solver="ddim")
    assert result.verdict == "collapsed", result.reason
    assert result.modes_missed == ["right"]
    assert "right" in result.reason


def test_regression_baseline_is_averaging(regression_ckpt):
    planner = load_planner(regression_ckpt)
    batch, result = _analyze(planner)
    assert not batch.has_chain
    assert np.allclose(batch.plans, batch.plans[0])     # the conditional mean, every time
    assert result.verdict == "averaging", result.reason
    assert result.averaging_score > 0.5
    # The average of left and right goes straight through the obstacle.
    assert abs(batch.plans[0, 8, 1]) < 0.1
