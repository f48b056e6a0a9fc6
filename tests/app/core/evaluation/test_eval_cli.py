"""planscope eval / report from the command line: Ctrl+C leaves a partial artifact that --resume
finishes; bad input is one line and exit code 2; the report is one self-contained HTML file."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

from app.cli import main
from app.core.evaluation.summary import load_summary
from planners.protocol import PlannerSpec
from recordings.reader import RecordingReader

EXPERT = "app.core.evaluation.expert_planner:mug_grasp_expert"
AVERAGING = "app.core.evaluation.expert_planner:mug_grasp_averaging"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class OtherScenePlanner:
    """A planner made for another scene (used to check the one-line refusal)."""
    spec = PlannerSpec(name="reach_policy", kind="plugin", scene="obstacle_reach", obs_dim=12,
                       action_dim=4, horizon=16)

    def plan(self, obs, num_samples, **kw):
        raise AssertionError("never called")


def eval_args(out: str, seeds: str = "0:12", *extra: str) -> list[str]:
    return ["eval", "--policy", EXPERT, "--scene", "mug_grasp", "--seeds", seeds,
            "--record-samples", "2", "--quiet", "--out", out, *extra]


def test_ctrl_c_leaves_a_partial_artifact_and_resume_finishes_it(tmp_path):
    out = str(tmp_path / "run.h5")
    cmd = [sys.executable, "-m", "app.cli", *eval_args(out, "0:12", "--workers", "1")]
    cmd.remove("--quiet")                 # progress lines tell us when rollouts are saved
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        for line in proc.stderr:
            if line.startswith("[ 3/12]"):
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    with RecordingReader(out) as r:
        assert r.partial
        done = len(r)
        assert 3 <= done < 12
        assert r.rollout(done - 1).num_steps > 0          # the last one is whole
    assert load_summary(out).partial

    assert main(eval_args(out, "0:12", "--workers", "0", "--resume")) == 0
    with RecordingReader(out) as r:
        assert len(r) == 12 and not r.partial
        assert sorted(r.summary["seed"].tolist()) == list(range(12))   # nothing run twice


def test_resume_refuses_a_different_panel(tmp_path, capsys):
    out = str(tmp_path / "one.h5")
    assert main(eval_args(out, "0:1", "--workers", "0")) == 0
    capsys.readouterr()
    assert main(eval_args(out, "0:2", "--workers", "0", "--resume")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different seeds" in err[0]


@pytest.mark.parametrize("args, message", [
    (["--scene", "no_such_scene"], "unknown scene 'no_such_scene'"),
    (["--seeds", "9:3"], "--seeds '9:3'"),
    (["--seeds", "a:b"], "--seeds 'a:b'"),
    (["--perturb", "gravity=2"], "unknown perturbation 'gravity'"),
    (["--policy", "tests.app.core.evaluation.test_eval_cli:OtherScenePlanner"], "trained for scene"),
    (["--out", "/no/such/folder/x.h5"], "does not exist"),
    (["--backend", "ray", "--ray-address", "127.0.0.1:1"], "cannot reach it"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    base = {"--policy": EXPERT, "--scene": "mug_grasp", "--seeds": "0:2",
            "--out": str(tmp_path / "x.h5")}
    extra = []
    for flag, value in zip(args[::2], args[1::2]):
        if flag in base:
            base[flag] = value
        else:
            extra += [flag, value]
    argv = ["eval", "--workers", "0"] + [x for kv in base.items() for x in kv] + extra
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("planscope: error:") and message in err[0], err
    assert not os.path.exists(tmp_path / "x.h5")


def test_unwritable_or_wrong_output_paths(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if not os.access(folder, os.W_OK):     # root can write anywhere: skip only this case
            assert main(eval_args(str(folder / "x.h5"), "0:1", "--workers", "0")) == 2
            assert "not writable" in capsys.readouterr().err
    finally:
        folder.chmod(0o700)
    assert main(eval_args(str(tmp_path), "0:1", "--workers", "0")) == 2
    assert "is a folder" in capsys.readouterr().err
    existing = tmp_path / "done.h5"
    existing.write_bytes(b"x")
    assert main(eval_args(str(existing), "0:1", "--workers", "0")) == 2
    assert "file exists; pass --resume" in capsys.readouterr().err
    assert existing.read_bytes() == b"x"                   # nothing was overwritten


def test_eval_prints_the_verdict_and_report_is_self_contained(tmp_path, capsys):
    out = str(tmp_path / "ab.h5")
    argv = ["eval", "--policy", AVERAGING, "--policy", EXPERT, "--scene", "mug_grasp",
            "--seeds", "0:3", "--perturb", "delay=2", "--record-samples", "4", "--workers", "0",
            "--quiet", "--accept-metric", "success", "--min-improvement", "0.10", "--out", out]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "ACCEPT: mug_grasp_expert over mug_grasp_averaging" in printed
    assert re.search(r"unsafe events: 6 -> 0 \(change -6", printed), printed

    html_path = str(tmp_path / "report.html")
    assert main(["report", out, "--out", html_path]) == 0
    html = open(html_path, encoding="utf-8").read()
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") >= 4
    # self-contained: nothing is fetched, nothing runs
    assert not re.search(r"<script|<link|@import|src=|https?://(?!www\.w3\.org/2000/svg)", html)
    assert "ACCEPT" in html and "Worst rollouts" in html and "delay=2" in html
    worst = html.split("Worst rollouts")[1].split("Configuration")[0]
    assert worst.count("<tr>") == 1 + 12                    # header + every rollout (< 20)
    assert worst.index("mug_grasp_averaging") < worst.index("mug_grasp_expert")  # failures first


def test_report_of_a_demos_file_is_refused(tmp_path, capsys):
    from recordings.writer import RecordingWriter
    path = str(tmp_path / "demos.h5")
    with RecordingWriter(path, kind="demos", durable=False):
        pass
    assert main(["report", path, "--out", str(tmp_path / "r.html")]) == 2
    assert "not an evaluation artifact" in capsys.readouterr().err


def test_force_replaces_only_an_evaluation_artifact(tmp_path, capsys):
    """`eval --out demos.h5 --force` deleted the demonstrations the moment the run started: --force
    replaces an earlier eval output only; anything else is one line and stays untouched."""
    from recordings.writer import RecordingWriter
    demos = tmp_path / "demos.h5"
    with RecordingWriter(str(demos), kind="demos", durable=False):
        pass
    before = demos.read_bytes()
    assert main(eval_args(str(demos), "0:1", "--workers", "0", "--force")) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is a 'demos' recording, not an evaluation artifact" in err
    assert demos.read_bytes() == before
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"x")
    assert main(eval_args(str(junk), "0:1", "--workers", "0", "--force")) == 2
    assert "is not a planscope recording" in capsys.readouterr().err and junk.read_bytes() == b"x"
    out = str(tmp_path / "e.h5")
    assert main(eval_args(out, "0:1", "--workers", "0")) == 0
    assert main(eval_args(out, "0:2", "--workers", "0", "--force")) == 0   # an eval output: replaced
    with RecordingReader(out) as r:
        assert r.kind == "eval" and len(r.summary["seed"]) == 2
