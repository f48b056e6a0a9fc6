"""The teaching probe reproduces the seed's worked example to the printed digit."""
from __future__ import annotations

import numpy as np

from planners import load_planner
from planners.probe import ABAR, GOAL, forward_reverse_trace, probe_report

SEED_FORWARD = [0.178, 0.232, 0.267, 0.318, 0.422]
SEED_REVERSE = [0.326, 0.282, 0.250, 0.195, 0.016]


def test_endpoint_distances_match_the_seed():
    trace = forward_reverse_trace(seed=7)
    forward = np.linalg.norm(trace["forward"][:, -1] - GOAL, axis=1)
    reverse = np.linalg.norm(trace["reverse"][:, -1] - GOAL, axis=1)
    assert np.round(forward, 3).tolist() == SEED_FORWARD
    assert np.round(reverse, 3).tolist() == SEED_REVERSE


def test_report_prints_the_seed_lines():
    text = probe_report()
    assert "t=1  abar=0.85  dist_to_goal=0.178" in text
    assert "t=5  abar=0.08  dist_to_goal=0.422" in text
    assert "t=0  dist_to_goal=0.016" in text


def test_probe_planner_exposes_the_chain():
    planner = load_planner("probe")
    batch = planner.plan(None, 4, seed=7)
    assert batch.chain.shape == (len(ABAR) + 1, 4, 6, 2)
    assert batch.x0_estimates.shape == (len(ABAR), 4, 6, 2)
    assert np.array_equal(batch.chain[-1], batch.plans)
    dist = batch.meta["endpoint_dist"][:, 0]
    assert np.round(dist, 3).tolist() == [0.422, *SEED_REVERSE]
    cancelled = planner.plan(None, 1, seed=7, cancel=lambda: True)
    assert cancelled.cancelled and cancelled.num_steps == 0
