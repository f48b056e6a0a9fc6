"""Acceptance rule, confidence intervals, metrics and failure labels on constructed inputs (no
simulator): the numbers follow the documented rules exactly."""
from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.evaluation.acceptance import decide_columns, format_decision
from app.core.evaluation.config import EvalConfigError, RolloutSettings, parse_perturbation, parse_seeds
from app.core.evaluation.failure_labels import label_from_trace, refine_with_nominal
from app.core.evaluation.metrics import RolloutTrace, compute_metrics
from app.core.evaluation.runner import control_sampler
from app.core.evaluation.stats import paired_bootstrap, wilson
from planners.protocol import PlannerSpec
from recordings.events import Event


def columns(base_success, cand_success, base_unsafe=None, cand_unsafe=None, failed=()):
    """Summary columns for two policies on the same seeds (one perturbation cell)."""
    n = len(base_success)
    base_unsafe = [0] * n if base_unsafe is None else base_unsafe
    cand_unsafe = [0] * n if cand_unsafe is None else cand_unsafe
    labels = ["" for _ in range(2 * n)]
    for i in failed:
        labels[i] = "failed-to-run"
    return {"policy": np.array(["base"] * n + ["cand"] * n),
            "seed": np.array(list(range(n)) * 2),
            "perturbation": np.array(["nominal"] * 2 * n),
            "success": np.array(list(base_success) + list(cand_success), dtype=bool),
            "failure_label": np.array(labels),
            "contacts": np.array(list(base_unsafe) + list(cand_unsafe), dtype=float)}


def test_accept_when_improved_enough_and_no_more_unsafe_events():
    cols = columns([1] * 5 + [0] * 5, [1] * 7 + [0] * 3, base_unsafe=[1] * 3 + [0] * 7,
                   cand_unsafe=[1] + [0] * 9)
    d = decide_columns(cols, "base", "cand", min_improvement=0.10)
    assert d.accept and d.verdict == "ACCEPT"
    assert d.pairs == 10 and d.baseline_value == 0.5 and d.candidate_value == 0.7
    assert d.improvement == pytest.approx(0.2)
    assert (d.baseline_unsafe, d.candidate_unsafe, d.unsafe_change) == (3, 1, -2)
    assert d.candidate_ci == pytest.approx(wilson(7, 10))
    text = format_decision(d)
    assert text.startswith("ACCEPT: cand over base") and "+20.0 points" in text
    assert "unsafe events: 3 -> 1 (change -2" in text


def test_reject_when_improvement_is_below_the_threshold():
    d = decide_columns(columns([1] * 5 + [0] * 5, [1] * 6 + [0] * 4), "base", "cand",
                       min_improvement=0.15)
    assert not d.accept and d.improvement == pytest.approx(0.1)
    assert "needs >= +15.0 points" in format_decision(d)


def test_exactly_the_threshold_is_accepted():
    d = decide_columns(columns([1] * 5 + [0] * 5, [1] * 6 + [0] * 4), "base", "cand",
                       min_improvement=0.10)
    assert d.accept


def test_reject_when_unsafe_events_increase_even_with_better_success():
    d = decide_columns(columns([0] * 10, [1] * 10, base_unsafe=[0] * 10,
                               cand_unsafe=[1] + [0] * 9), "base", "cand")
    assert not d.accept and d.improvement == pytest.approx(1.0)
    assert "unsafe events increased (0 -> 1)" in format_decision(d)


def test_failed_to_run_pairs_are_left_out():
    cols = columns([0] * 4, [1] * 4, failed=(0, 5))     # base seed 0 and cand seed 1 never ran
    d = decide_columns(cols, "base", "cand")
    assert d.pairs == 2


def test_lower_is_better_metric_uses_relative_change():
    cols = columns([0] * 4, [0] * 4)
    cols["time_to_success"] = np.array([10.0] * 4 + [8.0] * 4)
    d = decide_columns(cols, "base", "cand", metric="time_to_success", min_improvement=0.10)
    assert d.accept and d.improvement == pytest.approx(0.2)


def test_wilson_and_bootstrap_intervals():
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and 0.25 < hi < 0.32                 # not the degenerate [0, 0]
    lo, hi = wilson(7, 10)
    assert lo == pytest.approx(0.3968, abs=1e-3) and hi == pytest.approx(0.8922, abs=1e-3)
    assert all(math.isnan(x) for x in wilson(0, 0))
    b = np.array([0, 0, 1, 0, 1, 0, 0, 1] * 5, float)
    c = np.ones_like(b)
    lo, hi = paired_bootstrap(b, c)
    assert lo <= 1 - b.mean() <= hi and lo > 0
    assert paired_bootstrap(b, c) == paired_bootstrap(b, c)          # seeded


