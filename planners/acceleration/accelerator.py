"""Accelerator: one loaded U-Net's fast path, chosen by measurement (calibration.py).

    acc = Accelerator(model, horizon=16, device="cpu")
    model_fn = acc.model_fn(cond [1, G] or [N, G], num_samples=N, cancel=cancel)
    model_fn(x_t [N, H, D], t) -> [N, H, D] float32     # what planners.sampling.sample_chain calls
    model_fn.meta    # {"device", "precision", "kernel", "batch_split"}: merged into PlanBatch.meta

Candidates (calibration.Variant): the model's own eager forward ("native": the reference, so the
choice is never slower than it), kernels.FastUnet with the im2col-GEMM, MKL-packed GEMM,
channels-last conv2d or Conv1d kernel (and, for the candidates within KEEP_WITHIN of the best after
the first round, the same executor traced by TorchScript: "+jit"), each in float32 and in the reduced precision the device supports (bfloat16 on a CPU with
AVX-512 BF16 / AMX, bfloat16 or float16 on CUDA; torch.autocast for "native"), and N split into
smaller calls. Reduced precision is used only after the policy's fidelity check passed
(`allow_reduced`, fidelity.py); until then, or when it failed, the fastest float32 variant runs.

Cancel: when N runs in several calls, `cancel()` is polled between them and StepCancelled is
raised (sample_chain polls it again before the next step and returns the steps done so far).
CUDA: the same variants (autocast in float16/bfloat16 for "native"), plus "gemm+graph" and
"conv2d+graph": the FastUnet call captured in a CUDA graph per (shape, precision) and replayed
(kernel-launch overhead gone, which dominates at small N); like every variant they are timed and
kept only where they pay off. Unmeasured: written without a GPU; tests cover the CPU-side logic.
"""
from __future__ import annotations

import contextlib
import threading
import time
from typing import Callable

import torch

from planners.acceleration import calibration as cal
from planners.acceleration.cuda_graph import CudaGraphCall
from planners.acceleration.kernels import FastUnet, packing_available
from planners.acceleration.lowering import LoweringError, UnetGraph, architecture_key, lower, weights_key
from planners.protocol import PlannerError


class StepCancelled(Exception):
    """cancel() returned True between the batches of one split denoiser call."""


class CalibrationStopped(Exception):
    """A background calibration saw SHUTDOWN before its next candidate (nothing is cached)."""


# Set when the process exits (policy_acceleration registers the hook with its first background
# thread): a background calibration stops before its next candidate, so no daemon thread is inside
# a torch kernel while the interpreter finalizes (that aborted the process: "terminate called
# without an active exception", exit status 134).
SHUTDOWN = threading.Event()


def reduced_precision(device: torch.device) -> str | None:
    """The reduced precision worth trying on `device`, or None (float32 only)."""
    if device.type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    try:
        return "bfloat16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None
    except (AttributeError, RuntimeError):
        return None


