"""Hardness ranking: the hardest-20 order on a constructed summary."""
from __future__ import annotations

import numpy as np
import pytest

from recordings.ranking import default_weights, hardest, hardness, percentile_component
from recordings.reader import RecordingReader
from recordings.writer import RecordingWriter
from tests.recordings.helpers import ENV_ARGS, make_rollout


def constructed(m: int = 40) -> dict[str, np.ndarray]:
    """Rows 0..4 fail, the rest succeed; among successes difficulty grows with the row index,
    through a different metric for each band so every component matters."""
    ids = np.arange(m)
    success = ids >= 5
    clearance = np.full(m, 0.10)
    switches = np.zeros(m)
    gap = np.full(m, 0.001)
    disagree = np.full(m, 0.01)
    clearance[:5] = [0.05, 0.04, 0.03, 0.02, 0.01]    # among failures: lower clearance = harder
    clearance[30:40] = np.linspace(0.09, 0.0, 10)      # 39 has the lowest clearance
    switches[20:30] = np.arange(1, 11)                  # 29 has the most switches
    gap[10:20] = np.linspace(0.01, 0.1, 10)
    disagree[35:40] = 0.5                               # 35..39 also disagree most
    return {"id": ids, "success": success, "min_clearance": clearance,
            "mode_switches": switches, "plan_exec_gap": gap, "sample_disagreement": disagree}


def test_failures_first_then_components():
    s = constructed()
    top = hardest(s, k=20)
    assert list(top[:5]) == [4, 3, 2, 1, 0]            # failures, lowest clearance first
    # Successes 35..39: low clearance + high disagreement beat any single-metric row.
    assert list(top[5:10]) == [39, 38, 37, 36, 35]
    assert len(top) == 20 and len(set(top.tolist())) == 20
    r = hardness(s)
    assert np.all(np.diff(r.score[r.order]) <= 0)
    assert r.components["failure"][0] == 1 and r.components["failure"][10] == 0
    assert r.components["min_clearance"][39] == 1.0
    assert r.components["mode_switches"][0] == 0.0      # the common value 0 scores 0
    assert sum(r.explain(39).values()) == pytest.approx(r.score[39])


def test_weights_change_the_order_but_failures_stay_first():
    s = constructed()
    top = hardest(s, k=10, weights={"mode_switches": 10.0})
    assert set(top[:5].tolist()) == {0, 1, 2, 3, 4}
    assert top[5] == 29
    only_gap = hardest(s, k=6, weights={"min_clearance": 0, "mode_switches": 0,
                                        "sample_disagreement": 0, "plan_exec_gap": 1})
    assert only_gap[5] == 19
    with pytest.raises(ValueError, match="unknown hardness weight 'bogus'"):
        hardness(s, {"bogus": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        hardness(s, {"failure": -1.0})


def test_nan_metrics_and_ties():
    assert list(percentile_component(np.array([np.nan, 1, 1, 3]), +1)) == [0, 0, 0, 1]
    assert list(percentile_component(np.array([0.2, 0.1, np.nan]), -1)) == [0, 1, 0]
    s = {"id": np.arange(4), "success": np.ones(4, bool),
         "min_clearance": np.full(4, np.nan)}
    assert list(hardest(s)) == [0, 1, 2, 3]             # all equal: by id
    assert default_weights()["failure"] == 5.0


def test_rank_a_real_file(tmp_path):
    path = tmp_path / "r.h5"
    with RecordingWriter(path, env_args=ENV_ARGS) as w:
        for i in range(6):
            w.write_rollout(make_rollout(i))   # 0 and 3 fail; min_clearance 0.01 * i
    with RecordingReader(path) as r:
        assert list(hardest(r.summary, k=3)[:2]) == [0, 3]
