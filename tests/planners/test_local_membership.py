"""The frame reading where the neighbours are other demonstrations at similar, not equal, states
(planners.local_membership + planners.frame_metrics): plans on a demonstration's chunk are in
its mode even when the mode's mean is a blend of phases; averaging between well-separated modes
still reads as averaging; a split of one motion is one mode; too few neighbours, or none near
this frame's demonstration, give "no-reading"; a mode the data gives ~0 % here is not judged."""
from __future__ import annotations

import numpy as np

from planners.frame_metrics import (LocalModes, frame_metrics, label_samples, local_modes,
                                    membership)
from planners.local_membership import (DEMO_SUPPORT, MIN_MODE_GAP, MIN_NEIGHBOURS, merge_close,
                                       pairwise)
from planners.modes import analyze_modes

H, D = 16, 4
SCALE = np.array([4.0, 4.0, 4.0, 2.0])      # normalised units: 2 / a data range of 0.5 m / 1


def grasp(side: float, close_at: int = 10, shift: float = 0.0) -> np.ndarray:
    """[H, D] a reach towards y = 0.12 * side that closes the gripper (0.6 -> 0) at step
    close_at; shift moves the whole path along x (another placement)."""
    t = np.linspace(0.0, 1.0, H)
    out = np.zeros((H, D))
    out[:, 0] = 0.2 * t + shift
    out[:, 1] = 0.12 * side * np.sin(0.5 * np.pi * t)
    out[:, 2] = 0.15 - 0.05 * t
    out[:, 3] = np.where(np.arange(H) < close_at, 0.6, 0.0)
    return out


def phases(side: float, n: int, rng) -> np.ndarray:
    """n demonstrations of one grasp at other phases (closing at steps 8-12) and placements."""
    return np.stack([grasp(side, int(rng.integers(8, 13)), float(rng.normal(0, 0.01)))
                     + rng.normal(0, 0.002, (H, D)) for _ in range(n)])


def test_plans_on_a_demonstrations_chunk_are_in_its_mode_though_far_from_the_mean():
    rng = np.random.default_rng(0)
    # two grasps 0.2 normalised units apart: each mode's radius is capped at 0.45 x that gap,
    # while the closing step (8-12) spreads its own chunks ~0.3 from their mean
    neighbours = np.concatenate([phases(+0.35, 20, rng), phases(-0.35, 12, rng)])
    local = local_modes(neighbours, action_scale=SCALE, seed=0)
    assert len(local.shares) == 2 and local.reach > 0 and local.radius.max() < 0.15
    plans = np.stack([neighbours[i] + rng.normal(0, 0.002, (H, D)) for i in range(16)])
    labels, by_mean = membership(plans, local, SCALE)
    # the gripper's phase spreads each mode: most of these plans are outside the means' radii ...
    assert by_mean.mean() < 0.5
    # ... yet every one sits on a demonstration's chunk, in that demonstration's grasp
    assert all(labels) and labels == [local.names[local.member[i]] for i in range(16)]
    m = frame_metrics(plans, neighbours[0], local, action_scale=SCALE)
    assert m.off_data_share == 0.0 and m.verdict not in ("no-mode", "averaging", "no-reading")


def test_plans_between_two_separated_grasps_still_read_averaging():
    rng = np.random.default_rng(1)
    neighbours = np.concatenate([phases(+1, 16, rng), phases(-1, 16, rng)])
    local = local_modes(neighbours, action_scale=SCALE, seed=0)
    middle = 0.5 * (grasp(+1) + grasp(-1))
    plans = middle[None] + rng.normal(0, 0.002, (16, H, D))
    d = pairwise(plans, neighbours, SCALE).min(axis=1)
    assert (d > local.reach).all()                   # far from every chunk on the data's scale
    m = frame_metrics(plans, grasp(+1), local, action_scale=SCALE)
    assert m.verdict == "averaging" and m.off_data_share == 1.0


def test_a_split_of_one_motion_is_one_mode_and_two_grasps_stay_two():
    rng = np.random.default_rng(2)
    a = phases(+1, 10, rng)
    one = np.concatenate([a, a + [0.01, 0, 0, 0]])    # the same ones 1 cm along x: 0.04
    groups = [np.arange(10), np.arange(10, 20)]
    gap = pairwise(one[:10].mean(0)[None], one[10:].mean(0)[None], SCALE)[0, 0]
    assert gap < MIN_MODE_GAP and len(merge_close(groups, one, SCALE)) == 1
    two = np.concatenate([phases(+1, 10, rng), phases(-1, 10, rng)])
    gap = pairwise(two[:10].mean(0)[None], two[10:].mean(0)[None], SCALE)[0, 0]
    assert gap > 2 * MIN_MODE_GAP and len(merge_close(groups, two, SCALE)) == 2


