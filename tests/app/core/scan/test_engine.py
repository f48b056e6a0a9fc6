"""The scan engine on a bimodal data set with known truth: the policy trained on both sides scans
clean where the data is bimodal, the one-side policy is flagged collapsed and the regression
baseline averaging there; two policies share their noise; bad input is one line."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.scan.config import ScanConfig, ScanConfigError, ScanSettings
from app.core.scan.engine import run_scan
from recordings.dataset import DatasetError
from recordings.formats.scan_reader import ScanReader
from recordings.scan_ranking import summary_json
from tests.app.core.scan.conftest import EPISODES

START = ScanSettings(every=20, num_samples=16, neighbours=8)   # frame 0 only: the bimodal state


def scan(tmp_path, name, policies, data, settings=START, **kw):
    out = tmp_path / f"{name}.h5"
    result = run_scan(ScanConfig(tuple(str(p) for p in policies), data, settings), str(out),
                      workers=kw.pop("workers", 0), **kw)
    # a scan that lost frames must fail here, naming why (not later as a summary that differs)
    assert result.failed == 0 and not result.partial, f"{name}: {result.reason}"
    return result, ScanReader(out)


def test_both_sides_clean_one_side_collapsed_regression_averaging(
        tmp_path, bimodal_h5, bimodal_ckpt, one_mode_ckpt, regression_ckpt):
    _, both = scan(tmp_path, "both", [bimodal_ckpt, one_mode_ckpt], bimodal_h5)
    _, reg = scan(tmp_path, "reg", [regression_ckpt], bimodal_h5)
    with both, reg:
        assert both.num_rows == EPISODES and both.status.startswith("complete")
        assert (both.column("data_modes")[:, 0] >= 2).all()     # the data shows both sides
        collapsed = both.column("collapsed")
        assert collapsed[:, 0].mean() <= 0.05                   # both sides kept: clean
        assert collapsed[:, 1].mean() >= 0.8                    # one side only: collapsed
        assert (both.column("modes_lost") >= 1).mean() >= 0.8   # B lost a side A kept
        assert reg.column("averaged")[:, 0].mean() >= 0.8       # regression: between the sides
        worst = both.table("worst")
        change = worst["queue"] == "change"
        assert change.sum() == EPISODES and worst["score"][change][0] >= 4


def test_same_policy_twice_gets_the_same_noise(tmp_path, bimodal_h5, bimodal_ckpt):
    settings = ScanSettings(episodes=(0, 2), every=7, num_samples=8, neighbours=8,
                            keep_plans=True)
    _, r = scan(tmp_path, "twice", [bimodal_ckpt, bimodal_ckpt], bimodal_h5, settings)
    with r:
        plans = r.rows("plans", range(r.num_rows))
        assert plans.shape == (6, 2, 8, 16, 4)
        np.testing.assert_array_equal(plans[:, 0], plans[:, 1])
        assert (r.column("demo_dist_change") == 0).all() and (r.column("modes_lost") == 0).all()
        demo = r.rows("demo", [1])[0]
        assert demo.shape == (16, 4) and r.column("frame")[1] == 7


def test_batched_frames_equal_one_frame_at_a_time(tmp_path, bimodal_h5, bimodal_ckpt):
    """F frames x N plans in one sampler call (app/core/scan/batching.py) give every frame the
    plans it gets alone (its own noise), so the metrics and the summary are the same; a batched
    call that raises is re-run frame by frame and changes nothing."""
    from app.core.scan.work import scan_context

    base = dict(episodes=(0, 2), every=3, num_samples=8, neighbours=8, keep_plans=True)
    files = {}
    for name, per_call in (("one", 1), ("auto", 0)):
        _, files[name] = scan(tmp_path, name, [bimodal_ckpt], bimodal_h5,
                              ScanSettings(**base, frames_per_call=per_call))
    config = ScanConfig((str(bimodal_ckpt),), bimodal_h5, ScanSettings(**base, frames_per_call=4))
    planner = scan_context(config).planners[0]
    calls = []

    def broken(observations, *a, **k):
        calls.append(len(observations))
        raise RuntimeError("batched call failed")

    planner.plan_frames = broken
    try:
        run_scan(config, str(tmp_path / "fallback.h5"), workers=0)
    finally:
        del planner.plan_frames
    files["fallback"] = ScanReader(tmp_path / "fallback.h5")
    assert calls and max(calls) == 4                 # it was asked for 4 frames at once
    with files["one"] as one:
        plans = one.rows("plans", range(one.num_rows))
        for name in ("auto", "fallback"):
            with files[name] as other:
                assert other.num_rows == one.num_rows > 8
                np.testing.assert_allclose(other.rows("plans", range(other.num_rows)), plans,
                                           atol=1e-5)
                np.testing.assert_allclose(other.column("demo_dist_nearest"),
                                           one.column("demo_dist_nearest"), atol=1e-5)
                _assert_close(summary_json(other.frames()), summary_json(one.frames()))
                for flag in ("collapsed", "averaged", "data_modes", "sample_modes"):
                    np.testing.assert_array_equal(other.column(flag), one.column(flag))


def _assert_close(a, b, path=""):
    """Summaries equal up to float rounding (latency aside: it is a time)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            if "latency" not in key:
                _assert_close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert np.isclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True), (path, a, b)
    else:
        assert a == b, (path, a, b)


