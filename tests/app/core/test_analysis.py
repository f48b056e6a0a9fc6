"""The one label / check / analyse path (app/core/analysis.py): a non-finite plan is labelled the
same way for the inspector, the evaluation runner and `planscope sample`, the scene is never asked
about it, and the mode summary's numbers come from one computation."""
from __future__ import annotations

import numpy as np
import pytest

from app.core import analysis
from app.core.analysis import NONFINITE, UNLABELLED, analyse, check_plans, label_indices, label_plans
from app.core.evaluation import runner
from tests.app.inspector_fakes import FakeScene, two_mode_batch

DATA = {"left": 0.5, "right": 0.5}


class CountingScene(FakeScene):
    """Records every plan the scene is asked about (none may hold NaN)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[np.ndarray] = []

    def label_mode(self, path):
        self.asked.append(np.asarray(path))
        return super().label_mode(path)

    def check_plan(self, plan):
        self.asked.append(np.asarray(plan))
        return super().check_plan(plan)


def test_a_nonfinite_plan_is_labelled_nonfinite_and_never_reaches_the_scene():
    batch = two_mode_batch(8, steps=4)
    batch.plans[3, 2, 1] = np.inf
    scene = CountingScene()
    labels = label_plans(scene, batch.plans)
    feasibility = check_plans(scene, batch.plans)
    assert labels[3] == NONFINITE == "nonfinite"
    assert set(labels) - {NONFINITE} <= {"left", "right", ""}
    assert label_indices(labels, ["left", "right"])[3] == UNLABELLED
    assert not feasibility.feasible[3] and feasibility.bad_waypoint[3] == 0
    assert feasibility.collides_with[3] == "non-finite"
    assert scene.asked and all(np.isfinite(p).all() for p in scene.asked)


def test_analyse_labels_once_and_the_summary_is_the_mode_analysis():
    batch = two_mode_batch(32, steps=6, left_share=0.7)
    batch.plans[0] = np.nan
    result = analyse(batch, FakeScene(), DATA)
    assert result.labels[0] == NONFINITE and result.summary.labels[0] == UNLABELLED
    # planners.modes counts it apart (flagged, not a mode): shares are over the finite plans
    assert bool(result.analysis.nonfinite[0]) and NONFINITE not in result.analysis.label_shares
    assert sum(result.analysis.label_shares.values()) == pytest.approx(1.0)
    # one source for each number: entropy, coverage and verdict are planners.modes' own
    assert result.summary.entropy == result.analysis.entropy
    assert result.summary.coverage == result.analysis.coverage
    assert (result.summary.verdict, result.summary.reason) == (result.analysis.verdict,
                                                               result.analysis.reason)
    finite = sum(label != NONFINITE for label in result.labels)      # 31 of the 32 plans
    named = [result.labels.count(name) / finite for name in result.summary.names]
    np.testing.assert_allclose(result.summary.shares, named)
    assert set(result.timings_ms) == {"label", "analysis", "check"}


def test_the_runner_and_sample_go_through_the_same_functions():
    """The evaluation runner labels and checks with app/core/analysis.py's functions (no copy)."""
    from app.core import sampling

    assert runner.label_plans is analysis.label_plans
    assert runner.check_plans is analysis.check_plans
    assert sampling.analyse is analysis.analyse
