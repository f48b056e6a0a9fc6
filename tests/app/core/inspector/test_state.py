"""Inspector model and analysis (Qt-free): settings validation, chain stepping, isolation,
commit steps, the verdicts on constructed batches, the solver-sweep answer."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.analysis import SampleResult, analyse, commit_steps, mode_references, normalized_entropy
from app.core.inspector.state import InspectorState, SamplingSettings, observed_positions
from app.core.inspector.sweep import SweepPoint, SweepResult, score
from tests.app.inspector_fakes import FakeScene, FakeTwoModePlanner, two_mode_batch

DATA = {"left": 0.5, "right": 0.5}


def test_settings_refuse_bad_values_with_the_allowed_range():
    with pytest.raises(ValueError, match="1..1024"):
        SamplingSettings(num_samples=2000)
    with pytest.raises(ValueError, match="temperature"):
        SamplingSettings(temperature=0)
    state = InspectorState()
    seen = []
    state.events.settings.connect(seen.append)
    state.update_settings(num_samples=256, solver="ddim")
    assert seen[-1].num_samples == 256 and state.settings.solver == "ddim"
    with pytest.raises(ValueError):
        state.update_settings(steps=0)
    assert state.settings.steps >= 1


def test_plans_at_step_walks_the_chain_and_x0_estimates():
    batch = two_mode_batch(8, steps=5)
    state = InspectorState()
    state.set_result(SampleResult(batch))
    assert state.step == 5 and np.array_equal(state.plans_at_step(), batch.plans)
    state.set_step(0)
    assert np.array_equal(state.plans_at_step(), batch.chain[0])
    state.set_show_x0(True)
    assert np.array_equal(state.plans_at_step(), batch.x0_estimates[0])
    state.set_step(99)                       # clipped to S
    assert state.step == 5 and np.array_equal(state.plans_at_step(), batch.plans)


def test_isolation_selection_and_escape():
    scene = FakeScene()
    batch = two_mode_batch(40, steps=6)
    state = InspectorState()
    state.set_result(analyse(batch, scene, DATA))
    labels = state.result.summary.labels
    state.isolate(1)
    assert np.array_equal(state.visible_mask(), labels == 1)
    state.isolate(7)                         # no such mode: ignored
    assert state.isolated == 1
    state.select(3)
    state.select(999)                        # out of range -> nothing selected
    assert state.selected is None
    state.select(3)
    state.clear()
    assert state.selected is None and state.isolated is None and state.visible_mask().all()


def test_two_mode_batch_is_multimodal_and_regression_is_averaging_and_infeasible():
    scene = FakeScene()
    batch = two_mode_batch(64, steps=10)
    result = analyse(batch, scene, DATA)
    s = result.summary
    assert s.names == ["left", "right"] and s.verdict == "multimodal"
    assert abs(s.shares.sum() - 1.0) < 1e-9 and (s.shares > 0.3).all()
    assert s.entropy > 0.95 and s.coverage == 1.0
    assert np.array_equal(s.data_shares, [0.5, 0.5])
    assert result.feasibility.feasible.all()
    assert result.stats.spread_m.shape == (11,) and result.stats.clusters[-1] == 2
    refs = mode_references(batch.plans, s.labels, s.names)
    base = FakeTwoModePlanner(regression=True).plan(None, 16, seed=0)
    b = analyse(base, scene, DATA, mode_refs=refs)
    assert b.summary.verdict == "averaging"
    assert not b.feasibility.feasible.any()
    assert set(b.feasibility.collides_with) == {"mug"} and (b.feasibility.bad_waypoint >= 0).all()
    assert b.stats is None                   # no chain


def test_commit_step_is_where_the_mode_stops_changing():
    final = np.array([0, 1, 0, -1])
    steps = np.array([[1, 0, 1, 0],
                      [0, 0, 1, 0],
                      [0, 1, 0, 1],
                      [0, 1, 0, 1]])
    assert commit_steps(steps, final).tolist() == [2, 3, 3, -1]
    assert normalized_entropy(np.array([0.5, 0.5])) == pytest.approx(1.0)
    assert normalized_entropy(np.array([1.0, 0.0])) == pytest.approx(0.0)


def test_nonfinite_plans_are_flagged_not_crashing():
    batch = two_mode_batch(16, steps=4)
    batch.plans[2, 5, 0] = np.nan
    result = analyse(batch, FakeScene(), DATA)
    assert not result.feasibility.feasible[2] and result.feasibility.collides_with[2] == "non-finite"
    assert result.summary.labels[2] == -1


def test_observed_positions_finds_mug_and_end_effector():
    found = observed_positions(FakeScene().observe())
    assert set(found) == {"ee", "mug"} and found["mug"].shape == (3,)


def test_sweep_answers_the_fewest_steps_that_keep_the_distribution():
    def point(solver, steps, left, feasible=1.0, ms=1.0):
        return SweepPoint(solver, steps, np.array([left, 1 - left]), 0.0, feasible, ms * steps)
    result = SweepResult(names=["left", "right"], num_samples=400, points=[
        point("ddpm", 1, 1.0), point("ddpm", 8, 0.7), point("ddpm", 100, 0.5),
        point("dpmpp", 1, 0.99), point("dpmpp", 4, 0.52), point("dpmpp", 8, 0.8), point("dpmpp", 16, 0.49),
        point("dpmpp", 32, 0.5, feasible=0.5), point("dpmpp", 100, 0.52)])
    score(result)
    assert result.reference == ("all solvers", 100)
    assert result.fewest["ddpm"] == 100
    assert result.fewest["dpmpp"] == 100        # 4 is a lucky dip (8 fails); 32 loses feasibility
    result.points = [p for p in result.points if not (p.solver == "dpmpp" and p.steps == 32)]
    score(result)
    assert result.fewest["dpmpp"] == 16 and "dpmpp with 16 steps" in result.answer()


def test_sweep_tolerates_sampling_noise_but_not_a_lost_mode():
    def point(steps, left, n_none=0.0):
        return SweepPoint("ddim", steps, np.array([left, 1 - left - n_none]), n_none, 1.0, steps)
    small = SweepResult(names=["left", "right"], num_samples=64,
                        points=[point(1, 0.0), point(8, 0.2), point(100, 0.35)])
    score(small)
    assert small.tv_tolerance == pytest.approx(1.5 / 8)
    assert [p.keeps for p in small.points] == [False, True, True]   # 1 step lost "left"
    assert small.fewest["ddim"] == 8
