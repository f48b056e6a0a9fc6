"""The verdict must not understate (issue 15): when >= 20 % of the plans lie in no local data mode
but fewer than half (the no-mode verdict), the verdict is qualified in one wording
(planners.frame_metrics.verdict_label) that the Modes dock, `sample --data` and the scan's reason
all use."""
from __future__ import annotations

import math

import numpy as np

from app.core.inspector.dataset_source import DatasetInspection, format_inspection, read_against_data
from app.core.inspector.frame_source import inspection_result
from planners.frame_metrics import OFF_DATA_NOTE, verdict_label
from recordings.plan_batch import PlanBatch


def test_verdict_label_thresholds():
    assert OFF_DATA_NOTE == 0.20
    assert verdict_label("multimodal", 0.36) == "multimodal · 36 % off the data's modes"
    assert verdict_label("skewed", 0.20) == "skewed · 20 % off the data's modes"
    assert verdict_label("multimodal", 0.19) == "multimodal"
    assert verdict_label("collapsed", math.nan) == "collapsed"      # nothing to compare with
    assert verdict_label("no-mode", 0.7) == "no-mode" and verdict_label("", 0.3) == ""
    assert verdict_label("averaging", 1.0) == "averaging"     # from half it is the verdict's own
    assert verdict_label("averaging", 0.3) == "averaging · 30 % off the data's modes"


def _inspection(off: int) -> DatasetInspection:
    """Two local data modes of 20 neighbours each (2-D pushes); 32 plans, `off` of them far from
    both modes (not between them)."""
    rng = np.random.default_rng(0)
    h, d = 8, 2
    t = np.linspace(0, 1, h)

    def mode(side, n, amp=0.5):
        return np.stack([t, side * amp * np.sin(np.pi * t)], 1)[None] + rng.normal(0, .01, (n, h, d))
    neighbours = np.concatenate([mode(1, 20), mode(-1, 20)])
    rest = 32 - off
    plans = np.concatenate([mode(1, rest // 2), mode(-1, rest - rest // 2),
                            mode(1, off, amp=2.5)]).astype(np.float32)
    reading = read_against_data(plans, neighbours[0], np.ones(h, bool), neighbours,
                                np.full(40, 0.1), np.ones(d), data_name="pushes")
    batch = PlanBatch(plans=plans, chain=np.zeros((0, 32, h, d)), x0_estimates=np.zeros((0, 32, h, d)),
                      timesteps=np.zeros(0), step_ms=np.zeros(0), solver="ddim", seed=0)
    return DatasetInspection(
        data="pushes", episode=0, frame=0, obs={}, batch=batch, plans=plans, demo=neighbours[0],
        demo_mask=np.ones(h, bool), neighbours=neighbours, neighbour_episodes=np.arange(40),
        neighbour_frames=np.zeros(40, int), neighbour_distances=np.full(40, 0.1),
        action_names=["push.x", "push.y"], end_effector=False, policy="tiny",
        action_scale=np.ones(d), timings_ms={"observation": 0.0, "sample": 0.0, "analysis": 0.0},
        **reading)


def test_a_large_no_mode_share_qualifies_every_reading_of_the_frame():
    data = _inspection(off=10)                    # 10 of 32 = 31 % in no local mode
    m = data.metrics
    assert m.verdict == "multimodal" and abs(m.off_data_share - 10 / 32) < 1e-9
    label = "multimodal · 31 % off the data's modes"
    assert m.label == label
    assert m.reason.startswith("31 % of the plans lie in no local data mode")   # the scan's reason
    summary = data.summary()                      # sample --data --json
    assert summary["verdict"] == "multimodal" and summary["verdict_label"] == label
    assert f"verdict: {label} - 31 %" in format_inspection(data)     # sample --data (text)
    assert inspection_result(data).summary.verdict == label           # the Modes dock's badge
    # under the threshold: the plain verdict, no clause
    plain = _inspection(off=4)
    assert plain.metrics.label == plain.metrics.verdict == "multimodal"
    assert "no local data mode" not in plain.metrics.reason
    assert plain.summary()["verdict_label"] == "multimodal"
