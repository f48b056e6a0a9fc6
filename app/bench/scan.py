"""Dataset scan: frames scanned per second with the shipped checkpoint at N=32 and 10 solver steps
on 1 worker sampling one frame per call and F frames per call (batched across frames, the ratio
printed), on 1 and 2 workers (target 2 workers >= 1.8x one), the sampling cost per frame for
F = 1, 2, 4, 8, 16 frames per call (what app/core/scan/batching.py's rule is chosen from), the
per-frame cost split (sampling vs analysis),
the heat-map redraw for 10,000 x 1,000 cells (target <= 16 ms) and opening a ~1 GB scan file to
its first drawn heat map (target <= 1 s).

The data set is collected here (mug_grasp scripted demonstrations, 60 episodes, or 20 with
--quick). The rate is the steady state: frames finished after every worker returned its first job,
divided by the time since (worker start-up and model loading excluded; both printed). The 1 GB file is
written with synthetic values (the figure is about reading and drawing, not scanning); the file
is dropped from the page cache first when the OS allows (`posix_fadvise`), else the figure is warm.
"""
from __future__ import annotations

import os
import tempfile
import time

import numpy as np

DIFFUSION = os.path.join("resources", "checkpoints", "mug_grasp_diffusion")


def _collect(folder: str, episodes: int) -> str:
    from app.core.evaluation.collect import collect
    path = os.path.join(folder, "demos.h5")
    collect("mug_grasp", episodes, 0, path, mode_mix=(0.5, 0.5), workers=2)
    return path


def _rate(data: str, out: str, workers: int, episodes: int, frames_per_call: int = 0) -> dict:
    from app.core.scan.config import ScanConfig, ScanSettings
    from app.core.scan.engine import run_scan
    settings = ScanSettings(episodes=(0, episodes), every=1, num_samples=32, steps=10,
                            neighbours=32, frames_per_call=frames_per_call)
    config = ScanConfig((DIFFUSION,), data, settings)
    marks: list[tuple[float, int]] = []
    start = time.perf_counter()
    result = run_scan(config, out, workers=workers,
                      progress=lambda done, total: marks.append((time.perf_counter(), done)))
    total_s = time.perf_counter() - start
    # warm: once every worker has returned its first job (start-up and model loading behind it);
    # jobs of 16 frames arrive in bursts, so few jobs make this figure coarse: see end to end too
    warm = marks[min(workers - 1, len(marks) - 2)] if len(marks) > 1 else (start, 0)
    steady = (marks[-1][1] - warm[1]) / max(marks[-1][0] - warm[0], 1e-9) if marks else 0.0
    per_call = f"{frames_per_call} frame(s) per call" if frames_per_call else "F by the rule"
    print(f"  {workers} worker(s), {per_call}: {result.written} frames in {total_s:.1f} s "
          f"({result.written / total_s:.2f} frames/s end to end, {steady:.2f} frames/s steady)")
    return {"frames": result.written, "seconds": total_s, "steady_fps": steady}


def _cost_split(data: str) -> dict:
    """ms per frame: sampling (one policy, N=32, 10 steps) vs neighbours + metrics, in process."""
    from app.core.scan.config import ScanConfig, ScanSettings, frame_seed
    from app.core.scan.work import ScanContext
    from planners.frame_metrics import frame_metrics, local_modes, state_weights
    ctx = ScanContext(ScanConfig((DIFFUSION,), data, ScanSettings(num_samples=32, steps=10,
                                                                  neighbours=32)))
    planner = ctx.planners[0]
    sample_ms, analysis_ms = [], []
    for t in range(0, 24, 2):
        obs = ctx.observation(planner, 1, t)
        seed = frame_seed(0, 1, t)
        noise = np.random.default_rng(seed).standard_normal((32, ctx.horizon, ctx.action_dim))
        a = time.perf_counter()
        batch = ctx.sample(planner, obs, seed, noise.astype(np.float32))
        b = time.perf_counter()
        nb, d = ctx.local.nearest(1, t, 32)
        local = local_modes(nb, action_scale=ctx.action_scale, weights=state_weights(d))
        demo, mask = ctx.demo(1, t)
        frame_metrics(batch.plans, demo, local, action_scale=ctx.action_scale, demo_mask=mask)
        c = time.perf_counter()
        sample_ms.append((b - a) * 1e3)
        analysis_ms.append((c - b) * 1e3)
    out = {"sample_ms": float(np.median(sample_ms[2:])),
           "analysis_ms": float(np.median(analysis_ms[2:])),
           "num_parameters": int(planner.spec.num_parameters)}
    print(f"  per frame, one process: sampling {out['sample_ms']:.1f} ms "
          f"({out['num_parameters'] / 1e6:.2f} M parameters, N=32, 10 steps), neighbours + "
          f"metrics {out['analysis_ms']:.1f} ms")
    return out