def test_one_worker_two_workers_and_ray_give_identical_summaries(tmp_path, bimodal_h5, bimodal_ckpt):
    settings = ScanSettings(episodes=(0, 3), every=6, num_samples=8, neighbours=8)
    results = {}
    for name, workers in (("inprocess", 0), ("one", 1), ("two", 2)):
        _, r = scan(tmp_path, name, [bimodal_ckpt], bimodal_h5, settings, workers=workers)
        with r:
            results[name] = (summary_json(r.frames()), r.column("demo_dist_nearest").copy())
    ray = pytest.importorskip("ray")       # a real local Ray instance (tests install the extra)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        _, r = scan(tmp_path, "ray", [bimodal_ckpt], bimodal_h5, settings, backend="ray")
        with r:
            results["ray"] = (summary_json(r.frames()), r.column("demo_dist_nearest").copy())
    finally:
        ray.shutdown()
    assert results["one"][0] == results["inprocess"][0] == results["two"][0] == results["ray"][0]
    np.testing.assert_array_equal(results["one"][1], results["two"][1])
    np.testing.assert_array_equal(results["one"][1], results["ray"][1])


def test_a_scan_where_every_frame_fails_says_so_in_one_line(tmp_path, bimodal_h5, bimodal_ckpt):
    """No frame scanned is not a quiet empty file: the reason starts "no frame could be scanned"
    and names the planner's own error."""
    from app.core.scan.backends import InProcessBackend
    from app.core.scan.work import scan_context

    settings = ScanSettings(episodes=(0, 2), every=10, num_samples=8, neighbours=8)
    config = ScanConfig((str(bimodal_ckpt),), bimodal_h5, settings)
    planner = scan_context(config).planners[0]

    def broken(obs, num_samples, *, initial_noise=None, **k):
        raise RuntimeError("the model exploded")

    class BreaksAfterValidation(InProcessBackend):
        def start(self):            # run_scan calls it after its one validation frame
            planner.plan_frames = planner.plan = broken

    try:
        result = run_scan(config, str(tmp_path / "none.h5"),
                          backend_obj=BreaksAfterValidation(config))
    finally:
        del planner.plan_frames, planner.plan
    assert result.written == 0 and result.failed == 4 and result.partial
    assert result.reason.startswith("no frame could be scanned: 4 of 4 frames")
    assert "the model exploded" in result.reason


