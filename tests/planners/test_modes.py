"""Mode analysis on constructed plans and chains, where the right answer is known."""
from __future__ import annotations

import numpy as np
import pytest

from planners.modes import analyze_modes, averaging_score, commit_steps
from tests.planners import synthetic

REFS = synthetic.mode_refs()


def _two_modes(n=200, left=0.5, noise=0.005, seed=0):
    rng = np.random.default_rng(seed)
    side = np.arange(n) < int(n * left)
    plans = np.where(side[:, None, None], REFS["left"], REFS["right"]) + rng.normal(0, noise, (n, 16, 4))
    return plans.astype(np.float32), side


def test_two_separated_groups_give_two_clusters_with_their_shares():
    plans, side = _two_modes(n=200, left=0.3)
    result = analyze_modes(plans, seed=0)
    assert result.num_clusters == 2
    assert sorted(round(s, 2) for s in result.shares) == [0.3, 0.7]
    # The clusters are exactly the groups.
    assert len(set(result.assignment[side])) == 1 and len(set(result.assignment[~side])) == 1
    rep = result.clusters[0].representative
    assert rep.shape == (16, 4) and np.abs(rep - REFS["right"]).max() < 0.05   # 70 % group first
    expected = -(0.3 * np.log(0.3) + 0.7 * np.log(0.7)) / np.log(2)
    assert result.entropy == pytest.approx(expected, abs=1e-6)


def test_one_blob_gives_one_cluster_and_is_deterministic():
    rng = np.random.default_rng(1)
    plans = REFS["left"] + rng.normal(0, 0.02, (256, 16, 4))
    a = analyze_modes(plans, seed=5)
    b = analyze_modes(plans, seed=5)
    assert a.num_clusters == 1 and a.entropy == 0.0 and a.verdict == "unimodal"
    assert np.array_equal(a.assignment, b.assignment)


def test_one_elongated_mode_is_not_cut_into_clusters():
    # Plans spread evenly along a line (e.g. how far the hand got): KMeans + silhouette alone would
    # split it in two (silhouette ~0.6); there is no density valley, so it stays one mode.
    rng = np.random.default_rng(2)
    along = rng.uniform(-1, 1, (300, 1, 1)) * np.array([0.1, 0.05, 0.02, 0.0])
    plans = REFS["left"] + along + rng.normal(0, 0.003, (300, 16, 4))
    assert analyze_modes(plans, seed=0).num_clusters == 1


def test_gripper_timing_alone_is_not_a_mode():
    plans, side = _two_modes(n=200, left=1.0)
    plans[:100, :4, 3] = 0.0          # half close the gripper earlier: same path, same mode
    assert analyze_modes(plans, seed=0).num_clusters == 1


def test_clustering_is_deterministic_for_a_seed():
    plans, _ = _two_modes(n=150, left=0.5, noise=0.02, seed=3)
    a, b = analyze_modes(plans, seed=2), analyze_modes(plans, seed=2)
    assert np.array_equal(a.assignment, b.assignment) and a.silhouette == b.silhouette


def test_commit_step_on_a_constructed_chain():
    # 3 samples, S = 6 steps. Sample 0 sits in its final mode from step 1; sample 1 flips
    # right -> left at step 4 (steps 4..6 are left); sample 2 wanders: left at step 2, right at
    # step 3, left again from step 5.
    left, right = REFS["left"], REFS["right"]
    final = np.stack([left, left, left])
    x0 = np.stack([np.stack([left, right, right]),
                   np.stack([left, right, left]),
                   np.stack([left, right, right]),
                   np.stack([left, left, right]),
                   np.stack([left, left, left]),
                   np.stack([left, left, left])])
    plans = np.concatenate([final, np.stack([right] * 3)])          # two clusters exist
    x0_full = np.concatenate([x0, np.repeat(np.stack([right] * 3)[None], 6, axis=0)], axis=1)
    result = analyze_modes(plans, x0_estimates=x0_full)
    assert result.num_clusters == 2
    assert result.commit_step[:3].tolist() == [1, 4, 5]
    assert result.commit_step[3:].tolist() == [1, 1, 1]


def test_commit_steps_marks_nonfinite_samples_zero():
    centroids = np.zeros((1, 18))     # 6 waypoints x 3 position dims
    x0 = np.zeros((4, 2, 16, 4))
    out = commit_steps(x0, np.array([0, -1]), centroids, np.ones(4))
    assert out.tolist() == [1, 0]


def test_ground_truth_coverage_and_shares():
    plans, side = _two_modes(n=100, left=0.97)
    labels = np.where(side, "left", "right")
    result = analyze_modes(plans, labels=labels, data_shares={"left": 0.5, "right": 0.5})
    assert result.coverage == 1.0 and result.modes_hit == ["left", "right"]
    assert result.label_shares == {"left": 0.97, "right": 0.03}
    assert result.verdict == "skewed"     # both present, but 3 % against 50 %
    assert "'right' gets 3% of plans" in result.reason and "against 50% in the data" in result.reason
    only_left = analyze_modes(plans[side], labels=labels[side], data_shares={"left": 0.5, "right": 0.5})
    assert only_left.coverage == 0.5 and only_left.verdict == "collapsed"
    # A rare data mode (5 %) may go missing without the policy being called collapsed.
    rare = analyze_modes(plans[side], labels=labels[side], data_shares={"left": 0.95, "right": 0.05})
    assert rare.verdict == "multimodal" and rare.coverage == 0.5
    single = analyze_modes(plans[side], labels=labels[side], data_shares={"left": 1.0})
    assert single.verdict == "unimodal-as-data"


def test_averaging_score_is_one_between_and_zero_at_the_modes():
    a, b = np.zeros(4), np.array([2.0, 0, 0, 0])
    points = [a, b, (a + b) / 2, [0.3, 0, 0, 0], [1.6, 0, 0, 0], [1.0, 5.0, 0, 0], [-1.0, 0, 0, 0]]
    scores = [averaging_score(np.asarray(f, float)[None], [a, b]) for f in points]
    # modes, midpoint, 15 % and 80 % of the way, far off the segment, beyond a mode
    assert scores == pytest.approx([0.0, 0.0, 1.0, 0.5, 0.2 / 0.3, 0.0, 0.0])


def test_off_mode_labels_mean_averaging_without_references():
    plans = np.repeat(((REFS["left"] + REFS["right"]) / 2)[None], 50, axis=0)
    result = analyze_modes(plans, labels=synthetic.label, data_shares={"left": 0.5, "right": 0.5})
    assert result.off_mode_share == 1.0 and result.verdict == "averaging"


def test_nonfinite_plans_are_flagged_not_fatal():
    plans, _ = _two_modes(n=40)
    plans[3, 5, 1] = np.nan
    plans[7, 0, 0] = np.inf
    result = analyze_modes(plans, x0_estimates=np.repeat(plans[None], 3, axis=0))
    assert result.num_valid == 38 and result.nonfinite[[3, 7]].all()
    assert result.assignment[3] == -1 and result.commit_step[3] == 0
    assert "non-finite" in result.reason
    assert analyze_modes(np.full((5, 16, 4), np.nan)).verdict == "invalid"


def test_summary_is_json_ready():
    import json
    plans, _ = _two_modes(n=64)
    result = analyze_modes(plans, x0_estimates=np.repeat(plans[None], 2, axis=0), labels=synthetic.label,
                           data_shares={"left": 0.5, "right": 0.5}, mode_refs=REFS)
    text = json.dumps(result.summary())
    assert "verdict" in text and result.summary()["coverage"] == 1.0