def _batch_sweep(data: str, quick: bool) -> dict:
    """Sampling ms per frame (one policy, N=32, 10 steps, one process) with F frames per call:
    the same 16 frames of one episode sampled with F = 1, 2, 4, 8, 16, alternating, median."""
    import torch

    from app.core.scan.batching import sample_frames
    from app.core.scan.config import ScanConfig, ScanSettings
    from app.core.scan.work import ScanContext
    torch.set_num_threads(1)
    ctx = ScanContext(ScanConfig((DIFFUSION,), data, ScanSettings(num_samples=32, steps=10,
                                                                  neighbours=32)))
    planner = ctx.planners[0]
    frames = [ctx.prepare(1, t) for t in range(16)]
    sizes = (1, 2, 4, 8, 16)
    times: dict[int, list[float]] = {f: [] for f in sizes}
    for f in sizes:                       # warm-up: kernel calibration for each batch size
        sample_frames(ctx, planner, 1, frames[:f], f)
    for _ in range(1 if quick else 3):
        for f in sizes:
            a = time.perf_counter()
            sample_frames(ctx, planner, 1, frames, f)
            times[f].append((time.perf_counter() - a) * 1e3 / len(frames))
    out = {f: float(np.median(v)) for f, v in times.items()}
    print("  sampling per frame (N=32, 10 steps, one thread) by frames per call: " +
          ", ".join(f"F={f} {ms:.1f} ms ({out[1] / ms:.2f}x)" for f, ms in out.items()))
    return out


def _dp_size_cost(quick: bool) -> dict:
    """One denoiser call of a diffusion_policy-size U-Net (~65 M parameters, planners.nets.unet1d
    built as app/bench/_sampling_sizes.py does) on N=32 plans, one thread: ms and FLOPs, so a scan
    of such a model can be costed (10 steps per frame)."""
    import torch

    from torch.utils.flop_counter import FlopCounterMode

    from app.bench._sampling_sizes import SIZES, build
    torch.set_num_threads(1)
    _, model, call, _, cond = build("dp")
    action_dim = SIZES["dp"][2]
    params = sum(p.numel() for p in model.parameters())
    x, c = torch.randn(32, 16, action_dim), torch.zeros(32, cond)
    times = []
    with torch.inference_mode():
        for _ in range(3 if quick else 8):
            a = time.perf_counter()
            call(model, x, torch.tensor(10), c)
            times.append((time.perf_counter() - a) * 1e3)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        call(model, x, torch.tensor(10), c)
    flops = float(counter.get_total_flops())
    out = {"parameters": int(params), "forward_ms": float(np.median(times[1:])),
           "forward_gflop": flops / 1e9}
    print(f"  diffusion_policy-size U-Net ({params / 1e6:.1f} M parameters), N=32, one thread: "
          f"{out['forward_ms']:.0f} ms and {out['forward_gflop']:.1f} GFLOP per denoiser call "
          f"(x 10 steps per frame)")
    return out


def _heatmap_redraw(quick: bool) -> dict:
    """Metric switch (quantise + setImage + paint) and a plain repaint of 10,000 x 1,000 cells."""
    from PySide6 import QtWidgets

    from app.qt.scan.heatmap_view import colour_table, levels, quantise
    import pyqtgraph as pg
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rng = np.random.default_rng(0)
    grids = [rng.random((10_000, 1_000), dtype=np.float32) for _ in range(2)]
    plot = pg.PlotWidget()
    image = pg.ImageItem(axisOrder="row-major")
    image.setAutoDownsample(True)
    plot.addItem(image)
    plot.resize(1000, 700)
    plot.show()
    app.processEvents()
    switch, repaint = [], []
    for i in range(3 if quick else 10):
        grid = grids[i % 2]
        a = time.perf_counter()
        lo, hi = levels(grid)
        image.setImage(quantise(grid, lo, hi), lut=colour_table(1), levels=(0, 255),
                       autoLevels=False)
        plot.grab()                      # renders the whole view, as a paint event does
        b = time.perf_counter()
        plot.getViewBox().translateBy(x=1.0)      # a pan: the same image drawn elsewhere
        plot.grab()
        c = time.perf_counter()
        switch.append((b - a) * 1e3)
        repaint.append((c - b) * 1e3)
    plot.close()
    out = {"switch_ms": float(np.median(switch)), "repaint_ms": float(np.median(repaint))}
    print(f"  heat map 10,000 x 1,000 cells: redraw (pan) {out['repaint_ms']:.1f} ms (target "
          f"<= 16 ms); first show of a metric (quantise + upload + paint) {out['switch_ms']:.1f} ms")
    return out


