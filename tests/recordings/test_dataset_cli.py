"""`planscope export F --to lerobot DIR` and `planscope collect ... --format lerobot`: the folder
they write opens in planscope's reader with the recording's values; bad input is one line and
exit code 2, nothing written."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np

from app.cli import main
from recordings.dataset import open_dataset
from tests.recordings.formats.helpers import EXPORT_DIR, LEROBOT_REAL

DEMOS = os.path.join(EXPORT_DIR, "demos.h5")


def test_export_command(tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["export", DEMOS, "--to", "lerobot", out, "--camera", "front"]) == 0
    assert "wrote LeRobotDataset v3" in capsys.readouterr().out
    ds, src = open_dataset(out), open_dataset(DEMOS)
    assert [e.mode for e in ds.episodes] == [e.mode for e in src.episodes]
    np.testing.assert_array_equal(ds.episode_slice(2)["action"],
                                  src.episode_slice(2)["actions"].astype(np.float32))
    assert ds.features["observation.images.front"].video


def test_export_bad_input_is_one_line(tmp_path, capsys):
    v21 = str(tmp_path / "v21")
    shutil.copytree(LEROBOT_REAL, v21)
    info = os.path.join(v21, "meta", "info.json")
    meta = json.load(open(info))
    meta["codebase_version"] = "v2.1"
    json.dump(meta, open(info, "w"))
    assert main(["export", v21, "--to", "lerobot", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "LeRobotDataset v2.1 is the older" in err
    assert main(["export", DEMOS, "--to", "lerobot", str(tmp_path / "o"), "--camera",
                 "wrist"]) == 2
    assert "no camera 'wrist' recorded" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["v21"]


def test_collect_format_lerobot(tmp_path, capsys):
    out = str(tmp_path / "demos")
    assert main(["collect", "--scene", "mug_grasp", "--episodes", "2", "--workers", "1",
                 "--quiet", "--format", "lerobot", "--out", out]) == 0
    ds = open_dataset(out)
    assert len(ds) == 2 and all(e.mode in ("left", "right") for e in ds.episodes)
    assert all(e.success is not None for e in ds.episodes)
    assert ds.features["observation.state"].names[:3] == ("ee_pos.0", "ee_pos.1", "ee_pos.2")
    assert sorted(os.listdir(tmp_path)) == ["demos"]        # the temporary recording is gone


def test_export_over_an_existing_folder_names_the_out_argument(tmp_path, capsys):
    """The usage line calls the output OUT; the refusal used to call it DIR. An existing
    non-empty folder is kept untouched unless --force."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert main(["export", DEMOS, "--to", "lerobot", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith(f"planscope: error: OUT {out}: folder exists; pass --force")
    assert sorted(os.listdir(out)) == ["mine.txt"]
    (tmp_path / "f.txt").write_text("x")
    assert main(["export", DEMOS, "--to", "lerobot", str(tmp_path / "f.txt")]) == 2
    assert "OUT " in capsys.readouterr().err
    assert main(["export", DEMOS, "--to", "lerobot", str(out), "--force"]) == 0
    assert sorted(os.listdir(out)) == ["data", "meta"]
