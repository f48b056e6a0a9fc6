"""Writer -> reader round trip of every field; plain h5py reads the robomimic layout; resume."""
from __future__ import annotations

import json
import os

import h5py
import numpy as np
import pytest

from recordings.errors import RecordingError
from recordings.reader import RecordingReader
from recordings.rollout import ReplanRecord, Rollout
from recordings.writer import RecordingWriter
from tests.recordings.helpers import ENV_ARGS, make_rollout


def write(path, rollouts, **kw):
    with RecordingWriter(path, env_args=ENV_ARGS, config={"lr": 1e-4, "steps": [1, 2]},
                         seed_panel=range(100, 110), perturbations={"obs_noise": [0.0, 0.01]},
                         kind="eval", **kw) as w:
        for ro in rollouts:
            w.write_rollout(ro)
    return path


def check_same(view, ro: Rollout) -> None:
    assert view.num_steps == ro.num_steps
    np.testing.assert_array_equal(view.actions(), ro.actions)
    np.testing.assert_array_equal(view.states(), ro.states)
    np.testing.assert_array_equal(view.rewards(), ro.rewards)
    np.testing.assert_array_equal(view.dones(), ro.dones)
    assert view.actions().dtype == np.float32 and view.states().dtype == np.float64
    assert sorted(view.obs_keys) == sorted(ro.obs)
    for key, arr in ro.obs.items():
        got = view.obs(key)
        assert got.dtype == arr.dtype
        np.testing.assert_array_equal(got, arr)
    assert view.events == ro.events
    assert (view.seed, view.policy, view.success, view.failure_label, view.mode) == \
        (ro.seed, ro.policy, ro.success, ro.failure_label, ro.mode)
    assert view.perturbation == ro.perturbation
    assert view.user_attrs == ro.attrs
    for key, value in ro.metrics.items():
        assert view.metrics[key] == pytest.approx(value)
    assert len(view.replans) == len(ro.replans)
    np.testing.assert_array_equal(view.replans.steps, [r.step for r in ro.replans])
    for got, want in zip(view.replans, ro.replans):
        assert got.step == want.step and got.executed_index == want.executed_index
        np.testing.assert_array_equal(got.samples, want.samples)
        assert got.mode_labels == want.mode_labels
        np.testing.assert_array_equal(got.feasible, want.feasible)
        assert got.latency_ms == pytest.approx(want.latency_ms)
        np.testing.assert_array_equal(got.executed_chunk, want.executed_chunk)
        for name in ("chain", "x0_estimates"):
            if getattr(want, name) is None:
                assert getattr(got, name) is None
            else:
                np.testing.assert_array_equal(getattr(got, name), getattr(want, name))


def test_round_trip_every_field(tmp_path):
    rollouts = [make_rollout(i) for i in range(5)]
    rollouts.append(Rollout(obs={}, actions=np.zeros((0, 4)), states=np.zeros((0, 0)),
                            rewards=np.zeros(0), dones=np.zeros(0, bool), seed=7, policy="x",
                            metrics={"failed_to_run": 1.0}))
    path = write(tmp_path / "r.h5", rollouts)
    assert sorted(os.listdir(tmp_path)) == ["r.h5"]       # one file, parts folder gone
    with RecordingReader(path) as r:
        assert len(r) == 6 and not r.partial and r.kind == "eval" and r.schema_version == 1
        assert r.env_args == ENV_ARGS
        assert r.config == {"lr": 1e-4, "steps": [1, 2]}
        assert r.perturbations == {"obs_noise": [0.0, 0.01]}
        np.testing.assert_array_equal(r.seed_panel, np.arange(100, 110))
        assert r.code_version[0]
        s = r.summary
        np.testing.assert_array_equal(s["id"], np.arange(6))
        assert list(s["seed"]) == [100, 101, 102, 103, 104, 7]
        assert list(s["success"][:5]) == [False, True, True, False, True]
        assert s["perturbation"][1] == '{"obs_noise":0.01}' and s["perturbation"][0] == ""
        assert s["num_steps"][0] == 12 and s["contacts"][0] == 1
        assert s["min_clearance"][3] == pytest.approx(0.03)
        assert np.isnan(s["time_to_success"]).all()
        assert np.isnan(s["failed_to_run"][:5]).all() and s["failed_to_run"][5] == 1
        for i, ro in enumerate(rollouts):
            check_same(r.rollout(i), ro)
        assert r.rollout(2).actions(3).shape == (4,)     # one step
        assert r.rollout(2).replans.at_step(5).step == 4