def _write_large(path: str, episodes: int, length: int = 1_000) -> float:
    """A scan file of episodes x length frames, two policies, synthetic values -> GB on disk."""
    from app.core.scan.config import column_spec
    from recordings.formats.scan_file import ScanWriter
    spec = column_spec(2)
    rng = np.random.default_rng(0)
    per_chunk = max(1, 200_000 // length)
    header = {"policies": [{"label": "A"}, {"label": "B"}], "settings": {"every": 1}}
    with ScanWriter(path, columns=spec, header=header, durable=False) as w:
        for e0 in range(0, episodes, per_chunk):
            eps = np.arange(e0, min(episodes, e0 + per_chunk))
            n = len(eps) * length
            rows = {"episode": np.repeat(eps, length), "frame": np.tile(np.arange(length), len(eps))}
            for name, (dtype, shape) in spec.items():
                rows[name] = (rng.random((n, *shape)) < 0.05).astype(dtype) if dtype == "uint8" \
                    else rng.random((n, *shape), dtype=np.float32)
            w.write_chunk(rows)
    return os.path.getsize(path) / 1e9


def _drop_cache(path: str) -> bool:
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _open_large(folder: str, quick: bool) -> dict:
    """Open a ~1 GB scan file (0.1 GB with --quick) to its first drawn heat map."""
    from PySide6 import QtWidgets

    from app.qt.scan.workspace import ScanPanel
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    path = os.path.join(folder, "large.h5")
    a = time.perf_counter()
    size = _write_large(path, 640 if quick else 6_400)
    write_s = time.perf_counter() - a
    cold = _drop_cache(path)
    panel = ScanPanel()
    panel.resize(1400, 900)
    panel.show()
    app.processEvents()
    a = time.perf_counter()
    panel.state.open(path)
    panel.heatmap.plot.grab()
    b = time.perf_counter()
    queue = panel.state.queue
    panel.state.select(queue[0].episode, queue[0].frame)
    app.processEvents()
    c = time.perf_counter()
    panel.state.close()
    panel.close()
    out = {"gigabytes": size, "first_heatmap_s": b - a, "queue_and_curves_s": c - b,
           "cold_cache": cold, "write_s": write_s}
    print(f"  open a {size:.2f} GB scan ({'cold' if cold else 'warm'} page cache) to the first "
          f"drawn heat map: {out['first_heatmap_s']:.2f} s (target <= 1 s); queue + curves of the "
          f"hardest frame {out['queue_and_curves_s']:.2f} s more; writing it took {write_s:.0f} s")
    return out


def run(args) -> dict:
    quick = getattr(args, "quick", False)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  cores {os.cpu_count()}, load average {load:.1f} before the runs")
    results: dict = {"load_average": load}
    with tempfile.TemporaryDirectory() as folder:
        if os.path.isdir(DIFFUSION):
            episodes = 2 if quick else 8      # 240 frames: 15 jobs, enough for a steady rate on 2 workers
            data = _collect(folder, 20 if quick else 60)
            results["cost"] = _cost_split(data)
            results["frames_per_call"] = _batch_sweep(data, quick)
            single = _rate(data, os.path.join(folder, "single.h5"), 1, episodes, 1)
            one = _rate(data, os.path.join(folder, "one.h5"), 1, episodes)
            batched = one["steady_fps"] / max(single["steady_fps"], 1e-9)
            print(f"  1 worker, batched across frames / one frame per call: {batched:.2f}x steady")
            results.update({"unbatched": single, "batched_speedup": batched})
            two = _rate(data, os.path.join(folder, "two.h5"), 2, episodes)
            ratio = two["steady_fps"] / max(one["steady_fps"], 1e-9)
            print(f"  2 workers / 1 worker: {ratio:.2f}x steady (target >= 1.8x)")
            results.update({"one_worker": one, "two_workers": two, "speedup": ratio})
        results["dp_size"] = _dp_size_cost(quick)
        results["heatmap"] = _heatmap_redraw(quick)
        results["open"] = _open_large(folder, quick)
    return results
