"""PolicyAcceleration: what a diffusion planner holds to sample through the fast path.

    acc = PolicyAcceleration(model, native_call=..., horizon=H, device="cpu", settings=settings,
                             solver="ddim", steps=16, action_range=high - low, to_actions=unnormalize)
    model_fn = acc.model_fn(cond [1, G], N, cancel=cancel)   # -> planners.sampling.sample_chain
    batch.meta |= model_fn.meta                               # device, precision, kernel, batch_split
    spec.extra["precision"] = acc.describe()                  # the Policy panel's line

Reduced precision needs the fidelity check (fidelity.py): it runs the first time a batch size
comes up whose fastest variant is reduced precision (or on `check_fidelity()`, e.g. from the
loader's worker), once per policy and machine (cached on disk), with the planner's default
solver at no more than FIDELITY_MAX_STEPS steps (DDIM when the default is DDPM: the check compares
distributions, and a 100-step DDPM check on a 250 M model would take minutes).
PLANSCOPE_PRECISION=float32 turns reduced precision off; PLANSCOPE_ACCELERATION=off runs the
model's own float32 forward. A model under MIN_PARAMETERS is not calibrated (tens of
milliseconds a sampling: calibrating would cost more than it saves): on a CPU it runs a fixed
variant, SMALL_MODEL (the conv2d executor traced by TorchScript per batch shape, FiLM precomputed
per sampling call; per-op Python overhead is most of a call at that size), which `planscope
bench sampling --size shipped` measures against the model's own forward in every run.
"""
from __future__ import annotations

import atexit
import os
import threading
import time
from typing import Callable, Sequence

import numpy as np
import torch

from planners.acceleration import fidelity as fid
from planners.acceleration.accelerator import SHUTDOWN, Accelerator, DenoiserFn, StepCancelled
from planners.acceleration.calibration import REFERENCE, Variant
from planners.protocol import PlannerError

__all__ = ["PolicyAcceleration", "StepCancelled"]


_THREADS: list[threading.Thread] = []
_THREADS_LOCK = threading.Lock()
EXIT_JOIN_S = 60.0    # at exit, how long to wait for a background calibration's current candidate


def _daemon_thread(job: Callable[[], None]) -> None:
    """Run a background calibration on a daemon thread, joined at interpreter exit (see
    stop_background_calibrations)."""
    thread = threading.Thread(target=job, name="planscope-calibration", daemon=True)
    with _THREADS_LOCK:
        if not _THREADS:
            atexit.register(stop_background_calibrations)
        _THREADS[:] = [t for t in _THREADS if t.is_alive()] + [thread]
    thread.start()


def stop_background_calibrations(timeout_s: float = EXIT_JOIN_S) -> bool:
    """Stop every background calibration before its next candidate and wait for the threads
    (registered with atexit: a daemon thread still inside a torch kernel while Python finalizes
    aborts the process). True when all of them ended within timeout_s."""
    SHUTDOWN.set()
    deadline = time.monotonic() + timeout_s
    with _THREADS_LOCK:
        threads = list(_THREADS)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)

MIN_PARAMETERS = 1_000_000
SMALL_MODEL = Variant("conv2d+jit", "float32")   # what a model under MIN_PARAMETERS runs on a CPU
# ... and from SMALL_REDUCED_ROWS samples per torch thread on, on a CPU with AMX once the fidelity
# check passed: the same executor with bfloat16 convolutions (float32 between them, kernels.py)
SMALL_REDUCED = Variant("conv2d+jit", "bfloat16")
SMALL_REDUCED_ROWS = 48
FIDELITY_MAX_STEPS = 16


def has_amx(signature: dict) -> bool:
    """Whether the CPU has AMX bfloat16 tiles (calibration.machine_signature's flags): where the
    small-model rule's bfloat16 convolutions were measured faster (docs/speed.md)."""
    return "amx_bf16" in str(signature.get("cpu_flags", "")).split()