def test_plain_h5py_reads_robomimic_layout(tmp_path):
    rollouts = [make_rollout(i) for i in range(3)]
    path = write(tmp_path / "r.h5", rollouts)
    # Only what robomimic's SequenceDataset / playback scripts use.
    with h5py.File(path, "r") as f:
        demos = sorted(f["data"].keys(), key=lambda k: int(k[5:]))
        assert demos == ["demo_0", "demo_1", "demo_2"]
        env_args = json.loads(f["data"].attrs["env_args"])
        assert env_args["env_name"] == "mug_grasp"
        assert f["data"].attrs["total"] == sum(ro.num_steps for ro in rollouts)
        for name, ro in zip(demos, rollouts):
            g = f[f"data/{name}"]
            assert g.attrs["num_samples"] == ro.num_steps
            np.testing.assert_array_equal(g["actions"][()], ro.actions)
            np.testing.assert_array_equal(g["states"][()], ro.states)
            np.testing.assert_array_equal(g["rewards"][()], ro.rewards)
            np.testing.assert_array_equal(g["dones"][()], ro.dones)
            np.testing.assert_array_equal(g["obs/ee_pos"][()], ro.obs["ee_pos"])


def test_partial_file_readable_while_writing_and_by_plain_h5py(tmp_path):
    path = tmp_path / "r.h5"
    w = RecordingWriter(path, env_args=ENV_ARGS, kind="demos")
    for i in range(3):
        w.write_rollout(make_rollout(i))
    with RecordingReader(path) as r:
        assert r.partial and len(r) == 3 and r.layout == "index"
        check_same(r.rollout(2), make_rollout(2))
        live = r.summary
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["data/demo_1/actions"][()], make_rollout(1).actions)
    w.close()
    with RecordingReader(path) as r:
        assert not r.partial and r.kind == "demos" and len(r) == 3 and r.layout == "single"
        assert list(r.summary) == list(live)
        for name, col in r.summary.items():
            np.testing.assert_array_equal(col, live[name])
            assert col.dtype.kind == live[name].dtype.kind


def test_failure_before_first_rollout_leaves_old_file_untouched(tmp_path):
    path = tmp_path / "r.h5"
    write(path, [make_rollout(0), make_rollout(1)])
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with RecordingWriter(path, env_args=ENV_ARGS, mode="w"):
            raise RuntimeError("policy failed to load")
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["r.h5"]
    with RecordingWriter(tmp_path / "empty.h5", env_args=ENV_ARGS):
        pass                                         # a clean close writes an empty recording
    with RecordingReader(tmp_path / "empty.h5") as r:
        assert len(r) == 0 and not r.partial and r.env_args == ENV_ARGS
    w = RecordingWriter(path, env_args=ENV_ARGS, mode="w")   # the old file stays readable ...
    with RecordingReader(path) as r:
        assert len(r) == 2
    w.write_rollout(make_rollout(5))                         # ... until the first new rollout
    with RecordingReader(path) as r:
        assert len(r) == 1 and r.rollout(0).seed == 105
    w.close()


def test_exception_in_block_leaves_partial_single_file(tmp_path):
    path = tmp_path / "r.h5"
    with pytest.raises(KeyboardInterrupt):
        with RecordingWriter(path, env_args=ENV_ARGS) as w:
            w.write_rollout(make_rollout(0))
            raise KeyboardInterrupt
    assert sorted(os.listdir(tmp_path)) == ["r.h5"]
    with RecordingReader(path) as r:
        assert r.partial and len(r) == 1


