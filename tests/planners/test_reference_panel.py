"""The reference panel: readings whose right answer is known, one per verdict the analysis can
give (issue 17). Constructed plan sets around the synthetic data's two modes
(tests/planners/synthetic.py), policies trained in seconds, and the real obstacle_reach expert
for the 4-mode case."""
from __future__ import annotations

import numpy as np
import pytest

from planners import load_planner
from planners.mode_reference import DataReference, ObsRange, parse_shares, reference_from_spec
from planners.modes import analyze_modes
from tests.planners import synthetic

REFS = synthetic.mode_refs()
FIFTY = DataReference({"left": 0.5, "right": 0.5}, source="the 50/50 data")


def _plans(counts: dict[str, int], noise: float = 0.005, seed: int = 0) -> np.ndarray:
    """Plans [N, 16, 4] around the modes' reference plans: 'left', 'right', 'middle' (the
    average of the two, hovering over the obstacle) or 'away' (driving backwards, in no mode
    and between none)."""
    rng = np.random.default_rng(seed)
    shapes = {"left": REFS["left"], "right": REFS["right"], "middle": (REFS["left"] + REFS["right"]) / 2}
    away = REFS["left"].copy()
    away[:, 0], away[:, 1] = -away[:, 0], 0.0
    shapes["away"] = away
    plans = np.concatenate([np.repeat(shapes[k][None], n, axis=0) for k, n in counts.items()])
    return plans + rng.normal(0, noise, plans.shape)


def _judge(plans, reference, refs=REFS, **kw):
    return analyze_modes(plans, labels=synthetic.label, data_shares=reference, mode_refs=refs,
                         modes=("left", "right"), **kw)


def test_fifty_fifty_policy_reads_multimodal_with_intervals(bimodal_planner):
    batch = bimodal_planner.plan(synthetic.start_obs(), 256, seed=11, solver="dpmpp", steps=10)
    r = _judge(batch.plans, FIFTY)
    assert r.verdict == "multimodal", r.reason
    rows = {m.mode: m for m in r.modes}
    for mode in ("left", "right"):
        row = rows[mode]
        assert row.low <= row.share <= row.high and row.high - row.low < 0.15   # N = 256
        assert row.data_share == 0.5
    assert "the 50/50 data" in r.reason and "within the 25-point margin" in r.reason


def test_seventy_thirty_plans_against_seventy_thirty_data():
    r = _judge(_plans({"left": 180, "right": 76}), parse_shares("left=0.7,right=0.3"))
    assert r.verdict == "multimodal", r.reason
    assert r.coverage == 1.0 and r.averaging_score < 0.1
    assert "left=0.7, right=0.3" in r.reason


def test_one_mode_policy_against_seventy_thirty_is_collapsed(one_mode_ckpt):
    batch = load_planner(one_mode_ckpt).plan(synthetic.start_obs(), 128, seed=3, solver="ddim", steps=10)
    r = _judge(batch.plans, parse_shares("left=0.7,right=0.3"))
    assert r.verdict == "collapsed", r.reason
    right = next(m for m in r.modes if m.mode == "right")
    assert right.count == 0 and right.high < 0.3          # listed with 0 plans, interval excludes 30 %
    assert "'right' holds 30%" in r.reason and "0 of 128" in r.reason


def test_twenty_eighty_against_fifty_fifty_is_skewed_and_names_both_numbers():
    r = _judge(_plans({"left": 51, "right": 205}), FIFTY)
    assert r.verdict == "skewed", r.reason
    assert "'left' gets 20%" in r.reason and "against 50% in the 50/50 data" in r.reason
    # ... while 42/58 is within the margin: sampling noise and per-observation spread are not skew
    assert _judge(_plans({"left": 108, "right": 148}), FIFTY).verdict == "multimodal"


