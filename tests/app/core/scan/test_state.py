"""The Scan workspace's Qt-free model on a scan whose content is known by construction."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.scan.state import ScanState
from tests.app.core.scan.scan_fixture import write_scan


@pytest.fixture
def state(tmp_path):
    s = ScanState()
    s.open(write_scan(tmp_path / "scan.h5", episodes=9, length=12))
    yield s
    s.close()


def test_open_shows_the_candidate_and_the_change_queue(state):
    assert state.policy == 1 and state.policy_labels == ["A: before", "B: after"]
    assert state.grid.shape == (9, 6) and state.episodes.tolist() == list(range(9))
    assert state.queue_kind == "change" and len(state.queue) == 20
    # B collapsed on frames 0 and 2 of episodes 0, 3, 6: those six lead the change queue
    top = {(q.episode, q.frame) for q in state.queue[:6]}
    assert top == {(e, f) for e in (0, 3, 6) for f in (0, 2)}
    assert all(q.flags == ("collapsed",) for q in state.queue[:6])


def test_metric_grid_cell_and_curves(state):
    events = []
    state.events.metric.connect(lambda m, p: events.append((m, p)))
    state.set_metric("collapsed", 1)
    assert events == [("collapsed", 1)]
    assert state.grid[3, 0] == 1 and state.grid[3, 2] == 0 and state.grid[1, 0] == 0
    assert state.cell(3, 1) == (3, 2) and state.cell(9, 0) is None
    state.set_metric("demo_dist_change")            # change columns: one value per frame
    assert state.grid.shape == (9, 6)
    with pytest.raises(ValueError, match="no metric"):
        state.set_metric("nope")
    state.select(3, 4)
    frames, values = state.curves(metric="demo_dist_nearest")
    assert frames.tolist() == [0, 2, 4, 6, 8, 10] and values.shape == (6, 2)
    assert np.all(np.diff(values[:, 0]) > -0.03)    # grows along the episode (+ small noise)
    facts = state.frame_facts(state.selected_row())
    assert facts["collapsed"] == [0, 0] and len(facts["modes_lost"]) == 1
    with pytest.raises(ValueError, match="was not scanned"):
        state.select(3, 5)


def test_hardness_queue_per_policy(state):
    state.set_queue("hardness")
    assert state.queue[0].flags == ("collapsed",) and state.queue[0].queue == "hardness"
    state.set_metric("spread", 0)
    state.set_queue("hardness")
    assert all(q.flags == () for q in state.queue)   # policy A never collapsed


def test_tags_live_in_the_scan_sidecar(state, tmp_path):
    with pytest.raises(ValueError, match="select a frame"):
        state.add_tag("planning")
    seen = []
    state.events.tags.connect(lambda: seen.append(1))
    state.select(6, 2)
    tag = state.add_tag("Data Coverage", note="only one grasp here")
    assert tag.tag == "data coverage" and (tag.rollout_id, tag.step) == (6, 2)
    assert (tmp_path / "scan.h5.tags.sqlite").exists() and seen == [1]
    assert [t.note for t in state.tags(6, 2)] == ["only one grasp here"] and state.tags(6, 4) == []
    assert state.remove_tag(tag.id) and state.tags() == []


def test_stored_queue_equals_the_ranked_one(state):
    for kind, policy in (("change", 1), ("hardness", 1), ("hardness", 0)):
        state.set_metric("spread", policy)
        state.set_queue(kind)
        stored = state._stored_queue()
        assert stored is not None and stored == state._rank()
