"""ReviewSession (Qt-free): open, select, scrub, jump to events, hardest-20 queue, tags that
survive a reopen, export/import, robomimic files, and bad input."""
from __future__ import annotations

import os
import shutil

import h5py
import numpy as np
import pytest

from app.core.review.state import ReviewSession, RolloutKey
from recordings.errors import RecordingError
from tests.app.review_helpers import expected_hardest, write_ranked, write_robomimic, write_synthetic


@pytest.fixture
def synthetic(tmp_path):
    return write_synthetic(tmp_path / "eval.h5", 8, policies=("diffusion", "regression"))


@pytest.fixture
def session():
    s = ReviewSession()
    yield s
    s.close_all()


def test_open_selects_the_queue_head_and_caches_small_arrays(session, synthetic):
    seen = []
    session.events.rollout_changed.connect(seen.append)
    rec = session.open(synthetic)
    assert len(rec) == 16 and rec.has_plans
    # review opens on the hardest-20 queue's #1 (not the file's first row)
    assert session.current == session.queue[0] != RolloutKey(0, 0)
    assert seen and seen[-1] is session.rollout
    session.select(RolloutKey(0, 0))
    data = session.rollout
    assert data.actions.shape == (40, 4) and set(data.obs) == {"ee_pos", "gripper", "mug_pos"}
    assert list(data.replan_steps) == [0, 8, 16, 24, 32]
    assert data.state_at(3).shape == (32,)          # one row read from the file
    replan = data.replan(data.replan_index_at(11))  # replan in force at step 11 is the one at 8
    assert replan.step == 8 and replan.samples.shape == (16, 16, 4)
    assert replan.mode_labels[0] in ("left", "right")


def test_step_clamps_and_jumps_between_events(session, synthetic):
    session.open(synthetic)
    session.select(RolloutKey(0, 3))                 # seed 3 fails: contact at step 37
    session.set_step(500)
    assert session.step == 39
    session.set_step(0)
    assert session.jump_event(1) == 8                # next replan
    session.set_step(33)
    assert session.jump_event(1, kinds=("contact",)) == 37
    assert session.jump_event(-1) == 32
    session.add_tag("dynamics")                      # tags are jump targets too
    session.set_step(0)
    assert session.jump_event(1, kinds=("tag",)) == 32


def test_playback_clock_follows_speed_and_stops_at_end(session, synthetic):
    session.open(synthetic)
    session.set_speed(2.0)
    session.set_playing(True)
    session.advance(0.5)                             # 0.5 s x 10 Hz x 2 = 10 steps
    assert session.step == 10
    session.set_speed(100)                           # clamped to 8x
    assert session.speed == 8.0
    session.advance(10)
    assert session.step == 39 and not session.playing


def test_hardest_20_order_and_weights(session, tmp_path):
    session.open(write_ranked(tmp_path / "ranked.h5"))
    rec = session.recordings[0]
    assert [rec.rollout_id(k.row) for k in session.queue] == expected_hardest()
    # without the failure term, the order is mode switches alone
    session.set_weights({"failure": 0.0, "mode_switches": 1.0, "min_clearance": 0.0,
                         "plan_exec_gap": 0.0, "sample_disagreement": 0.0})
    ids = [rec.rollout_id(k.row) for k in session.queue]
    switches = rec.columns["mode_switches"][[k.row for k in session.queue]]
    assert list(switches) == sorted(switches, reverse=True) and ids[0] == 17


def test_hardest_20_ranks_every_open_file_together(session, tmp_path, synthetic):
    session.open(write_ranked(tmp_path / "ranked.h5"))
    session.open(synthetic)
    failed = {(k.file, k.row) for i, rec in enumerate(session.recordings)
              for k in [RolloutKey(i, r) for r in range(len(rec))] if not rec.columns["success"][k.row]}
    queue = [(k.file, k.row) for k in session.queue]
    assert len(queue) == 20 and {f for f, _ in queue} == {0, 1}
    assert len(failed) < 20 and set(queue[:len(failed)]) == failed   # failures of both files first
    assert list(session.queue_scores) == sorted(session.queue_scores, reverse=True)
    session.close_all()
    assert session.queue == []