@pytest.mark.parametrize("interrupted", [False, True])
def test_resume_appends_and_lists_done_keys(tmp_path, interrupted):
    path = tmp_path / "r.h5"
    w = RecordingWriter(path, env_args=ENV_ARGS, config={"a": 1}, seed_panel=[1, 2])
    for i in range(3):
        w.write_rollout(make_rollout(i))
    if interrupted:
        w._unlock()            # as if the process had died: index + parts stay behind
    else:
        w.close()
    w2 = RecordingWriter(path, env_args=ENV_ARGS, mode="a")
    assert w2.done_keys == {("dp", 100, ""), ("dp", 101, '{"obs_noise":0.01}'), ("dp", 102, "")}
    with RecordingReader(path) as r:
        assert r.done_keys() == w2.done_keys
    assert w2.write_rollout(make_rollout(3)) == 3
    w2.close()
    with RecordingReader(path) as r:
        assert len(r) == 4 and not r.partial and r.config == {"a": 1}
        for i in range(4):
            check_same(r.rollout(i), make_rollout(i))
    assert sorted(os.listdir(tmp_path)) == ["r.h5"]


def test_resume_refuses_other_scene_and_second_writer(tmp_path):
    path = tmp_path / "r.h5"
    write(path, [make_rollout(0)])
    with pytest.raises(RecordingError, match="scene 'other'"):
        RecordingWriter(path, env_args={"env_name": "other"}, mode="a")
    w = RecordingWriter(path, env_args=ENV_ARGS, mode="a")
    with pytest.raises(RecordingError, match="another process"):
        RecordingWriter(path, env_args=ENV_ARGS, mode="a")
    w.close()


def test_unwritable_folder_is_one_clear_error(tmp_path):
    with pytest.raises(RecordingError, match="does not exist"):
        RecordingWriter(tmp_path / "nope" / "r.h5", env_args=ENV_ARGS)


def test_shape_validation_names_the_field():
    with pytest.raises(ValueError, match="states has 3 steps, actions has 4"):
        Rollout(obs={}, actions=np.zeros((4, 4)), states=np.zeros((3, 2)), rewards=np.zeros(4),
                dones=np.zeros(4, bool))
    with pytest.raises(ValueError, match=r"obs\['x'\] must be \[T=4"):
        Rollout(obs={"x": np.zeros(3)}, actions=np.zeros((4, 4)), states=np.zeros((4, 2)),
                rewards=np.zeros(4), dones=np.zeros(4, bool))
    with pytest.raises(ValueError, match="mode_labels must have N=2"):
        ReplanRecord(step=0, samples=np.zeros((2, 16, 4)), executed_index=0, mode_labels=["a"],
                     feasible=np.ones(2, bool), latency_ms=1, executed_chunk=np.zeros((8, 4)))
    with pytest.raises(ValueError, match="chain must be"):
        ReplanRecord(step=0, samples=np.zeros((2, 16, 4)), executed_index=0, mode_labels=["a", "b"],
                     feasible=np.ones(2, bool), latency_ms=1, executed_chunk=np.zeros((8, 4)),
                     chain=np.zeros((3, 2, 16, 3)))
    a = make_rollout(0).replans[0]
    b = make_rollout(0, samples=6).replans[0]
    with pytest.raises(ValueError, match="share"):
        Rollout(obs={}, actions=np.zeros((12, 4)), states=np.zeros((12, 2)), rewards=np.zeros(12),
                dones=np.zeros(12, bool), replans=[a, b])


def test_n_varies_between_rollouts(tmp_path):
    path = write(tmp_path / "r.h5", [make_rollout(0, samples=4), make_rollout(1, samples=9)])
    with RecordingReader(path) as r:
        assert r.rollout(0).replans[0].samples.shape == (4, 16, 4)
        assert r.rollout(1).replans[0].samples.shape == (9, 16, 4)


