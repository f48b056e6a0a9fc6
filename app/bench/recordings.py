"""Recording format: open + list a 1,000-rollout >= 1 GB file, read one step, rank 10,000 rows,
writer throughput against a raw sequential write measured in the same run.

The synthetic file (T=60 steps, 64-D states, a 32x32 camera image, 6 replans x 64 samples x
H16 x D4 per rollout, denoising chains of 10 solver steps on every other rollout) is generated
once into the user cache folder ($PLANSCOPE_BENCH_DIR, else platformdirs' user_cache_dir) and
reused. "cold" figures evict the file from the page cache first (posix_fadvise DONTNEED on that
file only), so they include disk reads; "warm" ones do not.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH_VERSION = 1
T, STATE, H, D, N, REPLANS, SOLVER_STEPS, IMAGE = 60, 64, 16, 4, 64, 6, 10, 32
FULL_COUNT, QUICK_COUNT = 1000, 100


def _cache_dir() -> Path:
    override = os.environ.get("PLANSCOPE_BENCH_DIR")
    if override:
        return Path(override)
    import platformdirs
    return Path(platformdirs.user_cache_dir("planscope", appauthor=False)) / "bench"


class _Pool:
    """Random arrays made once; each rollout gets a cheap, distinct variant (a shifted copy),
    so generation costs memory bandwidth, not random-number generation."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.samples = rng.normal(size=(4, REPLANS, N, H, D)).astype(np.float32)
        self.chain = rng.normal(size=(2, REPLANS, SOLVER_STEPS + 1, N, H, D)).astype(np.float32)
        self.x0 = rng.normal(size=(2, REPLANS, SOLVER_STEPS, N, H, D)).astype(np.float32)
        self.image = rng.integers(0, 255, size=(4, T, IMAGE, IMAGE, 3), dtype=np.uint8)
        self.states = rng.normal(size=(4, T, STATE))
        self.low = rng.normal(size=(4, T, 20))

    def rollout(self, i: int):
        from recordings.events import Event
        from recordings.rollout import ReplanRecord, Rollout
        rng = np.random.default_rng(i)
        shift = np.float32(i * 1e-3)
        low = self.low[i % 4] + shift
        replans = []
        for j in range(REPLANS):
            samples = self.samples[i % 4, j] + shift
            keep = i % 2 == 0
            replans.append(ReplanRecord(
                step=j * (T // REPLANS), samples=samples, executed_index=int(rng.integers(N)),
                mode_labels=["left" if k % 3 else "right" for k in range(N)],
                feasible=np.arange(N) % 7 != 0, latency_ms=float(rng.uniform(20, 60)),
                executed_chunk=samples[0, :8],
                chain=self.chain[i % 2, j] + shift if keep else None,
                x0_estimates=self.x0[i % 2, j] + shift if keep else None))
        success = bool(rng.uniform() < 0.75)
        events = [Event("replan", r.step) for r in replans]
        events += [Event("contact", int(rng.integers(T)), ("panda", "mug"))] if not success \
            else [Event("success", T - 1)]
        return Rollout(
            obs={"ee_pos": low[:, :3], "ee_quat": low[:, 3:7], "gripper": low[:, 7:8],
                 "mug_pos": low[:, 8:11], "joint_pos": low[:, 11:20],
                 "agentview_image": self.image[i % 4]},
            actions=low[:, :4].astype(np.float32), states=self.states[i % 4] + float(shift),
            rewards=np.zeros(T, np.float32), dones=np.arange(T) == T - 1, events=events,
            replans=replans, seed=i, policy=("diffusion", "regression")[i % 2],
            perturbation={"obs_noise": 0.01} if i % 5 == 0 else {}, success=success,
            failure_label="unlabelled" if success else "planning", mode="left",
            metrics={"min_clearance": float(rng.uniform(-0.01, 0.1)),
                     "mode_switches": float(rng.integers(0, 4)),
                     "plan_exec_gap": float(rng.uniform(0, 0.05)),
                     "time_to_success": float(rng.uniform(2, 6)) if success else float("nan")})


_ENV = {"env_name": "bench_synthetic", "type": "planscope", "env_kwargs": {}}


def _write(path: Path, count: int, *, durable: bool) -> float:
    """Seconds for the crash-safe RecordingWriter to write `count` rollouts, close() included."""
    from recordings.writer import RecordingWriter
    pool = _Pool()
    start = time.perf_counter()
    with RecordingWriter(path, env_args=_ENV, config={"bench": BENCH_VERSION},
                         seed_panel=range(count), kind="eval", durable=durable) as w:
        for i in range(count):
            w.write_rollout(pool.rollout(i))
    return time.perf_counter() - start


def _write_at_once(path: Path, count: int) -> float:
    """Seconds for the one-shot write_recording (no per-rollout crash safety)."""
    from recordings.header import write_recording
    pool = _Pool()
    start = time.perf_counter()
    write_recording(path, (pool.rollout(i) for i in range(count)), env_args=_ENV,
                    config={"bench": BENCH_VERSION}, seed_panel=range(count), kind="eval")
    return time.perf_counter() - start


def _cached_file(count: int) -> tuple[Path, float | None]:
    """The benchmark file, generated when missing. Returns (path, generation seconds or None)."""
    from recordings.errors import RecordingError
    from recordings.reader import RecordingReader
    folder = _cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"recordings-v{BENCH_VERSION}-{count}.h5"
    if path.exists():
        try:
            with RecordingReader(path) as r:
                if len(r) == count and not r.partial and \
                        r.config.get("bench") == BENCH_VERSION:
                    return path, None
        except RecordingError:
            pass
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        staged = Path(tmp) / path.name
        seconds = _write_at_once(staged, count)
        os.replace(staged, path)           # never leave a half-made file under the cached name
    return path, seconds


def _evict(path: Path) -> None:
    """Drop this file's pages from the page cache (so the next read is a cold one)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _open_and_list(path: Path) -> float:
    from recordings.reader import RecordingReader
    start = time.perf_counter()
    with RecordingReader(path) as r:
        s = r.summary
        _ = (len(r), s["id"], s["success"], s["policy"], s["min_clearance"])
    return (time.perf_counter() - start) * 1e3


def _one_step(reader, i: int, t: int) -> float:
    """Everything one review frame needs at step t: state, action, every obs field, and the
    samples of the replan in force."""
    start = time.perf_counter()
    ro = reader.rollout(i)
    ro.states(t)
    ro.actions(t)
    for key in ro.obs_keys:
        ro.obs(key, t)
    rp = ro.replans.at_step(t)
    if rp is not None:
        rp.samples
    return (time.perf_counter() - start) * 1e3


def _select(reader, i: int) -> float:
    """Selecting a rollout: its small arrays (actions, low-dim obs, events, replan steps)."""
    start = time.perf_counter()
    ro = reader.rollout(i)
    ro.actions()
    for key in ro.obs_keys:
        if key != "agentview_image":
            ro.obs(key)
    ro.events
    ro.replans.steps
    return (time.perf_counter() - start) * 1e3


def _raw_baseline(folder: Path, nbytes: int, block_bytes: int = 1 << 20,
                  fsync_each: bool = False) -> float:
    """MB/s of a plain sequential write of nbytes in blocks, with one fsync at the end or one
    per block (the durable writer's pattern: one fsync per rollout)."""
    block = np.random.default_rng(0).integers(0, 255, block_bytes, dtype=np.uint8).tobytes()
    path = folder / "raw.bin"
    start = time.perf_counter()
    with open(path, "wb") as fh:
        for _ in range(max(1, nbytes // block_bytes)):
            fh.write(block)
            if fsync_each:
                fh.flush()
                os.fsync(fh.fileno())
        fh.flush()
        os.fsync(fh.fileno())
    seconds = time.perf_counter() - start
    os.remove(path)
    return nbytes / seconds / 1e6


def run(args: Any) -> dict[str, float]:
    from recordings.ranking import hardness
    from recordings.reader import RecordingReader
    quick = bool(getattr(args, "quick", False))
    count = QUICK_COUNT if quick else FULL_COUNT
    out: dict[str, float] = {}
    path, gen_s = _cached_file(count)
    size = path.stat().st_size
    out["file_gb"] = size / 1e9
    out["rollouts"] = count
    print(f"file: {path} ({size / 1e9:.2f} GB, {count} rollouts; "
          + (f"generated in {gen_s:.1f} s)" if gen_s is not None else "reused from cache)"))
    if gen_s is not None:
        out["generate_s"] = gen_s

    _evict(path)
    out["open_list_cold_ms"] = _open_and_list(path)
    out["open_list_warm_ms"] = statistics.median(_open_and_list(path) for _ in range(5))
    print(f"open + list {count} rollouts: cold {out['open_list_cold_ms']:.1f} ms, "
          f"warm {out['open_list_warm_ms']:.1f} ms   (target <= 1000 ms)")

    rng = np.random.default_rng(1)
    picks = [(int(rng.integers(count)), int(rng.integers(T))) for _ in range(40)]
    _evict(path)
    with RecordingReader(path) as r:
        cold = [_one_step(r, i, t) for i, t in picks]
        warm = [_one_step(r, i, t) for i, t in picks]
        _evict(path)
        select_cold = [_select(r, i) for i, _ in picks[:20]]
    out["step_cold_ms_median"] = statistics.median(cold)
    out["step_cold_ms_max"] = max(cold)
    out["step_warm_ms_median"] = statistics.median(warm)
    out["select_cold_ms_median"] = statistics.median(select_cold)
    print(f"read one step (state, action, 6 obs fields, replan samples): cold median {out['step_cold_ms_median']:.2f} ms "
          f"(max {out['step_cold_ms_max']:.2f}), warm {out['step_warm_ms_median']:.2f} ms   "
          f"(target <= 30 ms)")
    print(f"select a rollout (actions, low-dim obs, events, replan steps): cold median "
          f"{out['select_cold_ms_median']:.2f} ms")

    with RecordingReader(path) as r:
        base = r.summary
    reps = -(-10_000 // count)
    jitter = np.random.default_rng(2)
    big = {k: np.tile(v, reps)[:10_000] for k, v in base.items()}
    big["id"] = np.arange(10_000)
    for k in ("min_clearance", "plan_exec_gap", "sample_disagreement"):
        big[k] = big[k] + jitter.normal(0, 1e-3, 10_000)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        hardness(big)
        times.append((time.perf_counter() - start) * 1e3)
    out["rank_10000_ms"] = statistics.median(times)
    print(f"rank 10,000 rollouts: {out['rank_10000_ms']:.2f} ms   (target <= 1000 ms)")

    n_write = 20 if quick else 100
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        folder = Path(tmp)
        cpu = time.process_time()
        seconds = _write(folder / "w.h5", n_write, durable=True)
        cpu = time.process_time() - cpu
        nbytes = (folder / "w.h5").stat().st_size
        fast = _write(folder / "f.h5", n_write, durable=False)
        once = _write_at_once(folder / "o.h5", n_write)
        raw = _raw_baseline(folder, nbytes)
        raw_each = _raw_baseline(folder, nbytes, nbytes // n_write, fsync_each=True)
    out["writer_mb_s"] = nbytes / seconds / 1e6
    out["writer_fast_mb_s"] = nbytes / fast / 1e6
    out["write_recording_mb_s"] = nbytes / once / 1e6
    out["raw_write_mb_s"] = raw
    out["raw_write_fsync_each_mb_s"] = raw_each
    out["writer_ms_per_rollout"] = seconds / n_write * 1e3
    out["writer_cpu_ms_per_rollout"] = cpu / n_write * 1e3
    print(f"writer ({n_write} rollouts, {nbytes / 1e6:.0f} MB, close() included): "
          f"{out['writer_mb_s']:.0f} MB/s durable ({out['writer_ms_per_rollout']:.1f} ms/rollout, "
          f"of which {out['writer_cpu_ms_per_rollout']:.1f} ms CPU in this process), "
          f"{out['writer_fast_mb_s']:.0f} MB/s durable=False, one-shot write_recording "
          f"{out['write_recording_mb_s']:.0f} MB/s")
    print(f"raw sequential write of the same bytes: {raw:.0f} MB/s (one fsync), "
          f"{raw_each:.0f} MB/s (fsync per rollout-sized block) -> durable writer / raw "
          f"{out['writer_mb_s'] / raw:.2f}, / raw with fsync per block "
          f"{out['writer_mb_s'] / raw_each:.2f}; one-shot / raw {out['write_recording_mb_s'] / raw:.2f}")
    return out


if __name__ == "__main__":   # python -m app.bench.recordings [--quick]
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args())
