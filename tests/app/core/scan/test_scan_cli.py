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


def test_data_shares_judge_every_frame_and_are_kept(tmp_path, capsys, bimodal_h5, one_mode_ckpt):
    """At the first frames the neighbours are 50/50 left/right, so the left-only policy is
    collapsed; judged against left=0.95,right=0.05 the right side is no major mode: not collapsed.
    The shares are in the file's provenance and the report."""
    def scan(name, *extra):
        out = tmp_path / name
        assert main(["scan", "--policy", str(one_mode_ckpt), "--data", bimodal_h5, "--every",
                     "20", "--num", "16", "--neighbours", "8", "--workers", "0", "--quiet",
                     "--out", str(out), *extra]) == 0
        with ScanReader(out) as r:
            return r.column("collapsed")[:, 0], r.header["data"], out
    plain, data, _ = scan("plain.h5")
    judged, given, out = scan("judged.h5", "--data-shares", "left=0.95,right=0.05")
    assert plain.mean() >= 0.8 and judged.sum() == 0
    assert "shares" not in data
    assert given["shares"] == {"left": 0.95, "right": 0.05}
    assert "left=0.95" in given["shares_source"] or "0.95" in given["shares_source"]
    assert main(["report", str(out), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "judged against" in html and "left 95%, right 5%" in html
    _, from_file, _ = scan("from_file.h5", "--data-shares", bimodal_h5)   # the demos' own shares
    assert from_file["shares"] == {"left": 0.5, "right": 0.5}


@pytest.mark.parametrize("shares, message", [
    ("up=0.5,down=0.5", "does not have (its modes: left, right)"),
    ("left=0.7", "shares sum to 0.7, not 1"),
])
def test_bad_data_shares_are_one_line(tmp_path, capsys, bimodal_h5, bimodal_ckpt, shares,
                                      message):
    code = main(["scan", "--policy", str(bimodal_ckpt), "--data", bimodal_h5, "--workers", "0",
                 "--data-shares", shares, "--out", str(tmp_path / "s.h5")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert os.listdir(tmp_path) == []


def test_a_scan_that_wrote_no_frame_ends_in_one_line(tmp_path, capsys, bimodal_h5, bimodal_ckpt):
    """Every frame failing after validation: no summary of an empty file, one line naming the
    error, exit 1 (the planner works for the validation frame, then raises)."""
    from app.core.scan.config import ScanConfig, ScanSettings
    from app.core.scan.work import drop_contexts, scan_context

    settings = ScanSettings(episodes=(0, 2), every=10, num_samples=8, solver="", steps=0,
                            neighbours=4, seed=0, keep_plans=False, device="cpu",
                            frames_per_call=0)
    # the CLI's own config, so --workers 0 finds this context (and its patched planner)
    planner = scan_context(ScanConfig((str(bimodal_ckpt),), os.path.abspath(bimodal_h5),
                                      settings)).planners[0]
    calls, plan = [], planner.plan

    def plan_once(obs, num_samples, *, initial_noise=None, **k):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("weights went missing")
        return plan(obs, num_samples, initial_noise=initial_noise, **k)

    def plan_frames(*a, **k):
        raise RuntimeError("weights went missing")

    planner.plan, planner.plan_frames = plan_once, plan_frames
    out = tmp_path / "scan.h5"
    try:
        code = main(["scan", "--policy", str(bimodal_ckpt), "--data", bimodal_h5, "--episodes",
                     "0:2", "--every", "10", "--num", "8", "--neighbours", "4", "--workers", "0",
                     "--quiet", "--out", str(out)])
    finally:
        drop_contexts()
    captured = capsys.readouterr()
    assert code == 1 and len(calls) > 1 and "hardest frames" not in captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"planscope: error: scan wrote no frames to {out}")
    assert "4 of 4 frames could not be scanned" in lines[0] and "weights went missing" in lines[0]