def test_queue_next_previous_and_reviewed_count(session, tmp_path):
    session.open(write_ranked(tmp_path / "ranked.h5"))
    assert session.current == session.queue[0]          # review opens on #1
    session.select(next(RolloutKey(0, r) for r in range(40) if RolloutKey(0, r) not in session.queue))
    first = session.queue_step(1)
    assert first == session.queue[0] and session.current == first
    session.queue_step(1)
    assert session.queue_position == 1
    assert session.reviewed_count == 0
    session.add_tag("planning")
    assert session.reviewed_count == 1
    session.queue_step(-1)
    assert session.queue_position == 0


def test_tags_survive_reopen_with_step_and_whole_rollout_anchors(tmp_path, synthetic):
    first = ReviewSession()
    first.open(synthetic)
    first.select(RolloutKey(0, 2))
    first.set_step(17)
    first.add_taxonomy_tag(4, note="picked the wrong side")     # 4 = planning, at step 17
    first.add_tag("gripper slip", at_step=False)
    first.close_all()
    second = ReviewSession()
    second.open(synthetic)
    second.select(RolloutKey(0, 2))
    tags = sorted(second.tags(), key=lambda t: t.label)
    assert [(t.label, t.step, t.note) for t in tags] == [
        ("gripper slip", None, ""), ("planning", 17, "picked the wrong side")]
    second.close_all()


def test_second_instance_sees_new_tags_after_refresh(synthetic):
    a, b = ReviewSession(), ReviewSession()
    a.open(synthetic)
    b.open(synthetic)
    assert not b.refresh_tags()                      # nothing new: one tiny query, no reload
    a.add_tag("timing")
    changed = []
    b.events.tags_changed.connect(lambda: changed.append(1))
    assert b.refresh_tags() and changed
    assert [t.label for t in b.tags()] == ["timing"]
    a.close_all()
    b.close_all()


def test_export_import_round_trip(session, synthetic, tmp_path):
    session.open(synthetic)
    session.select(RolloutKey(0, 0))
    session.set_step(5)
    session.add_tag("perception", note="mug occluded")
    session.select(RolloutKey(0, 4))
    session.add_tag("my own tag", at_step=False)
    for suffix in (".csv", ".json"):
        out = tmp_path / f"tags{suffix}"
        assert session.export_tags(out) == 2
        copy = tmp_path / f"copy{suffix}.h5"
        shutil.copy(synthetic, copy)
        other = ReviewSession()
        other.open(copy)
        assert other.import_tags(out) == 2
        assert other.import_tags(out) == 0           # already there: nothing doubled
        got = sorted((t.rollout_id, t.label, t.step, t.note)
                     for t in other.recordings[0].tags.all())
        assert got == [(0, "perception", 5, "mug occluded"), (4, "my own tag", None, "")]
        other.close_all()


def test_save_review_into_artifact_reopens_the_new_file(session, synthetic):
    session.open(synthetic)
    session.add_tag("control")
    session.save_review_into_artifact()
    session.check_files()                            # the replaced file was reopened on purpose
    with h5py.File(synthetic, "r") as f:
        assert "review" in f
    assert [t.label for t in session.tags()] == ["control"]


def test_plain_robomimic_file_opens_without_plans(session, tmp_path):
    rec = session.open(write_robomimic(tmp_path / "robomimic.h5"))
    assert len(rec) == 3 and not rec.has_plans
    data = session.rollout
    assert data.actions.shape == (20, 7) and not data.has_replans
    assert "agentview_image" not in data.obs and data.obs["object"].shape == (20, 10)
    assert np.allclose(data.ee_path, data.obs["robot0_eef_pos"])
    session.add_tag("data coverage")                 # tagging works on any file
    assert session.tags()[0].label == "data coverage"


