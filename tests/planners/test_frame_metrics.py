"""Frame metrics on synthetic plan sets whose truth is known by construction: two local data
modes (left and right of an obstacle), samples that keep both, collapse onto one, average them,
leave the data, or hold NaN."""
from __future__ import annotations

import numpy as np
import pytest

from planners.frame_metrics import compare, distances, frame_metrics, local_modes

H, D = 16, 4


def path(side: float) -> np.ndarray:
    """[H, D] a reach that bows to y = 0.1 * side at mid-horizon (metres), gripper open."""
    t = np.linspace(0.0, 1.0, H)
    out = np.zeros((H, D))
    out[:, 0] = 0.3 * t
    out[:, 1] = 0.1 * side * np.sin(np.pi * t)
    out[:, 2] = 0.2 - 0.1 * t
    out[:, 3] = 1.0
    return out


def noisy(base: np.ndarray, n: int, rng, sigma: float = 0.004) -> np.ndarray:
    return base[None] + rng.normal(scale=sigma, size=(n, H, D))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    neighbours = np.concatenate([noisy(path(+1), 24, rng), noisy(path(-1), 16, rng)])
    return neighbours, local_modes(neighbours, seed=0), rng


def test_local_modes_are_the_two_sides(data):
    neighbours, local, _ = data
    assert len(local.shares) == 2 and local.num_neighbours == 40
    assert sorted(np.round(local.shares, 2).tolist()) == [0.4, 0.6]
    # radius: between a quarter and 0.45 of the modes' separation (their own spread is tiny)
    gap = distances(local.means[:1], local.means[1], np.ones(D))[0]
    assert (local.radius <= 0.45 * gap + 1e-12).all() and (local.radius >= 0.25 * gap).all()


def test_both_modes_kept_is_clean(data):
    neighbours, local, rng = data
    samples = np.concatenate([noisy(path(+1), 16, rng), noisy(path(-1), 16, rng)])
    m = frame_metrics(samples, path(+1), local, latency_ms=12.5)
    assert (m.collapsed, m.averaged, m.off_data, m.invalid) == (0, 0, 0, 0)
    assert m.coverage == 1.0 and m.missed_share == 0.0 and m.data_modes == 2
    assert m.sample_modes == 2 and m.off_data_share == 0.0 and m.nonfinite == 0
    assert m.demo_dist_nearest < 0.01                      # a sample on the demonstrated side
    # the mean sample sits between the sides: about half the separation from the demo
    assert 0.3 * 0.14 < m.demo_dist_mean < 0.6 * 0.14
    assert m.latency_ms == 12.5 and len(m.hit) == 2


def test_one_side_only_is_collapsed_and_names_the_missed_share(data):
    neighbours, local, rng = data
    m = frame_metrics(noisy(path(+1), 32, rng), path(-1), local)
    assert m.collapsed == 1 and m.averaged == 0 and m.verdict == "collapsed"
    assert m.coverage == 0.5 and m.missed_share == pytest.approx(0.4)
    assert m.sample_modes == 1
    assert m.demo_dist_nearest > 0.1                        # the demo took the other side


def test_plans_between_the_modes_are_averaging(data):
    neighbours, local, rng = data
    m = frame_metrics(noisy(path(0.0), 32, rng, sigma=0.001), path(+1), local)
    assert m.averaged == 1 and m.collapsed == 0
    assert m.averaging > 0.9 and m.off_data_share == 1.0


def test_plans_elsewhere_leave_the_data(data):
    neighbours, local, rng = data
    away = path(+1)
    away[:, 2] += 0.3                                       # 30 cm above every demonstration
    m = frame_metrics(noisy(away, 32, rng), path(+1), local)
    assert m.off_data == 1 and m.off_data_share == 1.0 and m.averaged == 0


def test_nonfinite_samples_are_counted_and_all_nan_is_invalid(data):
    neighbours, local, rng = data
    samples = np.concatenate([noisy(path(+1), 14, rng), noisy(path(-1), 14, rng)])
    samples = np.concatenate([samples, np.full((4, H, D), np.nan)])
    m = frame_metrics(samples, path(+1), local)
    assert m.nonfinite == 4 and m.collapsed == 0 and m.coverage == 1.0
    bad = frame_metrics(np.full((8, H, D), np.inf), path(+1), local)
    assert bad.invalid == 1 and bad.nonfinite == 8 and np.isnan(bad.demo_dist_nearest)


