"""Kernel choice by measurement: time every candidate once per model shape and batch bucket,
keep the fastest, remember it on disk.

A Variant names how one denoiser call runs: kernel ("native" = the model's own eager forward,
"gemm" / "conv2d" = kernels.FastUnet), precision ("float32" | "bfloat16" | "float16"), and chunk
(N split into calls of at most `chunk` samples; 0 = one call). "native" in float32 is the plain
eager loop itself, so it is always a candidate and the choice is never slower than it (within
the timing noise of the calibration run). "native" in a reduced precision is torch.autocast.

Cache: one JSON file per (architecture hash, horizon, bucket, device, threads, torch version,
CPU capability and flags) under platformdirs' user cache dir (…/planscope/acceleration; the
PLANSCOPE_CACHE_DIR environment variable or the `cache_dir` argument moves it). A different torch,
CPU or thread count is a different key, so a stale choice is never read; an unreadable file is a
miss and is rewritten.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Iterable

import torch

SCHEMA = 1
CANDIDATES = 5                     # bump when the candidate kernels change (2: "packed", 3: +jit, 4: "conv1d",
                                   # 5: conv2d's reduced precision keeps float32 between the products)
MAX_CALIBRATION_BATCH = 256        # larger N is split into calls of at most this many samples
SLOW_CALL_S = 0.25                 # candidates slower than this are timed once (calibration cost)
KEEP_WITHIN = 1.3                  # candidates this much slower than the best after one timing drop out
REDUCED = ("bfloat16", "float16")

Timer = Callable[[], float]


@dataclass(frozen=True)
class Variant:
    kernel: str            # "native" | "gemm" | "conv2d"
    precision: str         # "float32" | "bfloat16" | "float16"
    chunk: int = 0         # 0: one call for all N; else calls of at most `chunk` samples

    @property
    def name(self) -> str:
        split = f", batches of {self.chunk}" if self.chunk else ""
        return f"{self.kernel} {self.precision}{split}"

    @property
    def reduced(self) -> bool:
        return self.precision in REDUCED

    def with_chunk(self, chunk: int) -> "Variant":
        return Variant(self.kernel, self.precision, chunk)

    @classmethod
    def from_json(cls, payload: dict) -> "Variant":
        return cls(str(payload["kernel"]), str(payload["precision"]), int(payload.get("chunk", 0)))


REFERENCE = Variant("native", "float32")


@dataclass
class Calibration:
    """Measured seconds per call of each variant at batch `n`; `best` overall, `best_float32` among
    float32 variants (what is used while reduced precision is not allowed)."""
    key: str
    n: int
    seconds: dict[str, float]
    best: Variant
    best_float32: Variant
    from_cache: bool = False
    variants: dict[str, Variant] = field(default_factory=dict)

    def choice(self, allow_reduced: bool) -> Variant:
        return self.best if allow_reduced else self.best_float32

    def best_in(self, precision: str) -> Variant:
        """The fastest measured variant of one precision (split ones included)."""
        return min((v for v in self.variants.values() if v.precision == precision), key=lambda v: self.seconds[v.name])

    def speedup(self, variant: Variant) -> float:
        """Reference (native float32) time over `variant`'s time in this calibration."""
        ref, own = self.seconds.get(REFERENCE.name), self.seconds.get(variant.name)
        return float(ref / own) if ref and own else float("nan")


def batch_bucket(n: int) -> int:
    """N -> the batch size its calibration is measured at: the next power of two, at most
    MAX_CALIBRATION_BATCH (larger N runs in calls of that size)."""
    if n < 1:
        raise ValueError(f"batch size must be >= 1, got {n}")
    return min(1 << (int(n) - 1).bit_length(), MAX_CALIBRATION_BATCH)


def default_timer(device: torch.device) -> Timer:
    """The clock calibration reads: with ONE torch thread on a CPU every kernel runs in the calling
    thread, so its CPU time (time.thread_time) is what the kernel costs, and other processes
    loading a shared machine do not reorder the candidates; otherwise wall time (several threads,
    or a GPU, whose work is not this thread's CPU time)."""
    if device.type == "cpu" and torch.get_num_threads() == 1:
        return time.thread_time
    return time.perf_counter


def nearest_bucket(bucket: int, known: Iterable[int]) -> int | None:
    """The calibrated bucket closest to `bucket` in log2 (ties: the larger, whose kernels suit the
    bigger calls), or None when nothing is known."""
    known = sorted(set(known))
    if not known:
        return None
    return min(known, key=lambda b: (abs(b.bit_length() - bucket.bit_length()), -b))


def machine_signature(device: torch.device) -> dict:
    """What kernel timings depend on besides the model: torch build, CPU ISA, threads, device."""
    sig = {"torch": torch.__version__, "device": str(device), "threads": torch.get_num_threads(),
           "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cpu_flags": _cpu_flags()}
    if device.type == "cuda":
        sig["gpu"] = torch.cuda.get_device_name(device)
    return sig