GRAPH = "+graph"
FILM_TABLE_BYTES = 64 * 2 ** 20   # largest FiLM table DenoiserFn.prepare precomputes
JIT = "+jit"          # the FastUnet body as a TorchScript trace per input shape (kernels.FastUnet(jit=True))
IDLE_S = 0.5          # background calibration starts once no denoiser call ran for this long
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class Accelerator:
    """The fast path of one model on one device (see the module doc).

    model: planscope's ConditionalUnet1D or planners.nets.unet1d.ConditionalUnet1D (anything else
      runs its own forward, float32 or autocast: still calibrated, never lowered).
    native_call(model, x [B,H,D], t, cond [B,G]) -> [B,H,D]: how to call the model's own forward.
    kernels: candidate kernels; reduced: the reduced precision to try (default: what the device
      supports; None = float32 only). timer: seconds (default cal.default_timer: CPU time of the
      calling thread when torch runs one thread on a CPU, else wall time; tests inject a fake clock).
    """

    def __init__(self, model: torch.nn.Module, *, horizon: int, native_call: Callable, device: str | torch.device = "cpu",
                 cache_dir=None, timer: Callable[[], float] | None = None,
                 kernels: tuple[str, ...] = ("native", "gemm", "packed", "conv2d", "conv1d"), reduced: str | None = "auto",
                 cuda_graphs: bool = True) -> None:
        self.model = model.eval()
        self.horizon = int(horizon)
        self.device = torch.device(device)
        self.native_call = native_call
        self.timer = timer or cal.default_timer(self.device)
        self.directory = cal.cache_dir(cache_dir)
        self.signature = cal.machine_signature(self.device)
        self.arch_key = architecture_key(model)
        try:
            self.graph: UnetGraph | None = lower(model)
            self.lowering_note = ""
        except LoweringError as exc:
            self.graph, self.lowering_note = None, str(exc)
            kernels = ("native",)
        self.kernels = tuple(k for k in kernels if k != "packed" or (packing_available() and self.device.type == "cpu"))
        self.reduced = reduced_precision(self.device) if reduced == "auto" else reduced
        self.cuda_graphs = bool(cuda_graphs) and self.device.type == "cuda"
        self.allow_reduced = False               # set by the fidelity check (fidelity.py)
        self.precision_reason = "float32: the reduced-precision fidelity check has not run yet"
        self._fast: dict[tuple[str, str], FastUnet] = {}
        self._pinned: set[tuple[str, str]] = set()   # executors a rule (not a calibration) runs
        self._calibrations: dict[int, cal.Calibration] = {}
        self._graphs: dict[tuple, CudaGraphCall] = {}
        # the inspector's worker and a rollout may sample at once: one calibration per bucket
        self.lock = threading.RLock()
        # Background calibration (the GUI's mode, set by the inspector's warm-up): a bucket not
        # calibrated yet runs the best known variant (the nearest calibrated bucket's choice, else
        # the model's own float32 forward) and is measured on `background(job)` once sampling has
        # been idle for IDLE_S; None = measure inline on first use (CLI, workers, benchmarks).
        self.background: Callable[[Callable[[], None]], None] | None = None
        self.idle_wait: Callable[[], None] = self._wait_until_idle
        self.on_calibrated: Callable[[cal.Calibration], None] | None = None
        self._pending: set[int] = set()
        self._compute = threading.RLock()     # a denoiser call and a timed calibration call never overlap
        self._last_call = float("-inf")       # time.monotonic() of the last sampling denoiser call
        self._calibrating_thread: int | None = None

    # -- choice -----------------------------------------------------------------------------------

    def candidates(self) -> list[cal.Variant]:
        precisions = ["float32"] + ([self.reduced] if self.reduced else [])
        kernels = list(self.kernels)
        if self.cuda_graphs:
            kernels += [f"{k}{GRAPH}" for k in self.kernels if k != "native"]
        # MKL's packed sgemm exists in float32 only
        return [cal.Variant(k, p) for p in precisions for k in kernels
                if not (k.removesuffix(GRAPH) == "packed" and p != "float32")]

    def calibration(self, num_samples: int) -> cal.Calibration:
        """The calibration of N's bucket: from memory, else from the disk cache, else measured now
        (synchronously, whatever the mode: the warm-up and the benchmarks call this)."""
        bucket = cal.batch_bucket(num_samples)
        with self.lock:
            return self.known_calibration(num_samples) or self._calibrate(bucket)

    def known_calibration(self, num_samples: int) -> cal.Calibration | None:
        """N's bucket's calibration from memory or the disk cache; None when it was never measured."""
        bucket = cal.batch_bucket(num_samples)
        found = self._calibrations.get(bucket)
        if found is None:
            key = cal.calibration_key(self.arch_key, self.horizon, bucket, self.signature)
            found = cal.read_cached(self.directory, key)
            if found is not None:
                self._remember(bucket, found)
        return found

    def _calibrate(self, bucket: int, hold=contextlib.nullcontext) -> cal.Calibration:
        key = cal.calibration_key(self.arch_key, self.horizon, bucket, self.signature)
        found = cal.calibrate(key, bucket, self.candidates(), self._timed_call, timer=self.timer, hold=hold,
                              refine=self.jit_of)
        cal.write_cached(self.directory, found, self.signature)
        self._remember(bucket, found)
        return found

    def _remember(self, bucket: int, found: cal.Calibration) -> None:
        with self.lock:
            self._calibrations[bucket] = found
            self._drop_unused()

    def _calibration_for_sampling(self, num_samples: int) -> tuple[cal.Calibration | None, bool]:
        """(calibration to choose from, whether it is N's own bucket's). Inline mode measures a new
        bucket now; background mode schedules it and answers with the nearest known bucket's."""
        own = self.known_calibration(num_samples)
        if own is not None:
            return own, True
        if self.background is None:
            return self.calibration(num_samples), True
        bucket = cal.batch_bucket(num_samples)
        self.schedule(bucket)
        near = cal.nearest_bucket(bucket, list(self._calibrations))
        return (None if near is None else self._calibrations[near]), False

    def schedule(self, bucket: int) -> None:
        """Measure `bucket` through self.background (once; a repeated request while pending is a no-op)."""
        with self.lock:
            if bucket in self._pending or bucket in self._calibrations:
                return
            self._pending.add(bucket)
        self.background(lambda: self._background_job(bucket))

    def _background_job(self, bucket: int) -> None:
        self._calibrating_thread = threading.get_ident()   # its own timed calls are not "sampling"
        try:
            found = self._calibrate(bucket, hold=self._quiet)
            if self.on_calibrated is not None:
                self.on_calibrated(found)
        except CalibrationStopped:
            pass
        finally:
            with self.lock:
                self._pending.discard(bucket)

    @contextlib.contextmanager
    def _quiet(self):
        """Held around each candidate's timings in a background calibration: waits until sampling
        is idle, then keeps denoiser calls out (a sampling started meanwhile waits one candidate)."""
        self.idle_wait()
        if SHUTDOWN.is_set():
            raise CalibrationStopped()
        with self._compute:
            yield

    def _wait_until_idle(self) -> None:
        while not SHUTDOWN.is_set() and time.monotonic() - self._last_call < IDLE_S:
            SHUTDOWN.wait(IDLE_S / 4)

    @property
    def pending(self) -> set[int]:
        """Buckets scheduled for background calibration and not measured yet."""
        return set(self._pending)

    def variant_for(self, num_samples: int, precision: str = "auto") -> cal.Variant:
        """precision "auto": reduced when the fidelity check allowed it and it measured faster;
        "float32": the fastest float32 variant; the reduced name: the fastest reduced variant."""
        c, own = self._calibration_for_sampling(num_samples)
        if c is None:   # background mode, nothing measured yet: the model's own float32 forward
            return cal.REFERENCE
        if precision == "auto":
            variant = c.choice(self.allow_reduced)
        elif precision == "float32":
            variant = c.best_float32
        elif precision == self.reduced:
            variant = c.best_in(precision)
        else:
            raise PlannerError(f"precision {precision!r} is not one of auto, float32"
                               f"{', ' + self.reduced if self.reduced else ''} on {self.device}")
        # a bucket's calibration batch caps the call size: larger N is split (memory, measured size)
        # (a neighbour's calibration stands in: its variant, split at its measured size)
        chunk = variant.chunk or (c.n if num_samples > c.n else 0)
        return variant.with_chunk(chunk if chunk and chunk < num_samples else 0)

    # -- calls ------------------------------------------------------------------------------------

    def model_fn(self, cond: torch.Tensor | None, num_samples: int, *, precision: str = "auto",
                 cancel: Callable[[], bool] | None = None) -> "DenoiserFn":
        """The sampler's model_fn for N samples sharing (cond [1, G]) or not sharing (cond [N, G])
        the condition; cond None for a model without global conditioning."""
        variant = self.variant_for(num_samples, precision)
        return DenoiserFn(self, variant, cond, cancel)

    def run(self, variant: cal.Variant, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """One denoiser call of `variant` without splitting: x [B,H,D] -> [B,H,D] float32."""
        if variant.kernel.endswith(GRAPH):
            eager = cal.Variant(variant.kernel[:-len(GRAPH)], variant.precision)
            key = (eager, tuple(x.shape), None if cond is None else tuple(cond.shape))
            call = self._graphs.get(key)
            if call is None:
                call = self._graphs[key] = CudaGraphCall(lambda a, b, c: self._run_eager(eager, a, b, c), x, t, cond)
            return call(x, t, cond)
        return self._run_eager(variant, x, t, cond)

    def _run_eager(self, variant: cal.Variant, x, t, cond) -> torch.Tensor:
        if variant.kernel == "native":
            rows = None if cond is None else cond.expand(x.shape[0], -1)
            if variant.reduced:
                with torch.autocast(self.device.type, dtype=_DTYPES[variant.precision]):
                    return self.native_call(self.model, x, t, rows).float()
            return self.native_call(self.model, x, t, rows)
        return self.fast(variant.kernel, variant.precision)(x, t, cond)

    def fast(self, kernel: str, precision: str) -> FastUnet:
        """The executor of kernel ("gemm", "conv2d+jit", ...) in `precision`, prepared once."""
        key = (kernel, precision)
        found = self._fast.get(key)   # a background calibration may drop unused ones meanwhile
        if found is None:
            if self.graph is None:
                raise PlannerError(f"the fast path cannot run this model ({self.lowering_note})")
            found = self._fast[key] = FastUnet(self.graph, conv=kernel.removesuffix(JIT), dtype=_DTYPES[precision],
                                               jit=kernel.endswith(JIT))
        return found

    def jit_of(self, variant: cal.Variant) -> cal.Variant | None:
        """The traced (+jit) form of a FastUnet variant, tried by the calibration when the eager
        form came within KEEP_WITHIN of the best (per-op Python overhead is what it removes:
        it pays at small sizes, where one call is hundreds of tiny ops)."""
        # MKL's packed weights are opaque to the tracer: "packed" stays eager
        if variant.kernel in ("native", "packed") or variant.kernel.endswith((JIT, GRAPH)) or self.graph is None:
            return None
        return cal.Variant(variant.kernel + JIT, variant.precision, variant.chunk)

    def _timed_call(self, variant: cal.Variant, n: int) -> Callable[[], object]:
        """A zero-argument denoiser call on n random samples, for calibration."""
        g = torch.Generator().manual_seed(0)
        x = torch.randn((n, self.horizon, self.input_dim), generator=g).to(self.device)
        t = torch.tensor(self._mid_timestep(), device=self.device)
        cond_dim = self.global_cond_dim
        cond = torch.zeros((1, cond_dim), device=self.device) if cond_dim else None
        sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)

        fn = DenoiserFn(self, variant, cond, None)
        prepared: list[bool] = []

        def call() -> None:
            with torch.inference_mode():
                if not prepared:   # in the (untimed) warm-up call, inside a background calibration's hold
                    fn.prepare(t)  # what a sampling step runs: the fast kernels' FiLM precomputed
                    prepared.append(True)
                fn(x, t)
            sync()
        return call

    def _drop_unused(self) -> None:
        """Free the prepared weights of kernels no calibration picked (a 250 M model's bfloat16
        copy is 0.5 GB)."""
        keep = {(v.kernel.removesuffix(GRAPH), v.precision) for c in self._calibrations.values()
                for v in (c.best, c.best_float32)} | set(self._pinned)
        for key in [k for k in self._fast if k not in keep]:
            del self._fast[key]

    @property
    def input_dim(self) -> int:
        """D, the action (sample) size the model denoises."""
        if self.graph is not None:
            return self.graph.input_dim
        return int(getattr(self.model, "input_dim", 0) or getattr(self.model, "action_dim"))

    @property
    def global_cond_dim(self) -> int:
        """G, the size of the global condition (0: none)."""
        if self.graph is None:
            return int(getattr(self.model, "global_cond_dim", 0) or 0)
        return self.graph.global_cond_dim

    @staticmethod
    def _mid_timestep() -> int:
        return 50

    # -- reporting --------------------------------------------------------------------------------

    def weights_key(self) -> str:
        return weights_key(self.model)

    def describe(self, num_samples: int | None = None) -> dict:
        """What the Policy panel shows: device, precision state and reason, lowering note."""
        out = {"device": str(self.device), "reduced_precision": self.reduced or "",
               "reduced_allowed": self.allow_reduced, "reason": self.precision_reason}
        if self.lowering_note:
            out["fast_path"] = f"not available: {self.lowering_note}"
        if num_samples is not None:
            out["variant"] = self.variant_for(num_samples).name
        return out