def test_four_modes_of_obstacle_reach_rows2_when_the_plans_reach_both_rows():
    pytest.importorskip("pybullet")
    from scenes import make_expert, make_scene
    scene = make_scene("obstacle_reach", rows=2)
    try:
        obs = scene.reset(0)
        expert = make_expert(scene, seed=0)
        long = {m: expert.plan_for(obs, m, horizon=60) for m in scene.modes}
        short = {m: expert.plan_for(obs, m) for m in scene.modes}     # H = 16: only the first row
        rng = np.random.default_rng(0)
        data = {m: 0.25 for m in scene.modes}
        plans = np.concatenate([long[m] + rng.normal(0, 0.002, (32, 60, 4)) for m in scene.modes])
        r = analyze_modes(plans, labels=scene.label_mode, data_shares=data, mode_refs=long, modes=scene.modes)
        assert r.coverage == 1.0 and r.modes_hit == list(scene.modes), r.reason
        assert r.verdict == "multimodal" and r.num_clusters == 4 and r.clusters_from == "labels"
        plans16 = np.concatenate([short[m] + rng.normal(0, 0.002, (32, 16, 4)) for m in scene.modes])
        # too short to tell the second row: compared on the first, and said so
        part = analyze_modes(plans16, labels=lambda p: scene.label_mode(p, partial=True), data_shares=data,
                             mode_refs=short, modes=scene.modes)
        assert part.verdict == "multimodal" and part.data_shares == {"L": 0.5, "R": 0.5}, part.reason
        assert "compared on its first 1 of 2 decisions" in part.reason
        # a labeller that cannot tell never makes it `collapsed`
        strict = analyze_modes(plans16, labels=scene.label_mode, data_shares=data, modes=scene.modes)
        assert strict.verdict == "averaging" and strict.off_mode_share == 1.0
    finally:
        scene.close()


@pytest.fixture(scope="module")
def regression_7030(tmp_path_factory):
    from planners.train import train_policy
    from planners.training import TrainingConfig
    data = synthetic.make_data(episodes=40, left_share=0.7, seed=0)
    config = TrainingConfig(kind="regression", epochs=60, seed=0, lr=3e-3, batch_size=64, num_threads=1)
    return train_policy(data, tmp_path_factory.mktemp("ckpt") / "reg7030", config,
                        model_overrides={"hidden": (64, 64)}, quiet=True, command="pytest")


def test_regression_average_of_seventy_thirty_sits_at_point_three(regression_7030):
    planner = load_planner(regression_7030)
    reference = reference_from_spec(planner.spec)
    assert reference.shares == {"left": 0.7, "right": 0.3}
    batch = planner.plan(synthetic.start_obs(), 32, seed=0)
    r = _judge(batch.plans, reference)
    assert r.verdict == "averaging", r.reason
    assert r.averaging_pair == ("left", "right")
    assert r.averaging_position == pytest.approx(0.3, abs=0.08)
    assert "the training data" in r.reason and f"at {r.averaging_position:.2f} from 'left'" in r.reason
    # the symmetric score alone cannot tell it from a 50/50 average; the position can
    half = _judge(_plans({"middle": 32}), reference)
    assert half.averaging_position == pytest.approx(0.5, abs=0.05)


def test_sixty_percent_hovering_plans_are_averaging_with_and_without_references():
    plans = _plans({"middle": 154, "left": 51, "right": 51})
    with_refs = _judge(plans, FIFTY)
    assert with_refs.verdict == "averaging", with_refs.reason
    assert with_refs.off_mode_share == pytest.approx(0.6, abs=0.01) and with_refs.between_no_mode > 0.9
    assert "60% of plans reach none of the modes" in with_refs.reason
    without = _judge(plans, FIFTY, refs=None)
    assert without.verdict == "averaging" and "no reference plans" in without.reason


def test_plans_in_no_mode_are_no_mode_or_out_of_distribution_never_collapsed():
    plans = _plans({"away": 200, "left": 56})
    train = ObsRange(np.zeros(5), np.ones(5), tuple(f"obs[{i}]" for i in range(5)))
    inside = _judge(plans, FIFTY, obs=np.full(5, 0.5), obs_range=train)
    assert inside.verdict == "no-mode", inside.reason
    outside = _judge(plans, FIFTY, obs=np.array([0.5, 0.5, 0.5, 1.4, 0.5]), obs_range=train)
    assert outside.verdict == "out-of-distribution", outside.reason
    assert "obs[3] = 1.400 (trained 0.000..1.000)" in outside.reason
    # just past the edge (within 5 % of the range) is still in distribution
    assert _judge(plans, FIFTY, obs=np.full(5, 1.03), obs_range=train).verdict == "no-mode"
