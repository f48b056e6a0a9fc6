"""`planscope snapshot` checks --data and --recording before any window, naming the flag the
user typed (a bad --data was reported as "--recording ...")."""
from __future__ import annotations

from app.cli import main


def test_a_bad_data_path_names_data(tmp_path, capsys):
    folder = tmp_path / "randomfiles"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"\0" * 10)
    out = str(tmp_path / "x.png")
    assert main(["snapshot", "--view", "inspector", "--data", str(folder), "--out", out]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith(f"planscope: error: --data {folder}: is a folder, not a recording")
    assert main(["snapshot", "--view", "review", "--data", str(tmp_path / "nope"), "--out",
                 out]) == 2
    assert f"--data {tmp_path / 'nope'}: no such file or folder" in capsys.readouterr().err
    assert main(["snapshot", "--recording", str(folder), "--out", out]) == 2
    assert f"--recording {folder}: is a folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [folder]