class PolicyAcceleration:
    """Accelerator + fidelity state for one loaded policy. fidelity_conds: the conditions the
    check samples at ([1, G] normalised tensors; default: the observation range's centre and one
    seeded random point inside it). to_actions: normalised [N,H,D] tensor -> action units numpy."""

    def __init__(self, model: torch.nn.Module, *, native_call: Callable, horizon: int, device,
                 settings, solver: str, steps: int, action_range: np.ndarray, to_actions: Callable,
                 fidelity_conds: Sequence[torch.Tensor] | None = None, cache_dir=None,
                 timer: Callable[[], float] | None = None, reduced: str | None = "auto",
                 kernels: tuple[str, ...] = ("native", "gemm", "packed", "conv2d", "conv1d"), enabled: bool | None = None) -> None:
        if os.environ.get("PLANSCOPE_PRECISION", "").lower() == "float32":
            reduced = None
        why_off = ""
        if enabled is None:
            if os.environ.get("PLANSCOPE_ACCELERATION", "").lower() == "off":
                why_off = "PLANSCOPE_ACCELERATION=off"
            elif sum(p.numel() for p in model.parameters()) < MIN_PARAMETERS:
                why_off = f"under {MIN_PARAMETERS:,} parameters"
        elif not enabled:
            why_off = "turned off"
        self.enabled = not why_off
        small = why_off.startswith("under")
        self.acc = Accelerator(model, horizon=horizon, native_call=native_call, device=device, cache_dir=cache_dir,
                               timer=timer, kernels=kernels, reduced=reduced if self.enabled or small else None)
        # Under MIN_PARAMETERS on a CPU: a rule, not a calibration - the traced channels-last
        # executor (SMALL_MODEL) with FiLM precomputed per sampling call; from SMALL_REDUCED_ROWS
        # samples per thread on a CPU with AMX, the same executor with bfloat16 convolutions
        # (SMALL_REDUCED), once the fidelity check passed. `bench sampling --size shipped` prints
        # the per-call table that justifies both (docs/speed.md).
        self.small_variant: Variant | None = None
        self.small_reduced: Variant | None = None
        if small and self.acc.graph is not None and self.acc.device.type == "cpu":
            self.small_variant = SMALL_MODEL
            self.acc._pinned.add((SMALL_MODEL.kernel, SMALL_MODEL.precision))
            if self.acc.reduced == SMALL_REDUCED.precision and has_amx(self.acc.signature):
                self.small_reduced = SMALL_REDUCED
                self.acc._pinned.add((SMALL_REDUCED.kernel, SMALL_REDUCED.precision))
        if solver == "ddpm":
            solver, steps = "ddim", FIDELITY_MAX_STEPS
        self.settings, self.solver = settings, solver
        self.steps = min(int(steps), FIDELITY_MAX_STEPS, int(settings.num_train_timesteps))
        self.action_range = np.asarray(action_range, dtype=np.float64)
        self.to_actions = to_actions
        self.fidelity_conds = list(fidelity_conds) if fidelity_conds is not None else self._default_conds()
        self.fidelity: fid.FidelityReport | None = None
        if self.small_variant is not None:
            self.acc.precision_reason = (f"float32, traced channels-last kernel ({why_off}: a fixed rule, "
                                         "no calibration)")
            if self.small_reduced is not None:
                self.acc.precision_reason += (f"; bfloat16 convolutions from {SMALL_REDUCED_ROWS} samples per "
                                              "thread once the fidelity check passed (not run yet)")
        elif not self.enabled:
            self.acc.precision_reason = f"float32, the model's own forward: fast path off ({why_off})"
        elif self.acc.reduced is None:
            self.acc.precision_reason = ("float32: no reduced precision on this device"
                                         if reduced is not None else "float32: reduced precision turned off")

    def model_fn(self, cond: torch.Tensor | None, num_samples: int, *,
                 cancel: Callable[[], bool] | None = None) -> DenoiserFn:
        """The sampler's model_fn for N samples (see Accelerator.model_fn); runs the fidelity check
        first when this N's fastest variant is reduced precision and the check has not run.
        Disabled: the model's own float32 forward, nothing measured."""
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
            raise PlannerError(f"num_samples must be a positive integer, got {num_samples!r}")
        if not self.enabled:
            return DenoiserFn(self.acc, self.small_variant_for(num_samples) or REFERENCE, cond, cancel)
        if self.fidelity is None and self.acc.reduced and self.acc.background is None \
                and self.acc.calibration(num_samples).best.reduced:
            self.check_fidelity()   # inline mode only; the GUI's warm-up runs it while loading
        return self.acc.model_fn(cond, num_samples, cancel=cancel)

    def small_variant_for(self, num_samples: int) -> Variant | None:
        """The small-model rule's variant for N samples (None: not a small model on a CPU). Reduced
        precision needs the fidelity check: run inline here the first time it is needed, unless
        the sampler is in background mode (the GUI's warm-up runs it while loading)."""
        if self.small_variant is None:
            return None
        if self.small_reduced is None or num_samples < SMALL_REDUCED_ROWS * max(1, torch.get_num_threads()):
            return self.small_variant
        if self.fidelity is None and self.acc.background is None:
            self.check_fidelity()
        return self.small_reduced if self.fidelity is not None and self.fidelity.passed else self.small_variant

    def calibrate_in_background(self, start: Callable[[Callable[[], None]], None] | None = None) -> None:
        """The GUI's mode: a batch size not calibrated yet samples at once with the best known
        variant and is measured by `start(job)` (default: a daemon thread) once sampling is idle;
        the fidelity check is not run inline either (reduced precision waits for it)."""
        self.acc.background = start or _daemon_thread

    def check_fidelity(self) -> fid.FidelityReport:
        """Run (or read from the cache) the fidelity check and set the precision state."""
        if self.acc.reduced is None:
            raise ValueError("no reduced precision to check on this device")
        with self.acc.lock:
            if self.fidelity is None:
                self._check_fidelity()
        return self.fidelity

    def _check_fidelity(self) -> None:
        key = fid.fidelity_key(self.acc.weights_key(), self.acc.reduced,
                               {"solver": self.solver, "steps": self.steps, "n": fid.CHECK_SAMPLES,
                                "conds": [None if c is None else c.reshape(-1).tolist() for c in self.fidelity_conds],
                                "scheduler": self.settings.to_json()}, self.acc.signature)
        report = fid.read_report(self.acc.directory, key)
        if report is None:
            report = fid.run_check(self._sample, len(self.fidelity_conds), self.action_range, self.acc.reduced)
            report.solver, report.steps = self.solver, self.steps
            fid.write_report(self.acc.directory, key, report)
        self.fidelity = report
        self.acc.allow_reduced = report.passed
        self.acc.precision_reason = report.reason
        if self.small_reduced is not None:
            self.acc.precision_reason = (
                f"float32 below {SMALL_REDUCED_ROWS} samples per thread, then bfloat16 convolutions "
                f"(float32 between them): {report.reason}" if report.passed else
                f"float32 (small-model rule): {report.reason}")

    def _sample(self, precision: str, obs_index: int, seed: int) -> np.ndarray:
        from planners.sampling import sample_chain
        cond = self.fidelity_conds[obs_index]
        n = fid.CHECK_SAMPLES
        if self.small_variant is not None:   # the rule's own two variants, not a calibration's
            variant = self.small_reduced if precision == SMALL_REDUCED.precision else self.small_variant
            model_fn = DenoiserFn(self.acc, variant, cond, None)
        else:
            model_fn = self.acc.model_fn(cond, n, precision=precision)
        batch = sample_chain(model_fn, self.settings, num_samples=n, horizon=self.acc.horizon,
                             action_dim=self.acc.input_dim, seed=seed, solver=self.solver, steps=self.steps,
                             to_actions=self.to_actions, device=self.acc.device)
        return batch.plans

    def _default_conds(self) -> list[torch.Tensor]:
        g = self.acc.global_cond_dim
        if not g:
            return [None]
        rng = np.random.default_rng(0)
        return [torch.zeros((1, g)), torch.from_numpy(rng.uniform(-0.8, 0.8, (1, g)).astype(np.float32))]

    def describe(self) -> dict:
        """JSON-ready state for spec.extra["precision"] (the Policy panel shows `reason`)."""
        out = self.acc.describe()
        if self.fidelity is not None:
            out["fidelity"] = {"passed": self.fidelity.passed, "deviation": self.fidelity.deviation,
                               "limit": fid.MAX_DEVIATION, "solver": self.solver, "steps": self.steps}
        return out