def _trace(**kw) -> RolloutTrace:
    defaults = dict(actions=np.zeros((16, 4), np.float32), ee_positions=None, events=[],
                    success=False, replan_steps=[0, 8],
                    executed_chunks=[np.zeros((8, 4), np.float32)] * 2,
                    executed_labels=["left", "left"], sample_labels=[["left"] * 4] * 2,
                    executed_feasible=[True, True], latencies_ms=[5.0, 7.0],
                    modes=("left", "right"))
    defaults.update(kw)
    return RolloutTrace(**defaults)


def test_metrics_from_a_constructed_trace():
    ee = np.zeros((17, 3))
    ee[9:, 0] = 0.01                                     # 1 cm off the plan after step 8
    t = _trace(ee_positions=ee, executed_labels=["left", "right"],
               sample_labels=[["left", "left", "right", ""], ["right"] * 4],
               events=[Event("contact", 3, ("mug", "table")),          # expected contact
                       Event("contact", 12, ("mug", "panda"), {"violation": "hit_mug"})])
    m = compute_metrics(t)
    assert m["contacts"] == 1 and m["contact_events"] == 2
    assert m["mode_switches"] == 1 and m["success"] == 0
    assert m["plan_exec_gap"] == pytest.approx(0.01 * 8 / 16)
    assert m["latency_ms_mean"] == 6.0 and m["latency_ms_max"] == 7.0
    assert m["share_left"] == 0.5 and m["share_right"] == 0.25 and m["share_other"] == 0.25
    assert m["mode_disagreement"] == pytest.approx((0.5 + 0.0) / 2)
    assert math.isnan(m["time_to_success"])
    ok = compute_metrics(_trace(success=True, events=[Event("success", 29)]))
    assert ok["time_to_success"] == pytest.approx(3.0)


def test_labels_planning_when_contact_happens_between_modes():
    contact = [Event("contact", 12, ("mug", "panda"), {"violation": "hit_mug"})]
    between = _trace(events=contact, executed_labels=["left", ""])
    assert label_from_trace(between, compute_metrics(between), {}) == "planning"
    split = _trace(events=contact, sample_labels=[["left"] * 4, ["left", "right", "right", "left"]])
    assert label_from_trace(split, compute_metrics(split), {}) == "planning"
    clear = _trace(events=contact)                        # one mode, feasible: cause unclear
    assert label_from_trace(clear, compute_metrics(clear), {}) == "unlabelled"
    assert label_from_trace(_trace(success=True), {}, {}) == ""


def test_counterfactual_labels_need_a_nominal_success():
    assert refine_with_nominal("unlabelled", False, {"delay": 2}, True) == "timing"
    assert refine_with_nominal("planning", False, {"obs_noise": 0.01}, True) == "perception"
    assert refine_with_nominal("unlabelled", False, {"pose_shift": 0.03}, True) == "data coverage"
    assert refine_with_nominal("planning", False, {"delay": 2}, False) == "planning"
    assert refine_with_nominal("unlabelled", False, {"delay": 2, "mass": 2}, True) == "unlabelled"
    assert refine_with_nominal("", True, {"delay": 2}, True) == ""


def test_argument_parsing():
    assert parse_seeds("0:5") == [0, 1, 2, 3, 4] and parse_seeds("3,1") == [3, 1]
    for bad in ("5:2", "x", "1,1", "-3:2", ""):
        with pytest.raises(EvalConfigError):
            parse_seeds(bad)
    assert parse_perturbation("delay=2,obs_noise=0.01") == {"delay": 2, "obs_noise": 0.01}
    for bad in ("delay", "gravity=1", "delay=fast"):
        with pytest.raises(EvalConfigError):
            parse_perturbation(bad)


def test_rollouts_sample_with_the_planners_control_sampler_unless_the_run_says():
    spec = PlannerSpec(name="p", kind="diffusion", scene="s", obs_dim=3, action_dim=4, horizon=16,
                       default_solver="dpmpp", default_steps=16, control_solver="ddpm", control_steps=100)
    run = RolloutSettings(scene="s")
    assert control_sampler(spec, run) == ("ddpm", 100)
    assert control_sampler(spec, RolloutSettings(scene="s", steps=50)) == ("ddpm", 50)
    assert control_sampler(spec, RolloutSettings(scene="s", solver="dpmpp")) == ("dpmpp", 16)
    assert control_sampler(spec, RolloutSettings(scene="s", solver="ddim", steps=8)) == ("ddim", 8)
    assert control_sampler(spec, RolloutSettings(scene="s", solver="ddpm")) == ("ddpm", 100)
    plain = PlannerSpec(name="r", kind="regression", scene="s", obs_dim=3, action_dim=4, horizon=16,
                        default_solver="none", default_steps=0)
    assert control_sampler(plain, run) == ("none", 0)
