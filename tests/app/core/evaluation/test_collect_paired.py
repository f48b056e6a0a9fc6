"""`planscope collect --paired`: every placement demonstrated once per mode, in mode order."""
import os

import numpy as np
import pytest

from app.cli import main
from app.core.evaluation.collect import collect
from recordings.reader import RecordingReader


def test_paired_demonstrates_each_placement_once_per_mode_in_mode_order(tmp_path):
    out = tmp_path / "paired.h5"
    summary = collect("mug_grasp", 3, 40, str(out), paired=True, workers=1)
    assert summary.episodes == 6 and summary.successes == 6
    assert summary.mode_counts == {"left": 3, "right": 3}
    with RecordingReader(out) as reader:
        assert len(reader) == 6
        assert reader.config["paired"] is True and reader.config["placements"] == 3
        assert reader.config["episodes"] == 6
        rollouts = [reader.rollout(i) for i in range(6)]
        assert [r.seed for r in rollouts] == [40, 40, 41, 41, 42, 42]
        assert [r.mode for r in rollouts] == ["left", "right"] * 3
        assert all(r.user_attrs["labelled_mode"] == r.mode for r in rollouts)
        for left, right in zip(rollouts[::2], rollouts[1::2]):
            # the same placement (reset state and first observation), only the grasp differs
            np.testing.assert_array_equal(left.states()[0], right.states()[0])
            np.testing.assert_array_equal(left.obs("mug_pos")[0], right.obs("mug_pos")[0])
            assert not np.allclose(left.actions()[-1, :3], right.actions()[-1, :3], atol=0.01)


def test_paired_is_the_same_for_any_number_of_workers(tmp_path, capsys):
    one, two = tmp_path / "one.h5", tmp_path / "two.h5"
    collect("mug_grasp", 2, 7, str(one), paired=True, workers=1)
    code = main(["collect", "--scene", "mug_grasp", "--paired", "--episodes", "2", "--seed", "7",
                 "--workers", "2", "--quiet", "--out", str(two)])
    out = capsys.readouterr().out
    assert code == 0 and "wrote 4 episodes (2 placements x 2 modes)" in out
    assert "mode shares: left 0.50, right 0.50" in out
    with RecordingReader(one) as a, RecordingReader(two) as b:
        for i in range(4):
            np.testing.assert_array_equal(a.rollout(i).actions(), b.rollout(i).actions())
            assert a.rollout(i).mode == b.rollout(i).mode


def test_paired_with_a_mode_mix_is_refused_in_one_line_and_writes_nothing(tmp_path, capsys):
    code = main(["collect", "--scene", "mug_grasp", "--paired", "--mode-mix", "0.7,0.3",
                 "--episodes", "2", "--workers", "1", "--out", str(tmp_path / "x.h5")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "--paired" in err and "--mode-mix" in err
    assert os.listdir(tmp_path) == []


def test_paired_on_a_scene_with_one_mode_is_refused(tmp_path, monkeypatch, capsys):
    """A scene that knows fewer than two modes has nothing to pair (no shipped scene has one:
    a real scene with its modes narrowed to one stands in)."""
    import scenes.registry

    real = scenes.registry.make_scene

    def one_mode(name, **kwargs):
        scene = real(name, **kwargs)
        scene.modes = ("left",)
        return scene
    monkeypatch.setattr(scenes.registry, "make_scene", one_mode)
    code = main(["collect", "--scene", "mug_grasp", "--paired", "--episodes", "1",
                 "--workers", "1", "--out", str(tmp_path / "x.h5")])
    err = capsys.readouterr().err
    assert code == 2 and "--paired needs a scene with at least 2 modes; mug_grasp has 1" in err
    assert err.count("\n") == 1 and os.listdir(tmp_path) == []


@pytest.mark.parametrize("episodes", ["0", "-3"])
def test_paired_needs_at_least_one_placement(tmp_path, capsys, episodes):
    code = main(["collect", "--scene", "mug_grasp", "--paired", "--episodes", episodes,
                 "--workers", "1", "--out", str(tmp_path / "x.h5")])
    assert code == 2 and "--episodes must be >= 1" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_paired_lerobot_export_keeps_each_episodes_mode(tmp_path, capsys):
    import glob

    import pyarrow.parquet as pq

    out = tmp_path / "paired"
    code = main(["collect", "--scene", "mug_grasp", "--paired", "--episodes", "1", "--seed", "3",
                 "--workers", "1", "--quiet", "--format", "lerobot", "--out", str(out)])
    assert code == 0 and "2 episodes, 60 frames" in capsys.readouterr().out
    (episodes,) = glob.glob(str(out / "meta" / "episodes" / "*" / "*.parquet"))
    assert pq.read_table(episodes).column("planscope/mode").to_pylist() == ["left", "right"]