def test_plain_robomimic_file_without_extras_opens(tmp_path):
    path = tmp_path / "robomimic.h5"
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        data.attrs["env_args"] = json.dumps({"env_name": "Lift", "type": 1, "env_kwargs": {}})
        total = 0
        for i, t in enumerate([5, 9, 7, 3, 4, 6, 8, 2, 5, 5, 11]):
            g = data.create_group(f"demo_{i}")
            g.attrs["num_samples"] = t
            g["actions"] = np.full((t, 7), i, np.float64)
            g["states"] = np.zeros((t, 32))
            g["rewards"] = np.zeros(t)
            g["dones"] = np.zeros(t, np.int64)
            g["obs/robot0_eef_pos"] = np.ones((t, 3))
            total += t
        data.attrs["total"] = total
        f.create_group("mask")
    with RecordingReader(path) as r:
        assert not r.is_planscope and len(r) == 11 and r.env_args["env_name"] == "Lift"
        assert r.demo_names[:3] == ["demo_0", "demo_1", "demo_2"] and r.demo_names[10] == "demo_10"
        assert list(r.summary["num_steps"][:3]) == [5, 9, 7]
        assert r.summary["success"].all() and np.isnan(r.summary["min_clearance"]).all()
        ro = r.rollout(10)
        assert ro.num_steps == 11 and ro.actions(0)[0] == 10
        assert ro.events == [] and len(ro.replans) == 0 and ro.metrics == {}
        assert ro.obs("robot0_eef_pos", slice(0, 2)).shape == (2, 3)


def test_write_recording_in_one_go(tmp_path):
    from recordings.header import write_recording
    rollouts = [make_rollout(i) for i in range(3)]
    path = tmp_path / "bulk.h5"
    assert write_recording(path, rollouts, env_args=ENV_ARGS, config={"k": 1}, kind="demos") == 3
    assert sorted(os.listdir(tmp_path)) == ["bulk.h5"]
    with RecordingReader(path) as r:
        assert len(r) == 3 and not r.partial and r.config == {"k": 1}
        for i, ro in enumerate(rollouts):
            check_same(r.rollout(i), ro)

    def broken():
        yield make_rollout(0)
        raise RuntimeError("simulator died")
    with pytest.raises(RuntimeError):
        write_recording(tmp_path / "b2.h5", broken(), env_args=ENV_ARGS)
    assert sorted(os.listdir(tmp_path)) == ["bulk.h5"]     # nothing half-written


def test_numpy_values_in_json_fields_and_stale_tmp_files(tmp_path):
    from recordings.events import Event
    path = tmp_path / "r.h5"
    (tmp_path / "r.h5.merge.tmp").write_bytes(b"left by a killed writer")
    ro = make_rollout(1)
    ro = Rollout(obs=ro.obs, actions=ro.actions, states=ro.states, rewards=ro.rewards,
                 dones=ro.dones, events=[Event("contact", 1, ("a",), {"f": np.float32(2.5)})],
                 perturbation={"obs_noise": np.float32(0.5), "delay": np.int64(2)},
                 attrs={"arr": np.arange(3)}, seed=np.int64(5))
    write(path, [ro])
    assert sorted(os.listdir(tmp_path)) == ["r.h5"]
    with RecordingReader(path) as r:
        v = r.rollout(0)
        assert v.perturbation == {"obs_noise": 0.5, "delay": 2}
        assert v.user_attrs == {"arr": [0, 1, 2]} and v.events[0].detail == {"f": 2.5}
        assert r.summary["perturbation"][0] == '{"delay":2,"obs_noise":0.5}'
    with pytest.raises(ValueError, match="obs\\['name'\\] must be numeric"):
        Rollout(obs={"name": np.array(["a"] * 12)}, actions=ro.actions, states=ro.states,
                rewards=ro.rewards, dones=ro.dones)
    with pytest.raises(ValueError, match="JSON"):
        Rollout(obs={}, actions=ro.actions, states=ro.states, rewards=ro.rewards, dones=ro.dones,
                perturbation={"f": object()})
