"""Frame hardness (flags first, then distance to the demonstration, then spread), the two-policy
change queue, per-episode aggregates and the heat-map grid."""
from __future__ import annotations

import numpy as np

from recordings.scan_ranking import (change_score, dataset_table, episode_table, hardness,
                                     heat_grid, summary_json, worst_table)


def frames(**cols):
    n = len(next(iter(cols.values())))
    base = {"episode": np.zeros(n, np.int64), "frame": np.arange(n, dtype=np.int64)}
    base.update({k: np.asarray(v) for k, v in cols.items()})
    return base


def test_flags_rank_first_then_demo_distance_then_spread():
    f = frames(collapsed=[0, 0, 1, 0, 0], averaged=[0, 0, 0, 0, 1],
               demo_dist_nearest=[0.9, 0.1, 0.0, 0.5, 0.2],
               spread=[0.0, 0.9, 0.0, 0.1, 0.0])
    score, order = hardness(f)
    # flagged frames 2 and 4 first (4 has the larger demo distance); then 3 (3rd of 5 by demo
    # distance: 2 * 0.75, 4th by spread: 0.75) edges out 0 (farthest: 2 * 1, no spread: 0);
    # 1 (largest spread, nearest the demo but one) last: distance weighs twice the spread
    assert order.tolist() == [4, 2, 3, 0, 1]
    assert score[4] == 4 + 2 * 0.5 and score[0] == 2.0 and score[3] == 2.25
    assert score[1] == 2 * 0.25 + 1.0


def test_nan_metrics_count_as_easy_and_ties_break_by_key():
    f = frames(demo_dist_nearest=[np.nan, 0.0, 0.0], spread=[np.nan, 0.0, 0.0])
    score, order = hardness(f)
    assert score.tolist() == [0.0, 0.0, 0.0] and order.tolist() == [0, 1, 2]


def test_two_policies_rank_per_policy_and_change_queue():
    f = frames(collapsed=[[0, 1], [0, 0], [0, 0]], averaged=[[0, 0], [0, 0], [1, 0]],
               demo_dist_nearest=[[0.1, 0.2], [0.1, 0.8], [0.3, 0.3]],
               spread=[[0.1, 0.0], [0.1, 0.1], [0.2, 0.2]],
               modes_lost=[1, 0, 0], averaging_started=[0, 0, -1],
               demo_dist_change=[0.1, 0.7, 0.0], spread_change=[-0.1, 0.0, 0.0])
    assert hardness(f, 0)[1][0] == 2 and hardness(f, 1)[1][0] == 0
    score, order = change_score(f)
    assert order.tolist() == [0, 1, 2]        # lost a mode; then moved away; stopped averaging
    worst = worst_table(f, k=2)
    assert worst["queue"].tolist() == ["hardness"] * 4 + ["change"] * 2
    assert worst["frame"].tolist()[-2:] == [0, 1]


def test_episode_and_dataset_aggregates():
    f = {"episode": np.array([3, 3, 3, 7, 7]), "frame": np.array([0, 2, 4, 0, 2]),
         "collapsed": np.array([[1], [0], [1], [0], [0]]),
         "demo_dist_nearest": np.array([[0.2], [np.nan], [0.4], [0.1], [0.3]]),
         "spread": np.zeros((5, 1)), "latency_ms": np.array([[1.0], [2], [3], [4], [5]])}
    ep = episode_table(f)
    assert ep["episode"].tolist() == [3, 7] and ep["frames"].tolist() == [3, 2]
    assert ep["collapsed"][:, 0].tolist() == [2, 0]
    np.testing.assert_allclose(ep["mean_demo_dist_nearest"][:, 0], [0.3, 0.2])
    assert ep["worst_frame"][:, 0].tolist() == [4, 2]       # collapsed and farther; farther
    assert "mean_latency_ms" not in ep                      # machine-dependent: not summarised
    ds = dataset_table(f)
    assert ds["collapsed"].tolist() == [2] and ds["collapsed_share"][0] == 0.4
    assert ds["median_demo_dist_nearest"][0] == 0.25


def test_summary_ignores_latency_and_equals_for_equal_scans():
    f = frames(collapsed=[[0], [1]], demo_dist_nearest=[[0.1], [0.2]], spread=[[0.0], [0.1]],
               latency_ms=[[1.0], [2.0]])
    g = dict(f, latency_ms=np.array([[9.0], [7.0]]))
    assert summary_json(f) == summary_json(g)
    h = dict(f, demo_dist_nearest=np.array([[0.1], [0.3]]))
    assert summary_json(f) != summary_json(h)


def test_heat_grid_places_each_frame():
    grid, eps = heat_grid(np.array([2, 2, 5]), np.array([0, 6, 3]), np.array([1.0, 2.0, 3.0]),
                          every=3)
    assert eps.tolist() == [2, 5] and grid.shape == (2, 3)
    assert grid[0, 0] == 1 and grid[0, 2] == 2 and grid[1, 1] == 3
    assert np.isnan(grid[0, 1]) and np.isnan(grid[1, 0])
