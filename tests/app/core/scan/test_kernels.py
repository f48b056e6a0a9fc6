"""Kernel calibration for a scan happens once in the parent (app/core/scan/kernels.py): the batch
sizes the workers' jobs will use, each bucket once, skipped when cached, said on the command line;
the validation frame never calibrates. The accelerator here is a stand-in that records calls
(a real calibration of a >1 M-parameter model takes tens of seconds)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from app.core.scan.config import FrameJob, make_jobs
from app.core.scan.kernels import (calibrate_for_jobs, no_calibration, torch_threads,
                                   worker_rows)


@dataclass
class Best:
    reduced: bool


@dataclass
class Found:
    best: Best


@dataclass
class FakeAccelerator:
    known: set = field(default_factory=set)
    reduced: str | None = "bfloat16"
    directory: str = "/cache/acceleration"
    background: object = None
    calibrated: list = field(default_factory=list)
    winner_reduced: bool = False

    def known_calibration(self, n):
        from planners.acceleration.calibration import batch_bucket
        return Found(Best(self.winner_reduced)) if batch_bucket(n) in self.known else None

    def calibration(self, n):
        from planners.acceleration.calibration import batch_bucket
        self.calibrated.append(batch_bucket(n))
        self.known.add(batch_bucket(n))
        return Found(Best(self.winner_reduced))


@dataclass
class FakeAcceleration:
    acc: FakeAccelerator
    enabled: bool = True
    small_variant: object = None
    fidelity: object = None
    fidelity_checks: int = 0

    def check_fidelity(self):
        self.fidelity_checks += 1
        self.fidelity = "passed"


class Planner:
    def __init__(self, **kw):
        self.acceleration = FakeAcceleration(FakeAccelerator(**kw))


def test_worker_rows_follow_the_jobs_frames_per_call():
    # episodes of 20, 7 and 1 scanned frames at every=1: jobs of 16+4, 7, 1 frames
    jobs = make_jobs({0: 20, 1: 7, 2: 1}, every=1)
    assert [len(j.frames) for j in jobs] == [16, 4, 7, 1]
    assert worker_rows(jobs, per_call=16, num_samples=32, batched=True) == [32, 128, 224, 512]
    assert worker_rows(jobs, per_call=4, num_samples=8, batched=True) == [8, 24, 32]
    assert worker_rows(jobs, per_call=16, num_samples=32, batched=False) == [32]


def test_each_bucket_is_calibrated_once_cached_ones_skipped_and_said():
    planner = Planner(known={128})
    said = []
    lines = calibrate_for_jobs([planner], ["A"], [40, 64, 100, 128, 200], said.append)
    assert planner.acceleration.acc.calibrated == [64, 256]    # 40, 64 -> 64; 100, 128 cached
    assert said == lines and len(lines) == 2
    assert lines[0] == ("calibrating kernels for policy 'A' at 64 rows per call (one-off, "
                        "cached in /cache/acceleration) ...")
    assert calibrate_for_jobs([planner], ["A"], [40, 200], said.append) == []   # now cached
    assert planner.acceleration.fidelity_checks == 0                           # float32 won


def test_reduced_precision_winning_runs_the_fidelity_check_once_and_plugins_are_skipped():
    planner = Planner(winner_reduced=True)
    calibrate_for_jobs([planner, object()], ["A", "plugin"], [16, 512])
    assert planner.acceleration.acc.calibrated == [16, 256]
    assert planner.acceleration.fidelity_checks == 1
    off = Planner()
    off.acceleration.enabled = False                 # fast path off: nothing to calibrate
    assert calibrate_for_jobs([off], ["B"], [16]) == [] and off.acceleration.acc.calibrated == []


def test_no_calibration_puts_the_accelerator_in_a_mode_that_never_starts_one_and_restores_it():
    planner = Planner()
    acc = planner.acceleration.acc
    with no_calibration([planner, object()]):
        assert acc.background is not None and acc.background(lambda: 1 / 0) is None
    assert acc.background is None
    with pytest.raises(RuntimeError), no_calibration([planner]):
        raise RuntimeError("validation failed")
    assert acc.background is None


def test_torch_threads_is_set_inside_and_restored():
    import torch
    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before


def test_worker_rows_of_no_jobs_is_empty():
    assert worker_rows([], 16, 32, True) == []
    assert worker_rows([FrameJob(0, 0, (0,))], 16, 32, True) == [32]


def test_a_small_models_bfloat16_step_is_checked_once_here_not_calibrated():
    from planners.acceleration.policy_acceleration import SMALL_REDUCED, SMALL_REDUCED_ROWS
    small = Planner()
    small.acceleration.enabled, small.acceleration.small_variant = False, object()
    small.acceleration.small_reduced = SMALL_REDUCED
    said = []
    assert calibrate_for_jobs([small], ["S"], [SMALL_REDUCED_ROWS - 1], said.append) == []   # below the step
    lines = calibrate_for_jobs([small], ["S"], [8, SMALL_REDUCED_ROWS], said.append)
    assert lines == said == ["checking bfloat16 against float32 for policy 'S' (one-off, cached in "
                             "/cache/acceleration) ..."]
    assert small.acceleration.fidelity_checks == 1 and small.acceleration.acc.calibrated == []
    assert calibrate_for_jobs([small], ["S"], [512], said.append) == []            # known now: once
