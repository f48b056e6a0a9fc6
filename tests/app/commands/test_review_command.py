"""`planscope review DS/` takes a data-set folder (it said "is a folder, not a recording file"
right after `planscope export demos.h5 --to lerobot out/`); a broken one is still one line, exit 2,
before any window."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from app.cli import main
from tests.recordings.formats.helpers import LEROBOT_REAL


@pytest.fixture
def opened(monkeypatch):
    calls = []
    import app.qt.launch as launch
    monkeypatch.setattr(launch, "open_review", lambda paths, scene: calls.append((paths, scene)) or 0)
    return calls


def test_review_opens_a_lerobot_folder(opened):
    assert main(["review", LEROBOT_REAL]) == 0
    assert opened == [([os.path.abspath(LEROBOT_REAL)], "mug_grasp")]


def test_review_refuses_a_broken_data_set_in_one_line(opened, tmp_path, capsys):
    v21 = str(tmp_path / "v21")
    shutil.copytree(LEROBOT_REAL, v21)
    info = os.path.join(v21, "meta", "info.json")
    meta = json.load(open(info))
    meta["codebase_version"] = "v2.1"
    json.dump(meta, open(info, "w"))
    assert main(["review", v21]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "LeRobotDataset v2.1 is the older" in err
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.txt").write_text("x")
    assert main(["review", str(plain)]) == 2
    assert "is a folder, not a recording file" in capsys.readouterr().err
    assert opened == []
