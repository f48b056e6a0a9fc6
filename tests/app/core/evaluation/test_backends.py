"""Closed-loop evaluation on the real mug_grasp scene: backends agree, faults do not lose the run.

The policies are the scene's scripted expert wrapped as a planner and its mode-averaging variant
(app/core/evaluation/expert_planner.py): cheap, no checkpoint, and one of them collides by design.
"""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from app.core.evaluation.config import EvalConfig, RolloutSettings
from app.core.evaluation.evaluate import run_evaluation
from app.core.evaluation.failure_labels import FAILED_TO_RUN
from app.core.evaluation.summary import load_summary
from recordings.reader import RecordingReader

BASELINE = "app.core.evaluation.expert_planner:mug_grasp_averaging"
CANDIDATE = "app.core.evaluation.expert_planner:mug_grasp_expert"
# wall-clock columns differ run to run by nature; everything else must be identical
TIMING = {"latency_ms_mean", "latency_ms_max"}


def small_config(seeds=(0, 1), perturbations=({"obs_noise": 0.01}, {"delay": 2})) -> EvalConfig:
    return EvalConfig(policies=[BASELINE, CANDIDATE], seeds=list(seeds),
                      perturbations=[dict(p) for p in perturbations],
                      settings=RolloutSettings(scene="mug_grasp", record_samples=4))


def comparable(path: str) -> dict[str, np.ndarray]:
    with RecordingReader(path) as r:
        cols = {k: v for k, v in r.summary.items() if k not in TIMING}
        cols["actions"] = np.concatenate([r.rollout(i).actions() for i in range(len(r))])
        cols["samples"] = np.concatenate([r.rollout(i).replans.samples().reshape(-1)
                                          for i in range(len(r))])
    return cols


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("eval") / "w1.h5")
    result = run_evaluation(small_config(), out, workers=1, durable=False)
    assert result.written == 12 and not result.partial and result.failed == 0
    return out


def test_one_worker_artifact_has_the_grid_and_the_failure_is_visible(one_worker):
    s = load_summary(one_worker)
    assert s.policies == ["mug_grasp_averaging", "mug_grasp_expert"]
    assert s.perturbations == ["nominal", "obs_noise=0.01", "delay=2"]
    assert s.num_rollouts == 12 and not s.partial
    base, cand = s.overall("mug_grasp_averaging"), s.overall("mug_grasp_expert")
    assert base.successes == 0 and base.unsafe_events >= 4      # averaging descends onto the rim
    assert cand.rate > 0.7 and cand.unsafe_events < base.unsafe_events
    assert s.cells[("mug_grasp_expert", "nominal")].rate == 1.0
    labels = s.columns["failure_label"][s.rows("mug_grasp_averaging", "nominal")]
    assert set(labels) == {"planning"}                           # contact between the modes
    with RecordingReader(one_worker) as r:
        ro = r.rollout(0)
        assert r.config["eval"]["seeds"] == [0, 1]
        assert list(r.seed_panel) == [0, 1]
        assert r.code_version[0]
        assert len(ro.replans) >= 1 and ro.replans[0].samples.shape == (4, 16, 4)
        assert len(ro.replans[0].mode_labels) == 4 and ro.replans[0].feasible.shape == (4,)
        assert ro.replans[0].latency_ms > 0
        assert ro.num_steps == ro.states().shape[0] == ro.obs("ee_pos").shape[0]


def test_two_workers_and_ray_match_one_worker(one_worker, tmp_path):
    two = str(tmp_path / "w2.h5")
    run_evaluation(small_config(), two, workers=2, durable=False)
    assert_same(comparable(one_worker), comparable(two))

    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = str(tmp_path / "ray.h5")
        run_evaluation(small_config(), on_ray, backend="ray", durable=False)
    finally:
        ray.shutdown()
    assert_same(comparable(one_worker), comparable(on_ray))


def test_killed_worker_is_retried_then_marked_failed_to_run(one_worker, tmp_path):
    kills: list[tuple[int, int]] = []

    def kill(pid: int, job, attempt: int) -> None:
        # job 3: killed on its first try only (the retry succeeds); job 5: killed on both tries
        if (job.index == 3 and attempt == 1) or job.index == 5:
            kills.append((job.index, attempt))
            os.kill(pid, signal.SIGKILL)

    out = str(tmp_path / "killed.h5")
    result = run_evaluation(small_config(), out, workers=2, on_dispatch=kill, durable=False)
    assert sorted(kills) == [(3, 1), (5, 1), (5, 2)]
    assert result.written == 12 and result.failed == 1 and not result.partial
    with RecordingReader(out) as r:                     # a valid, complete artifact
        assert len(r) == 12 and not r.partial
        labels = list(r.summary["failure_label"])
        assert labels.count(FAILED_TO_RUN) == 1 and labels[5] == FAILED_TO_RUN
        assert "died" in r.rollout(5).user_attrs["error"]
    good = comparable(one_worker)
    mine = comparable(out)
    keep = np.arange(12) != 5
    for key in ("seed", "policy", "perturbation"):
        np.testing.assert_array_equal(good[key], mine[key])
    np.testing.assert_array_equal(good["success"][keep], mine["success"][keep])
