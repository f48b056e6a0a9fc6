"""planscope scan from the command line: a small scan end to end, and every bad input as one line
with exit code 2 and nothing written."""
from __future__ import annotations

import os

import pytest

from app.cli import main
from recordings.formats.scan_reader import ScanReader


def test_scan_prints_the_summary_and_writes_the_file(tmp_path, capsys, bimodal_h5, bimodal_ckpt):
    out = tmp_path / "scan.h5"
    argv = ["scan", "--policy", str(bimodal_ckpt), "--data", bimodal_h5, "--episodes", "0:2",
            "--every", "10", "--num", "8", "--neighbours", "4", "--workers", "0", "--quiet",
            "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "complete (4 frames)" in text and "hardest frames" in text
    assert f"wrote {out}: 4 frames" in text
    with ScanReader(out) as r:
        assert r.column("frame").tolist() == [0, 10, 0, 10]
        assert r.header["settings"]["episodes"] == [0, 2]
    assert main(argv) == 2                                          # exists: --resume or --force
    assert "pass --resume to finish it or --force to replace it" in capsys.readouterr().err
    assert main(argv + ["--force"]) == 0


@pytest.mark.parametrize("extra, message", [
    (["--episodes", "7:7"], "empty episode range"),
    (["--every", "0"], "--every 0: must be >= 1"),
    (["--num", "1"], "--num 1"),
    (["--backend", "ray", "--ray-address", "127.0.0.1:1"], "cannot reach it"),
])
def test_bad_input_is_one_line(tmp_path, capsys, bimodal_h5, bimodal_ckpt, extra, message):
    out = tmp_path / "scan.h5"
    code = main(["scan", "--policy", str(bimodal_ckpt), "--data", bimodal_h5, "--workers", "0",
                 "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert os.listdir(tmp_path) == []


def test_missing_data_and_folder(tmp_path, capsys, bimodal_ckpt):
    assert main(["scan", "--policy", str(bimodal_ckpt), "--data", str(tmp_path / "none.h5"),
                 "--out", str(tmp_path / "s.h5")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["scan", "--policy", str(bimodal_ckpt), "--data", str(tmp_path),
                 "--out", str(tmp_path / "missing" / "s.h5")]) == 2
    assert "does not exist" in capsys.readouterr().err
