"""One-off costs of a freshly loaded policy, paid while it is loading instead of in its first sample.

    if needs_warmup(planner):
        reason = warm_policy(planner, num_samples, progress=post_to_status_bar, clock=clock)

A diffusion planner that samples through planners/acceleration measures its kernels the first
time a batch size comes up (calibration; tens of seconds at 65 M parameters under load) and runs
the bfloat16 fidelity check the first time reduced precision would be used (136 s measured at
65 M). Inline, both stall the inspector's first sample; run here on the loading worker, the status
bar says what is happening and the Policy panel's Precision row shows the outcome. Both results
are cached on disk per machine, so a second load is quick. Qt-free: the inspector's controller
(app/qt/inspector/controller.py) calls it from a job and posts `progress` to the GUI thread.
"""
from __future__ import annotations

import time
from typing import Any, Callable

CALIBRATING = "Calibrating kernels for this machine…"


def acceleration_of(planner: Any) -> Any:
    """The planner's planners.acceleration.PolicyAcceleration, or None (no fast path: planscope's
    small models, plugins, the regression baseline)."""
    acc = getattr(planner, "acceleration", None)
    if acc is None:
        return None
    # a calibrating fast path, or the small-model rule with a bfloat16 variant behind the check
    return acc if getattr(acc, "enabled", False) or getattr(acc, "small_reduced", None) is not None else None


def needs_warmup(planner: Any) -> bool:
    return acceleration_of(planner) is not None


def warmup_message(planner: Any) -> str:
    """The status line while the warm-up runs: calibrating, or (the small-model rule, nothing to
    time) only the reduced-precision check."""
    acc = acceleration_of(planner)
    if acc is None or getattr(acc, "enabled", False) or acc.acc.reduced is None:
        return CALIBRATING
    return _checking(acc)


def _checking(acc: Any) -> str:
    return f"Checking {acc.acc.reduced} against float32 on this policy (once per machine)…"


def warm_policy(planner: Any, num_samples: int, progress: Callable[[str], None],
                clock: Callable[[], float] = time.monotonic) -> str:
    """Calibrate the kernels for N = num_samples (the inspector's N) and, where reduced precision
    exists, run the fidelity check; refresh spec.extra["precision"] (the Policy panel's row).
    progress(text) gets one line per phase and a last line with the seconds it took (read from
    `clock`). Returns the precision reason ("" when the planner has no fast path). An error in
    either phase is reported through progress and leaves the sampler in float32: the first sample
    still runs (and measures inline, as before)."""
    acc = acceleration_of(planner)
    if acc is None:
        return ""
    start = clock()
    # from now on a new N samples at once with the best known kernels and is calibrated in the
    # background (planners/acceleration): only the inspector's N is measured here, before sampling
    if hasattr(acc, "calibrate_in_background"):
        acc.calibrate_in_background()
    calibrates = bool(getattr(acc, "enabled", False))   # else the small-model rule: nothing to time
    try:
        if calibrates:
            progress(CALIBRATING)
            acc.acc.calibration(int(num_samples))
        if acc.acc.reduced is not None and acc.fidelity is None:
            progress(_checking(acc))
            acc.check_fidelity()
    except Exception as exc:  # noqa: BLE001 - a failed warm-up must not lose the loaded policy
        progress(f"Kernel calibration failed ({type(exc).__name__}: {exc}); sampling measures inline")
        return str(getattr(acc.acc, "precision_reason", ""))
    describe = acc.describe()
    spec = getattr(planner, "spec", None)
    if spec is not None and isinstance(getattr(spec, "extra", None), dict):
        spec.extra["precision"] = describe
    reason = str(describe.get("reason", "") or getattr(acc.acc, "precision_reason", ""))
    progress(f"{'Kernels calibrated' if calibrates else 'Precision checked'} in {clock() - start:.0f} s; {reason}")
    return reason


__all__ = ["CALIBRATING", "acceleration_of", "needs_warmup", "warm_policy", "warmup_message"]