class DenoiserFn:
    """model_fn(x [N,H,D], t) -> [N,H,D] float32 for one sampling call (see Accelerator.model_fn)."""

    def __init__(self, acc: Accelerator, variant: cal.Variant, cond: torch.Tensor | None,
                 cancel: Callable[[], bool] | None) -> None:
        self.acc, self.variant, self.cancel = acc, variant, cancel
        self.cond = None if cond is None else cond.to(acc.device, torch.float32)
        self.meta = {"device": str(acc.device), "precision": variant.precision, "kernel": variant.kernel,
                     "batch_split": variant.chunk}
        self._films: torch.Tensor | None = None      # [S, 1 | N, sum F] after prepare()
        self._film_index: dict[int, int] = {}

    def prepare(self, timesteps: torch.Tensor) -> None:
        """Called by the sampler with every timestep of the call before the loop: the FiLM scale
        and bias of every block for every step are computed here in one matrix product
        (kernels.FastUnet.films_for_steps), so a step runs only the x-dependent work. The
        model's own forward (native) and CUDA-graph variants compute them per call as before."""
        kernel = self.variant.kernel
        if kernel == "native" or kernel.endswith(GRAPH):
            return
        fast = self.acc.fast(kernel, self.variant.precision)
        steps = torch.as_tensor(timesteps).reshape(-1).to(self.acc.device)
        rows = 1 if self.cond is None else self.cond.shape[0]
        if steps.numel() * rows * fast.film_width * fast.dtype.itemsize > FILM_TABLE_BYTES:
            return   # per-sample conditions x many steps (a scan's F x N rows, DDPM 100): per step
        with torch.inference_mode():
            self._films = fast.films_for_steps(steps, self.cond)
        self._film_index = {int(t): k for k, t in enumerate(steps.tolist())}

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        acc = self.acc
        with acc._compute:
            try:
                return self._call(x, t)
            finally:
                if threading.get_ident() != acc._calibrating_thread:
                    acc._last_call = time.monotonic()

    def _call(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        n, chunk = x.shape[0], self.variant.chunk
        whole = self.variant.with_chunk(0)
        films = None
        if self._films is not None and t.numel() == 1:
            k = self._film_index.get(int(t))
            films = None if k is None else self._films[k]              # [1 | N, sum F]
        if not chunk or chunk >= n:
            return self._run(whole, x, t, self.cond, films)
        out = torch.empty(x.shape, dtype=torch.float32, device=x.device)
        shared = self.cond is None or self.cond.shape[0] == 1
        for lo in range(0, n, chunk):
            if lo and self.cancel is not None and self.cancel():
                raise StepCancelled()
            hi = min(lo + chunk, n)
            cond = self.cond if shared else self.cond[lo:hi]
            rows = films if films is None or films.shape[0] == 1 else films[lo:hi]
            out[lo:hi] = self._run(whole, x[lo:hi], t, cond, rows)
        return out

    def _run(self, variant: cal.Variant, x, t, cond, films) -> torch.Tensor:
        if films is None:
            return self.acc.run(variant, x, t, cond)
        return self.acc.fast(variant.kernel, variant.precision).body(x, films)
