"""Kernel calibration for a scan, done once in the parent before any worker starts.

A policy with the fast path (planners/acceleration) measures its kernels the first time it samples
a batch size (`batch_bucket(rows)`: the next power of two) and caches the choice on disk, keyed by
the model, the bucket and the machine signature (torch threads included). A scan's workers sample
F frames x N plans per call, so a cold cache made EVERY worker calibrate every bucket its jobs
hit, at the same time, duplicating minutes of work under load with nothing on the terminal; and
the parent's one validation frame calibrated a bucket (with the parent's threads) no worker uses.
Measured before this module (`planscope scan --policy tests/app/qt/inspector/fixtures/
lerobot_mug_grasp --data tests/recordings/formats/data/lerobot_v3/dataset --every 3 --num 16`,
under load): 2 min 14 s wall for "10 frames in 50.3 s", ~85 s of it calibrations (docs/scan.md).

Now, in process and for local workers and a local Ray instance (they share this machine's cache):
- with workers, this process uses their torch threads (1) while it validates and calibrates, so
  its cache keys are theirs;
- the validation frame never calibrates (`no_calibration`: the nearest calibrated bucket's
  choice, else the model's own forward);
- `calibrate_for_jobs` measures each bucket the jobs will use once, here, saying so on the
  command line ("calibrating kernels ... (one-off, cached in DIR)"); the workers then read the
  cache. A policy under the small-model rule is not calibrated; when its rows reach the rule's
  bfloat16 step, its fidelity check runs here once ("checking bfloat16 against float32 ..."),
  cached on disk for the workers (the report's key does not depend on threads).
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterable, Iterator, Sequence

Notice = Callable[[str], None]


def _acceleration(planner: Any):
    """The planner's PolicyAcceleration when it calibrates (enabled, not the small-model rule)."""
    acc = getattr(planner, "acceleration", None)
    if acc is None or not getattr(acc, "enabled", False) or \
            getattr(acc, "small_variant", None) is not None:
        return None
    return acc


def _small_rows() -> int:
    from planners.acceleration.policy_acceleration import SMALL_REDUCED_ROWS
    return SMALL_REDUCED_ROWS


def worker_rows(jobs: Iterable[Any], per_call: int, num_samples: int, batched: bool) -> list[int]:
    """The batch sizes (rows = frames x N) the workers' sampler calls will have, sorted: each job's
    frames go in groups of `per_call` (app/core/scan/batching.sample_frames); a group of one
    frame, or any frame of a planner that cannot batch, is one call of N rows."""
    rows = set()
    for job in jobs:
        count = len(job.frames)
        for lo in range(0, count, max(1, per_call)):
            group = min(per_call, count - lo)
            rows.add(group * num_samples if batched and group > 1 else num_samples)
    return sorted(rows)


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """torch uses `count` intra-op threads inside the block (restored after)."""
    import torch
    before = torch.get_num_threads()
    if before != count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


@contextlib.contextmanager
def no_calibration(planners: Sequence[Any]) -> Iterator[None]:
    """Sampling inside the block never calibrates: an uncalibrated batch size runs with the
    nearest calibrated bucket's kernel, else the model's own float32 forward (the accelerator's
    background mode with a starter that starts nothing); no fidelity check either."""
    saved = []
    for planner in planners:
        acc = _acceleration(planner)
        if acc is not None and acc.acc.background is None:
            saved.append(acc.acc)
            acc.acc.background = lambda job: None
    try:
        yield
    finally:
        for accelerator in saved:
            accelerator.background = None


def calibrate_for_jobs(planners: Sequence[Any], labels: Sequence[str], rows: Sequence[int],
                       notice: Notice | None = None) -> list[str]:
    """Calibrate (and fidelity-check, when reduced precision wins) every bucket of `rows` that is
    not in the cache yet, for each planner; `notice(line)` before each. Returns the lines said."""
    from planners.acceleration.calibration import batch_bucket

    said: list[str] = []
    for planner, label in zip(planners, labels):
        small = getattr(getattr(planner, "acceleration", None), "small_reduced", None)
        if small is not None and max(rows, default=0) >= _small_rows() and planner.acceleration.fidelity is None:
            # the small-model rule's bfloat16 step (planners/acceleration): its fidelity check once
            # here, cached on disk, instead of once in every worker
            acc = planner.acceleration
            line = (f"checking {small.precision} against float32 for policy {label!r} "
                    f"(one-off, cached in {acc.acc.directory}) ...")
            said.append(line)
            if notice is not None:
                notice(line)
            acc.check_fidelity()
            continue
        acc = _acceleration(planner)
        if acc is None:
            continue
        todo = sorted({batch_bucket(r) for r in rows}
                      - {batch_bucket(r) for r in rows if acc.acc.known_calibration(r) is not None})
        for bucket in todo:
            line = (f"calibrating kernels for policy {label!r} at {bucket} rows per call "
                    f"(one-off, cached in {acc.acc.directory}) ...")
            said.append(line)
            if notice is not None:
                notice(line)
            found = acc.acc.calibration(bucket)
            if found.best.reduced and acc.fidelity is None and acc.acc.reduced:
                acc.check_fidelity()
    return said