def test_ctrl_c_leaves_a_partial_file_and_resume_finishes_it(tmp_path, bimodal_h5, bimodal_ckpt):
    settings = ScanSettings(episodes=(0, 3), every=5, num_samples=8, neighbours=8)
    config = ScanConfig((str(bimodal_ckpt),), bimodal_h5, settings)
    out = tmp_path / "stopped.h5"

    def stop(done, total):
        raise KeyboardInterrupt

    result = run_scan(config, str(out), workers=0, progress=stop, chunk_rows=1)
    assert result.partial and "interrupted (Ctrl+C) after 4 of 12 frames" == result.reason
    with ScanReader(out) as r:
        assert r.partial and r.num_rows == 4 and "Ctrl+C" in r.status
    with pytest.raises(ScanConfigError, match="file exists; pass --resume"):
        run_scan(config, str(out), workers=0)
    again = run_scan(config, str(out), workers=0, resume=True)
    assert again.skipped == 4 and again.written == 8 and not again.partial
    full = tmp_path / "full.h5"
    run_scan(config, str(full), workers=0)
    with ScanReader(out) as a, ScanReader(full) as b:
        assert summary_json(a.frames()) == summary_json(b.frames())


def test_killed_worker_is_retried_then_reported(tmp_path, bimodal_h5, bimodal_ckpt):
    import os
    import signal

    from app.core.scan.backends import ProcessBackend
    settings = ScanSettings(episodes=(0, 2), every=10, num_samples=8, neighbours=8)
    config = ScanConfig((str(bimodal_ckpt),), bimodal_h5, settings)

    def kill_first_job(pid, job, attempt):
        if job.index == 0:
            os.kill(pid, signal.SIGKILL)

    result = run_scan(config, str(tmp_path / "killed.h5"),
                      backend_obj=ProcessBackend(config, 1, on_dispatch=kill_first_job))
    assert result.failed == 2 and result.written == 2 and result.partial
    assert "2 of 4 frames could not be scanned" in result.reason and "died" in result.reason
    with ScanReader(tmp_path / "killed.h5") as r:
        assert r.partial and r.column("episode").tolist() == [1, 1]
        assert sorted(f["frame"] for f in r.failures) == [0, 10]

    def kill_once(pid, job, attempt):
        if job.index == 0 and attempt == 1:
            os.kill(pid, signal.SIGKILL)

    retried = run_scan(config, str(tmp_path / "retried.h5"),
                       backend_obj=ProcessBackend(config, 1, on_dispatch=kill_once))
    assert retried.written == 4 and not retried.partial


class LongHistoryPlanner:
    """A user's planner (module:attr) that needs 30 frames of history."""

    def __init__(self):
        from planners.protocol import Feature, PlannerSpec
        self.spec = PlannerSpec(name="long_history", kind="plugin", action_dim=4, horizon=16,
                                features=(Feature("ee_pos", (3,)), Feature("obstacle", (2,))),
                                n_obs_steps=30)

    def plan(self, obs, num_samples, **kw):
        raise AssertionError("never sampled: the scan refuses first")


class OtherFeaturesPlanner(LongHistoryPlanner):
    def __init__(self):
        from planners.protocol import Feature, PlannerSpec
        self.spec = PlannerSpec(name="wants_joints", kind="plugin", action_dim=4, horizon=16,
                                features=(Feature("joint_pos", (7,)),))


def test_bad_input_is_one_line(tmp_path, bimodal_h5, bimodal_ckpt):
    here = "tests.app.core.scan.test_engine"
    with pytest.raises(ScanConfigError, match="empty episode range"):
        from app.core.scan.engine import parse_episodes
        parse_episodes("5:5", EPISODES, bimodal_h5)
    with pytest.raises(ScanConfigError, match="at most 20 frames, fewer than the policies' "
                                              "observation history of 30"):
        scan(tmp_path, "long", [f"{here}:LongHistoryPlanner"], bimodal_h5)
    with pytest.raises(DatasetError, match=r"policy 'A: .*wants_joints.* needs joint_pos .*"
                                           r"it has ee_pos .*obstacle"):     # both sides named
        scan(tmp_path, "joints", [f"{here}:OtherFeaturesPlanner"], bimodal_h5)
    with pytest.raises(ScanConfigError, match="one policy, or two"):
        ScanConfig(("a", "b", "c"), bimodal_h5)
    with pytest.raises(ScanConfigError, match="--num 1"):
        ScanSettings(num_samples=1)
    assert not list(tmp_path.glob("*.h5"))                       # nothing half-written