def _cpu_flags() -> str:
    """The instruction-set flags that change which kernels oneDNN picks (Linux; '' elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        if line.startswith("flags"):
            wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile", "fma")
            have = set(line.split(":", 1)[1].split())
            return " ".join(f for f in wanted if f in have)
    return ""


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    if override is not None:
        return Path(override)
    if os.environ.get("PLANSCOPE_CACHE_DIR"):
        return Path(os.environ["PLANSCOPE_CACHE_DIR"]) / "acceleration"
    import platformdirs
    return Path(platformdirs.user_cache_dir("planscope", appauthor=False)) / "acceleration"


def calibration_key(arch_key: str, horizon: int, bucket: int, signature: dict) -> str:
    text = json.dumps({"schema": SCHEMA, "candidates": CANDIDATES, "arch": arch_key, "horizon": horizon, "bucket": bucket, **signature},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def read_cached(directory: Path, key: str) -> Calibration | None:
    """The stored calibration for `key`, or None when absent, unreadable or of another schema."""
    path = directory / f"calibration-{key}.json"
    try:
        payload = json.loads(path.read_text())
        if payload.get("schema") != SCHEMA or payload.get("key") != key:
            return None
        return Calibration(key=key, n=int(payload["n"]), seconds={k: float(v) for k, v in payload["seconds"].items()},
                           best=Variant.from_json(payload["best"]),
                           best_float32=Variant.from_json(payload["best_float32"]), from_cache=True,
                           variants={k: Variant.from_json(v) for k, v in payload["variants"].items()})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_cached(directory: Path, calibration: Calibration, signature: dict) -> None:
    """Write atomically (temp file + rename): a crash never leaves half a file behind. A cache that
    cannot be written (read-only home) only costs a re-calibration next time."""
    payload = {"schema": SCHEMA, "key": calibration.key, "n": calibration.n, "seconds": calibration.seconds,
               "best": asdict(calibration.best), "best_float32": asdict(calibration.best_float32),
               "variants": {k: asdict(v) for k, v in calibration.variants.items()}, "machine": signature}
    write_json_atomic(directory / f"calibration-{calibration.key}.json", payload)


def write_json_atomic(path: Path, payload: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=1)
        os.replace(tmp, path)
    except OSError:
        pass


def measure(run: Callable[[], object], timer: Timer, *, reps: int, warmup: bool) -> float:
    """Best of `reps` timed calls (seconds), after one untimed call when `warmup`."""
    if warmup:
        run()
    best = float("inf")
    for _ in range(max(1, reps)):
        start = timer()
        run()
        best = min(best, timer() - start)
    return best


def calibrate(key: str, n: int, candidates: Iterable[Variant], make_call: Callable[[Variant, int], Callable[[], object]],
              timer: Timer = time.perf_counter,
              hold: Callable[[], ContextManager] = contextlib.nullcontext,
              refine: Callable[[Variant], Variant | None] | None = None) -> Calibration:
    """Time each candidate at batch n; make_call(variant, n) -> a zero-argument call running one
    denoiser step on n samples (it is built, and its weights prepared, before timing starts).

    Round 1 times every candidate after a warm-up call (best of 3, or a single call when the
    warm-up took over SLOW_CALL_S); those within KEEP_WITHIN of the best are timed twice more in
    alternating passes (best kept). Then the winner and the best float32 variant are tried with N split in two and in
    four (calls of n/2, n/4) when n >= 64.
    refine(v) -> a refined form of v (the traced "+jit" executor) or None: timed after round 1 for
    every candidate within KEEP_WITHIN of the best, and a candidate like the others from then on
    (a refinement that only pays at small sizes costs a 250 M model no extra timing).
    hold(): entered around each candidate's timed calls (a background calibration waits there
    until sampling is idle and keeps sampling out while it times; see Accelerator).
    """
    candidates = list(dict.fromkeys(candidates))
    if REFERENCE not in candidates:
        candidates.insert(0, REFERENCE)
    seconds: dict[str, float] = {}
    variants: dict[str, Variant] = {}

    def time_variant(v: Variant) -> None:
        call = make_call(v, n)
        with hold():
            start = timer()
            call()                                  # warm-up (oneDNN primitives, weight reorders)
            first = timer() - start
            # a slow call is timed once more (calibrating a 250 M model must not take minutes);
            # a fast one, best of 3
            t = measure(call, timer, reps=1 if first >= SLOW_CALL_S else 3, warmup=False)
        seconds[v.name] = min(t, seconds.get(v.name, float("inf")))
        variants[v.name] = v
        del call

    for v in candidates:
        time_variant(v)
    best_time = min(seconds.values())
    if refine is not None:
        for v in [v for v in candidates if seconds[v.name] <= KEEP_WITHIN * best_time]:
            refined = refine(v)
            if refined is not None and refined not in candidates:
                candidates.append(refined)
                time_variant(refined)
        best_time = min(seconds.values())
    close = [v for v in candidates if seconds[v.name] <= KEEP_WITHIN * best_time]
    calls = {v: make_call(v, n) for v in close}
    for _ in range(2):   # alternating passes: a busy spell on a shared machine hits them all
        for v in close:
            with hold():
                seconds[v.name] = min(seconds[v.name], measure(calls[v], timer, reps=1, warmup=False))
    del calls
    best = min(candidates, key=lambda v: seconds[v.name])
    best32 = min((v for v in candidates if not v.reduced), key=lambda v: seconds[v.name])
    if n >= 64:
        for base in dict.fromkeys([best, best32]):
            for parts in (2, 4):
                split = base.with_chunk(n // parts)
                time_variant(split)
        best = min(variants.values(), key=lambda v: seconds[v.name])
        best32 = min((v for v in variants.values() if not v.reduced), key=lambda v: seconds[v.name])
    return Calibration(key=key, n=n, seconds=seconds, best=best, best_float32=best32, variants=variants)