def test_too_few_neighbours_give_no_reading_with_the_count():
    rng = np.random.default_rng(3)
    plans = phases(+1, 8, rng)
    for k in (1, 2, MIN_NEIGHBOURS - 1):
        local = local_modes(phases(+1, k, rng), action_scale=SCALE)
        m = frame_metrics(plans, grasp(+1), local, action_scale=SCALE)
        frames = "frame" if k == 1 else "frames"
        assert m.verdict == "no-reading" and m.reason == (
            f"only {k} nearest {frames} to compare with (needs >= {MIN_NEIGHBOURS})")
        assert (m.collapsed, m.averaged, m.off_data) == (0, 0, 0) and np.isnan(m.coverage)
        assert np.isfinite(m.demo_dist_nearest)         # the demo distances are still measured
    local = local_modes(phases(+1, MIN_NEIGHBOURS, rng), action_scale=SCALE)
    assert frame_metrics(plans, grasp(+1), local, action_scale=SCALE).verdict != "no-reading"


def test_no_neighbour_near_the_demonstration_gives_no_reading():
    rng = np.random.default_rng(4)
    local = local_modes(phases(+1, 20, rng), action_scale=SCALE)
    far = grasp(+1, shift=0.1)                       # 0.4 normalised units along x
    assert pairwise(far[None], local.chunks, SCALE).min() > DEMO_SUPPORT
    m = frame_metrics(far[None] + rng.normal(0, 0.002, (8, H, D)), far, local, action_scale=SCALE)
    assert m.verdict == "no-reading" and "too sparse at this state" in m.reason


def test_a_mode_the_data_gives_nearly_nothing_here_is_listed_but_not_judged():
    rng = np.random.default_rng(5)
    plans = rng.normal(size=(20, H, D))
    reading = analyze_modes(plans, labels=["m0"] * 20, data_shares={"m0": 0.998, "m1": 0.002})
    assert reading.verdict == "unimodal-as-data"
    assert "one mode ('m0') in the data" in reading.reason and "has one mode" not in reading.reason
    assert "not judged: 'm1'" in reading.reason and "'m1' gets" not in reading.reason
    # the plans going where the data does not go here still read: skewed against the one mode
    labels = ["m0"] * 9 + ["m1"] * 11
    skewed = analyze_modes(plans, labels=labels, data_shares={"m0": 0.97, "m1": 0.03})
    assert skewed.verdict == "skewed" and "mode 'm0' gets 45% of plans" in skewed.reason
    # a 5 % mode is judged as before (a rare mode may vanish without `collapsed`)
    rare = analyze_modes(plans, labels=["m0"] * 20, data_shares={"m0": 0.95, "m1": 0.05})
    assert rare.verdict == "multimodal" and "1 of 2 data modes present" in rare.reason


def _conditional(neighbours: np.ndarray, shares: list[float]) -> LocalModes:
    """The local modes of neighbours (left first) with state-fitted shares given."""
    base = local_modes(neighbours, action_scale=SCALE)
    left = int(np.argmax([m[H // 2, 1] for m in base.means]))
    order = [left, 1 - left]
    return LocalModes(base.means[order], np.asarray(shares), base.radius[order],
                      base.num_neighbours, base.effective, np.asarray(shares) * 0.8, True,
                      [base.groups[i] for i in order], "shares read at this state", base.chunks,
                      base.reach)


def test_collapse_onto_this_frames_own_demonstration_under_a_state_fit_is_not_called():
    rng = np.random.default_rng(6)
    neighbours = np.concatenate([phases(+1, 12, rng), phases(-1, 20, rng)])
    local = _conditional(neighbours, [0.25, 0.75])   # the fit (other states) says right 75 %
    plans = phases(+1, 16, rng)
    m = frame_metrics(plans, grasp(+1), local, action_scale=SCALE)    # the demo went left
    assert m.verdict == "unimodal" and "own demonstration is in m0" in m.reason
    m = frame_metrics(plans, grasp(-1), local, action_scale=SCALE)    # the demo went right
    assert m.verdict == "collapsed"
    assert label_samples(grasp(-1)[None], local, SCALE) == ["m1"]