@pytest.mark.parametrize("damage, words", [
    ("truncate", "truncated"), ("garbage", "not an HDF5 file"), ("schema", "schema version 99"),
    ("empty", "empty file")])
def test_bad_files_raise_one_clear_error(session, synthetic, damage, words):
    data = synthetic.read_bytes()
    if damage == "truncate":
        synthetic.write_bytes(data[: len(data) // 3])
    elif damage == "garbage":
        synthetic.write_bytes(b"this is not hdf5" * 100)
    elif damage == "empty":
        synthetic.write_bytes(b"")
    else:
        with h5py.File(synthetic, "a") as f:
            f.attrs["schema_version"] = 99
    with pytest.raises(RecordingError) as info:
        session.open(synthetic)
    assert words in str(info.value) and str(synthetic) in str(info.value)
    assert session.recordings == []


def test_file_replaced_while_open_is_detected_and_tags_kept(session, synthetic, tmp_path):
    session.open(synthetic)
    session.select(RolloutKey(0, 0))
    session.add_tag("evaluation")
    other = write_synthetic(tmp_path / "other.h5", 3)
    os.replace(other, synthetic)
    with pytest.raises(RecordingError, match="replaced or changed on disk"):
        session.check_files()
    with pytest.raises(RecordingError, match="replaced or changed"):
        session.select(RolloutKey(0, 1))
    session.reload(0)
    assert len(session.recordings[0]) == 3
    assert [t.label for t in session.tags(RolloutKey(0, 0))] == ["evaluation"]


def test_failure_step_prefers_the_flagged_violation():
    from app.core.review.data import RolloutData
    from recordings.events import Event
    events = [Event("contact", 4, ("panda", "mug")),          # a grasp: not the failure
              Event("contact", 9, ("panda", "mug"), {"violation": "hit_mug"}),
              Event("timeout", 12)]
    data = RolloutData(rollout_id=0, num_steps=13, actions=np.zeros((13, 4), np.float32), obs={},
                       rewards=np.zeros(13, np.float32), events=events,
                       replan_steps=np.zeros(0, np.int64), success=False)
    assert data.failure_step == 9
    data.events = events[:1]
    assert data.failure_step == 4
    data.success = True
    assert data.failure_step == -1


def test_note_edit_and_remove_are_durable(session, synthetic):
    session.open(synthetic)
    tag = session.add_tag("control", note="first")
    session.set_note(tag, "  second thoughts ")
    other = ReviewSession()
    other.open(synthetic)
    assert [(t.label, t.note) for t in other.tags()] == [("control", "second thoughts")]
    session.remove_tag(session.tags()[0])
    assert other.refresh_tags() and other.tags() == []
    other.close_all()


def test_failed_to_run_rollout_opens_with_zero_steps(session, tmp_path):
    """An eval artifact keeps a zero-step row for a job that could not run; selecting it must
    show an empty rollout, not fail to reshape."""
    from app.bench._review_data import synthetic_rollout
    from recordings.rollout import Rollout
    from recordings.writer import RecordingWriter

    path = tmp_path / "with_failed.h5"
    failed = Rollout(obs={}, actions=np.zeros((0, 4), np.float32), states=np.zeros((0, 0)),
                     rewards=np.zeros(0, np.float32), dones=np.zeros(0, bool), seed=1,
                     policy="diffusion", perturbation={}, success=False,
                     failure_label="failed-to-run", metrics={"success": 0.0})
    with RecordingWriter(path, env_args={"env_name": "synthetic_review"}, kind="eval",
                         durable=False) as writer:
        writer.write_rollout(synthetic_rollout(0, steps=12, samples=4))
        writer.write_rollout(failed)
    rec = session.open(path)
    assert len(rec) == 2
    session.select(RolloutKey(0, 1))
    data = session.rollout
    assert data.actions.shape[0] == 0 and len(data.replan_steps) == 0