def test_scale_and_demo_mask(data):
    neighbours, local, rng = data
    samples = noisy(path(+1), 8, rng, sigma=0.0)
    demo = path(+1)
    demo[8:] += 1.0                                         # padded tail of a finished episode
    mask = np.arange(H) < 8
    assert frame_metrics(samples, demo, local, demo_mask=mask).demo_dist_nearest == 0.0
    far = frame_metrics(samples, demo, local).demo_dist_nearest
    scaled = frame_metrics(samples, demo, local, action_scale=np.full(D, 2.0)).demo_dist_nearest
    assert far > 0.5 and scaled == pytest.approx(2 * far)


def test_without_neighbours_nothing_is_compared(data):
    _, _, rng = data
    m = frame_metrics(noisy(path(+1), 16, rng), path(+1), local_modes(None))
    assert np.isnan(m.data_modes) and np.isnan(m.coverage) and np.isnan(m.missed_share)
    assert m.collapsed == 0 and m.demo_dist_nearest < 0.02


def test_compare_says_what_b_lost(data):
    neighbours, local, rng = data
    a = frame_metrics(np.concatenate([noisy(path(1), 16, rng), noisy(path(-1), 16, rng)]),
                      path(+1), local)
    b = frame_metrics(noisy(path(-1), 32, rng), path(+1), local)
    c = compare(a, b)
    assert c["modes_lost"] == 1 and c["modes_gained"] == 0 and c["averaging_started"] == 0
    assert c["demo_dist_change"] > 0.1
    assert compare(b, a)["modes_gained"] == 1
    cols = a.columns()
    assert set(cols) >= {"demo_dist_nearest", "coverage", "collapsed", "latency_ms"}
    assert "verdict" not in cols


def _sided_neighbours(rng, decided: bool, k: int = 40):
    """K neighbours whose side is (decided) or is not a function of a state feature: states [K, 3]
    (feature 0 = hand motion towards the side, 1-2 = clutter), chunks [K, H, D]."""
    side = np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
    states = rng.normal(size=(k, 3))
    states[:, 0] = 0.3 * side + rng.normal(scale=0.05, size=k) if decided else \
        rng.normal(scale=0.3, size=k)
    chunks = np.stack([noisy(path(s), 1, rng)[0] for s in side])
    return chunks, states


def test_state_that_decides_the_side_reads_one_mode_at_the_query():
    from planners.frame_metrics import MAJOR_SHARE
    rng = np.random.default_rng(3)
    chunks, states = _sided_neighbours(rng, decided=True)
    query = np.array([0.3, 0.0, 0.0])                          # moved towards the left
    local = local_modes(chunks, seed=0, states=states, query=query)
    assert local.state_conditional and len(local.shares) == 2
    left = int(np.argmax([m[H // 2, 1] for m in local.means]))
    assert local.shares[left] > 0.9 and local.lower[1 - left] < MAJOR_SHARE
    # a policy that commits to the left there is not collapsed: the right is not major there
    m = frame_metrics(noisy(path(+1), 32, rng), path(+1), local)
    assert m.collapsed == 0 and m.coverage == 1.0


def test_state_that_does_not_decide_keeps_both_modes_and_the_collapse():
    rng = np.random.default_rng(4)
    chunks, states = _sided_neighbours(rng, decided=False)
    local = local_modes(chunks, seed=0, states=states, query=np.zeros(3))
    assert not local.state_conditional
    assert sorted(np.round(local.shares, 2).tolist()) == [0.5, 0.5]
    assert (local.lower > 0.3).all() and 39 < local.effective <= 40
    m = frame_metrics(noisy(path(+1), 32, rng), path(+1), local)
    assert m.collapsed == 1


def test_a_missed_mode_of_few_effective_neighbours_is_not_credible():
    from planners.frame_metrics import wilson_lower
    rng = np.random.default_rng(5)
    chunks = np.concatenate([noisy(path(+1), 8, rng), noisy(path(-1), 2, rng)])
    local = local_modes(chunks, seed=0)          # 2 of 10 neighbours: 20 %, lower bound ~7 %
    assert np.isclose(local.lower.min(), wilson_lower(np.array([0.2]), 10.0)[0])
    assert local.lower.min() < 0.10
    m = frame_metrics(noisy(path(+1), 32, rng), path(+1), local)
    assert m.collapsed == 0 and "not credibly >= 10%" in m.reason and m.coverage == 0.5
    assert wilson_lower(np.array([0.2]), 400.0)[0] > 0.16          # many neighbours: credible
