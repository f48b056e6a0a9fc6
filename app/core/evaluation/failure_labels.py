"""Automatic failure labels: the cause of a failed rollout where the trace makes it clear.

The vocabulary is the review taxonomy (perception, representation, dynamics, planning, control,
data coverage, timing, evaluation). A label is only given when a rule below fires; anything else
stays "unlabelled" for a human reviewer. A successful rollout gets "" (nothing failed); a job
that could not be run at all gets FAILED_TO_RUN.

Rules, in order:
1. counterfactual (needs the same policy and seed without perturbation, see `refine_with_nominal`):
   the nominal rollout succeeded and this one, under exactly one perturbation, failed ->
   delay: timing; obs_noise: perception; action_noise: control; friction or mass: dynamics;
   pose_shift: data coverage.
2. an unsafe contact while the executed plan sat between the scene's modes, or the samples of the
   replan before it were split between modes, or the executed plan already failed the scene's
   feasibility check -> planning.
3. no unsafe contact, but the executed sample's mode kept flipping (>= 3 switches) -> planning.
4. no unsafe contact, plans feasible, execution stayed far from the plan (mean gap > 3 cm) ->
   control.
"""
from __future__ import annotations

import math

from app.core.evaluation.metrics import RolloutTrace, is_unsafe

TAXONOMY = ("perception", "representation", "dynamics", "planning", "control", "data coverage",
            "timing", "evaluation")
UNLABELLED = "unlabelled"
FAILED_TO_RUN = "failed-to-run"
SUCCESS = ""

PERTURBATION_CAUSE = {"delay": "timing", "obs_noise": "perception", "action_noise": "control",
                      "friction": "dynamics", "mass": "dynamics", "pose_shift": "data coverage"}
SPLIT_SHARE = 0.25       # samples split between modes: >= 25 % disagree with the executed one
MODE_FLIPS = 3
CONTROL_GAP_M = 0.03


def _replan_before(trace: RolloutTrace, step: int) -> int:
    """Index of the last replan at or before control step `step` (-1 if none)."""
    idx = -1
    for i, s in enumerate(trace.replan_steps):
        if s <= step:
            idx = i
    return idx


def _between_modes(trace: RolloutTrace, i: int) -> bool:
    executed = trace.executed_labels[i]
    labels = trace.sample_labels[i]
    if trace.modes and executed not in trace.modes:
        return True
    if labels:
        split = sum(1 for lab in labels if lab != executed) / len(labels)
        return split >= SPLIT_SHARE
    return False


def label_from_trace(trace: RolloutTrace, metrics: dict[str, float], perturbation: dict) -> str:
    """Rules 2-4 (what one trace shows on its own); rule 1 is added by `refine_with_nominal`."""
    del perturbation  # the trace rules hold whatever the perturbation; kept for a stable signature
    if trace.success:
        return SUCCESS
    unsafe = [e for e in trace.events if is_unsafe(e)]
    if unsafe:
        i = _replan_before(trace, unsafe[0].step)
        if i >= 0 and (_between_modes(trace, i) or not trace.executed_feasible[i]):
            return "planning"
        return UNLABELLED
    if metrics.get("mode_switches", 0.0) >= MODE_FLIPS:
        return "planning"
    gap = metrics.get("plan_exec_gap", math.nan)
    if all(trace.executed_feasible) and not math.isnan(gap) and gap > CONTROL_GAP_M:
        return "control"
    return UNLABELLED


def refine_with_nominal(label: str, success: bool, perturbation: dict,
                        nominal_success: bool | None) -> str:
    """Rule 1: a failure that appears only under one perturbation is blamed on that perturbation.
    The counterfactual is the stronger evidence, so it overrides the trace rules."""
    if success or nominal_success is not True or len(perturbation) != 1:
        return label
    (key,) = perturbation
    return PERTURBATION_CAUSE.get(key, label)
