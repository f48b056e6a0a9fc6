"""Dataset-conditioned inspection (app/core/inspector/dataset_source.py): the reading of plans
against the K nearest frames with constructed plan sets of known truth, the observation built
under the policy's names from a planscope recording and its LeRobot export, and the refusals."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.inspector.dataset_source import pca_2d, read_against_data

H, D = 8, 2


def _mode(side: float, n: int, rng) -> np.ndarray:
    """n chunks [n, H, D] of a detour to one side: y ramps to side * 0.5, x advances."""
    t = np.linspace(0, 1, H)
    base = np.stack([t, side * 0.5 * np.sin(np.pi * t)], axis=1)
    return base[None] + rng.normal(0, 0.01, (n, H, D))


def _read(plans, left_share: float = 0.5, k: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    nl = int(round(k * left_share))
    neighbours = np.concatenate([_mode(1, nl, rng), _mode(-1, k - nl, rng)])
    demo = neighbours[0]
    return read_against_data(plans, demo, np.ones(H, bool), neighbours, np.full(k, 0.1),
                             np.ones(D), data_name="demo-data")


def test_both_modes_multimodal_with_the_neighbours_shares():
    rng = np.random.default_rng(1)
    plans = np.concatenate([_mode(1, 30, rng), _mode(-1, 34, rng)])
    r = _read(plans)
    assert r["metrics"].verdict == "multimodal"
    assert len(r["data_shares"]) == 2
    for m, share in r["data_shares"].items():
        assert abs(r["shares"][m] - share) <= 0.1
    assert r["metrics"].coverage == 1.0
    assert "the 40 nearest frames of demo-data (2 local data modes; plain neighbour shares" \
        in r["metrics"].reason and r["compared_against"] in r["metrics"].reason
    for m in r["data_shares"]:                 # 95 % intervals of both sides' shares
        lo, hi = r["share_intervals"][m]
        assert lo < r["shares"][m] < hi and hi - lo < 0.3
        dlo, dhi = r["data_intervals"][m]
        assert dlo < r["data_shares"][m] < dhi and 0.2 < dhi - dlo < 0.4   # 40 neighbours


def test_one_mode_against_50_50_data_is_collapsed():
    rng = np.random.default_rng(2)
    r = _read(_mode(1, 64, rng))
    assert r["metrics"].verdict == "collapsed"
    assert r["metrics"].collapsed == 1 and r["metrics"].coverage == 0.5
    missing = [m for m, s in r["shares"].items() if s < 0.02]
    assert len(missing) == 1 and r["data_shares"][missing[0]] >= 0.1
    assert "nearest frames of demo-data" in r["metrics"].reason


def test_plans_between_the_modes_are_averaging():
    rng = np.random.default_rng(3)
    r = _read(_mode(0, 64, rng))               # the mean of left and right: straight ahead
    assert r["metrics"].verdict == "averaging"
    assert r["metrics"].off_data_share == 1.0


def test_no_neighbours_says_so():
    rng = np.random.default_rng(4)
    plans = _mode(1, 16, rng)
    r = read_against_data(plans, plans[0], np.ones(H, bool), np.zeros((0, H, D)), np.zeros(0),
                          np.ones(D), data_name="x")
    assert r["compared_against"] == "no neighbours (K = 0)" and r["data_shares"] == {}


def test_pca_projection_separates_the_modes_and_is_deterministic():
    rng = np.random.default_rng(5)
    left, right = _mode(1, 20, rng), _mode(-1, 20, rng)
    (pl, pr), ratio = pca_2d([left, right], np.ones(D))
    assert ratio[0] > 0.9 and ratio.sum() <= 1.0 + 1e-9
    assert np.sign(pl[:, 0]).tolist() == [np.sign(pl[0, 0])] * 20
    assert (np.sign(pr[:, 0]) == -np.sign(pl[0, 0])).all()
    (pl2, _), _ = pca_2d([left, right], np.ones(D))
    np.testing.assert_array_equal(pl, pl2)


def test_shares_read_at_the_state_only_where_the_state_decides_the_mode():
    """States [K, 3]: feature 0 = the hand's motion towards the side it takes (decided) or noise
    (a chance fit must not pass: MODE_FIT_MIN_GAIN); the reason says which reading it used."""
    rng = np.random.default_rng(7)
    k = 40
    side = np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
    neighbours = np.stack([_mode(s, 1, rng)[0] for s in side])
    plans = np.concatenate([_mode(1, 30, rng), _mode(-1, 34, rng)])
    for decided in (True, False):
        states = rng.normal(size=(k, 3))
        states[:, 0] = 0.3 * side + rng.normal(0, 0.05, k) if decided else rng.normal(0, 0.3, k)
        r = read_against_data(plans, neighbours[0], np.ones(H, bool), neighbours,
                              np.full(k, 0.1), np.ones(D), data_name="d", states=states,
                              query=np.array([0.3, 0.0, 0.0]))
        assert r["local"].state_conditional == decided
        left = max(r["data_shares"], key=lambda m: r["local"].means[int(m[1:])][H // 2, 1])
        if decided:       # moved towards the left: the data goes left there, the plans are 47 %
            assert r["data_shares"][left] > 0.9
            assert "shares read at this state" in r["compared_against"]
            assert r["metrics"].verdict == "skewed"
        else:
            assert r["data_shares"][left] == pytest.approx(0.5)
            assert "plain neighbour shares: the state does not predict" in r["compared_against"]
            assert r["metrics"].verdict == "multimodal"


def test_a_policy_without_a_scene_on_unnamed_actions_is_not_drawn_as_hand_positions(
        bimodal_h5, bimodal_planner):
    """Unnamed action columns (an HDF5 file) are hand positions only for a policy of a scene;
    one trained on a scene-less recording (spec.scene "", a real robot's delta or joint
    commands) gets the per-dimension curves and PCA."""
    import dataclasses
    from types import SimpleNamespace

    from app.core.inspector.dataset_source import DatasetSource

    assert DatasetSource(bimodal_h5, bimodal_planner, neighbours=0).end_effector
    sceneless = SimpleNamespace(spec=dataclasses.replace(bimodal_planner.spec, scene=""),
                                plan=bimodal_planner.plan)
    source = DatasetSource(bimodal_h5, sceneless, neighbours=0)
    assert source.action_names[0] == "actions.0" and not source.end_effector
