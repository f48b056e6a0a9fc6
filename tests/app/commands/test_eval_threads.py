"""`planscope eval --threads K` (planners/threads.py): every worker process runs K torch threads,
1 by default; bad values are one line. A probe planner (the mug_grasp expert plus torch) writes,
from inside each worker, its pid and torch.get_num_threads() at every replan."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from app.cli import main
from app.core.evaluation.expert_planner import ExpertPlanner
from planners.threads import (THREADS_ENV, WORKER_THREADS_ENV, check_threads, worker_threads,
                              worker_threads_env)

PROBE = "tests.app.commands.test_eval_threads:thread_probe"
PROBE_LOG_ENV = "PLANSCOPE_THREAD_PROBE_LOG"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class ThreadProbe(ExpertPlanner):
    """The scripted expert as a planner that also records the torch threads it plans with."""

    def plan(self, obs, num_samples, **kwargs):
        log = os.environ.get(PROBE_LOG_ENV)
        if log:
            with open(log, "a") as f:
                f.write(f"{os.getpid()} {torch.get_num_threads()}\n")
        return super().plan(obs, num_samples, **kwargs)


def thread_probe() -> ThreadProbe:
    return ThreadProbe("mug_grasp")


def probe_lines(log) -> list[tuple[int, int]]:
    """(pid, torch threads) per replan the probe saw."""
    return [tuple(int(x) for x in line.split()) for line in log.read_text().splitlines()]


def eval_args(out, *extra: str) -> list[str]:
    return ["eval", "--policy", PROBE, "--scene", "mug_grasp", "--seeds", "0:2",
            "--record-samples", "2", "--max-steps", "10", "--quiet", "--out", str(out), *extra]


@pytest.fixture
def restore_torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_each_worker_process_runs_k_threads(tmp_path):
    log = tmp_path / "probe.log"
    env = {**os.environ, PROBE_LOG_ENV: str(log), THREADS_ENV: "1"}   # this process's own override
    env.pop(WORKER_THREADS_ENV, None)
    proc = subprocess.Popen([sys.executable, "-m", "app.cli",
                             *eval_args(tmp_path / "k.h5", "--workers", "2", "--threads", "3")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "workers=2, 3 torch threads each" in err
    seen = probe_lines(log)
    assert {threads for _, threads in seen} == {3}
    in_workers = [pid for pid, _ in seen if pid != proc.pid]   # the parent samples once to check
    assert len(in_workers) >= 4                                # 2 rollouts x 2 replans


def test_default_is_one_thread_and_the_setting_does_not_leak(tmp_path, monkeypatch,
                                                             restore_torch_threads):
    log = tmp_path / "probe.log"
    monkeypatch.setenv(PROBE_LOG_ENV, str(log))
    monkeypatch.delenv(WORKER_THREADS_ENV, raising=False)
    torch.set_num_threads(2)
    assert main(eval_args(tmp_path / "one.h5", "--workers", "0")) == 0
    assert {threads for _, threads in probe_lines(log)} == {1}

    log.unlink()
    assert main(eval_args(tmp_path / "two.h5", "--workers", "0", "--threads", "2")) == 0
    assert {threads for _, threads in probe_lines(log)} == {2}
    assert WORKER_THREADS_ENV not in os.environ             # restored after the run


@pytest.mark.parametrize("value", ["0", "-2"])
def test_bad_threads_is_one_line_and_writes_nothing(tmp_path, capsys, value):
    out = tmp_path / "bad.h5"
    assert main(eval_args(out, "--workers", "0", "--threads", value)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"planscope: error: --threads must be >= 1, got {value}"]
    assert not out.exists()


def test_worker_threads_env_is_scoped():
    env = {WORKER_THREADS_ENV: "5"}                         # the user's own setting survives
    with worker_threads_env(None, env) as threads:
        assert threads == 5 and worker_threads(env) == 5
    with worker_threads_env(2, env) as threads:
        assert threads == 2 and env[WORKER_THREADS_ENV] == "2"
    assert env == {WORKER_THREADS_ENV: "5"}
    empty: dict = {}
    with worker_threads_env(4, empty):
        assert worker_threads(empty) == 4
    assert empty == {} and worker_threads(empty) == 1
    assert worker_threads({WORKER_THREADS_ENV: "many"}) == 1 and check_threads(None) is None
