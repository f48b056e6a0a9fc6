"""Inspector UI: 2-D redraw of 1024 plans, 3-D view with 256 plans, GUI stall while sampling.

- 2-D: a PlanProjection (one curve item for all plans, a `connect` array, painted as one
  image rasterised in compiled code: app/qt/plots/plan_curve.py) redrawn with a new
  chain step of 1024 plans x 16 waypoints per frame (setData + synchronous repaint); target
  <= 8 ms/frame. The workload is a REAL chain: the shipped diffusion checkpoint's 1024 plans for
  mug_grasp seed 5000 with its default solver (every step from noise to plans, coloured by the
  scene's mode labels). Painting cost grows with the lines' pixel length, so the synthetic chain
  (wider noise than any real chain here) is also timed as a stress figure, and so is the real
  chain in the chain dock's top view of the default 1600x960 inspector layout (zoomed on the
  final plans, so early noise steps draw long lines across it). Reference in the same run: the
  same plans as one PlotDataItem per plan. Context: scrubbing that chain in the whole window.
- 3-D: the mirrored mug_grasp scene plus the plan overlay (256 plans as one GL line item) with
  a new chain step and a camera orbit every frame, glFinish'ed; fps under the machine's OpenGL
  (software llvmpipe here); target >= 30 fps. Reference: the same view without the plans.
- Stall: a 5 ms QTimer probe on the GUI thread of the full main window while the shipped
  diffusion checkpoint samples (N=128 DPM-Solver++ defaults, then N=256 DDPM x 100 steps) on
  the worker thread with partial chains streamed to the views; the largest gap between probe
  ticks beyond the interval is the stall; target <= 50 ms.
Machine reference: numpy float32 GEMM GFLOP/s.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from app import CHECKPOINTS

PLANS_2D, PLANS_3D, H, STEPS = 1024, 256, 16, 10
PROBE_MS = 5
INSPECTOR_VIEW = (690, 540)   # the central 3-D view's size in the default 1600x960 inspector layout


def gemm_gflops(n: int = 512, repeats: int = 10) -> float:
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    a @ a
    start = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def reference_chain(n: int, steps: int = STEPS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A benchmark workload shaped like a real chain: [S+1, n, H, 4] from noise to two modes
    (paths around x = 0.55 on +-y) and labels [n]. Only the array sizes matter for timing."""
    rng = np.random.default_rng(seed)
    side = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    s = np.linspace(0, 1, H)
    plans = np.zeros((n, H, 4), np.float32)
    plans[..., 0] = 0.45 + 0.12 * s
    plans[..., 1] = side[:, None] * (0.12 * np.sin(np.pi * s) + 0.04 * s)
    plans[..., 2] = 0.3 - 0.2 * s
    plans[..., :3] += rng.normal(0, 0.005, (n, H, 3))
    noise = rng.normal(0, 0.2, (n, H, 4)).astype(np.float32) + plans.mean(0)
    a = np.linspace(0, 1, steps + 1)[:, None, None, None]
    chain = (np.sqrt(a) * plans + np.sqrt(1 - a) * noise).astype(np.float32)
    return chain, (side < 0).astype(np.int64)


def real_chain(n: int, seed: int = 5000) -> tuple[np.ndarray, np.ndarray] | None:
    """The shipped diffusion checkpoint's chain [S+1, n, H, 4] for mug_grasp `seed` (its default
    solver and steps) and mode labels [n] (0 left, 1 right, -1 neither); None without it."""
    policy = CHECKPOINTS / "mug_grasp_diffusion"
    if not policy.is_dir():
        return None
    from app.core.sampling import sample_in_scene
    from planners import load_planner
    sampled = sample_in_scene(load_planner(str(policy)), "mug_grasp", seed, n)
    labels = np.array([{"left": 0, "right": 1}.get(name, -1) for name in sampled["labels"]])
    return np.asarray(sampled["batch"].chain, np.float32), labels


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples[2:] if len(samples) > 4 else samples)


def _redraw_ms(app, proj, chain: np.ndarray, labels: np.ndarray, frames: int) -> float:
    """Median ms of set_plans(step) + a synchronous repaint, cycling over every chain step."""
    app.processEvents()
    samples = []
    for i in range(frames):
        t0 = time.perf_counter()
        proj.set_plans(chain[i % len(chain)], labels)
        proj.viewport().repaint()            # the QGraphicsView's viewport is what paints
        samples.append((time.perf_counter() - t0) * 1e3)
    return _median_ms(samples)


def _scrub_ms(app, state, real: tuple[np.ndarray, np.ndarray]) -> float:
    """Median ms per chain step when scrubbing the real 1024-plan chain in the whole window:
    state.set_step, then two event-loop passes (each view's update and its deferred paint:
    both projections, the spread plot and the 3-D overlay)."""
    from app.core.analysis import SampleResult, summary_from_labels
    from recordings.plan_batch import PlanBatch

    chain, labels = real
    s = chain.shape[0] - 1
    batch = PlanBatch(plans=chain[-1], chain=chain, x0_estimates=chain[1:].copy(),
                      timesteps=np.arange(s)[::-1], step_ms=np.ones(s), solver="dpmpp", seed=0)
    state.set_result(SampleResult(batch, summary_from_labels(["left", "right"], labels, None)))
    for _ in range(3):
        app.processEvents()
    samples = []
    for k in list(range(s + 1)) * 2:
        t0 = time.perf_counter()
        state.set_step(k)
        app.processEvents()
        app.processEvents()
        samples.append((time.perf_counter() - t0) * 1e3)
    return _median_ms(samples)


def bench_2d(app, frames: int, real: tuple[np.ndarray, np.ndarray] | None) -> dict:
    import pyqtgraph as pg

    from app.qt.plots.plan_projection import PlanProjection

    synthetic, synthetic_labels = reference_chain(PLANS_2D)
    proj = PlanProjection((0, 1), "top view (x–y)")
    proj.resize(640, 480)
    proj.show()
    proj.set_range_from(np.array([0.3, -0.3, 0]), np.array([0.7, 0.3, 0.4]))
    stress = _redraw_ms(app, proj, synthetic, synthetic_labels, frames)
    chain, labels = real if real is not None else (synthetic, synthetic_labels)
    ours = _redraw_ms(app, proj, chain, labels, frames) if real is not None else stress
    # reference: one item per plan (what the connect arrays avoid)
    ref = pg.PlotWidget()
    ref.resize(640, 480)
    ref.show()
    items = [ref.plot(pen=pg.mkPen("#56B4E9")) for _ in range(PLANS_2D)]
    app.processEvents()
    ref_samples = []
    for i in range(max(3, frames // 10)):
        plans = chain[i % len(chain)]
        t0 = time.perf_counter()
        for item, p in zip(items, plans):
            item.setData(p[:, 0], p[:, 1])
        ref.viewport().repaint()
        ref_samples.append((time.perf_counter() - t0) * 1e3)
    per_item = _median_ms(ref_samples)
    proj.close()
    ref.close()
    return {"redraw_1024_plans_ms": round(ours, 2), "workload": "real chain" if real is not None
            else "synthetic chain (no checkpoint)", "chain_steps": int(len(chain) - 1),
            "synthetic_wide_noise_ms": round(stress, 2), "one_item_per_plan_ms": round(per_item, 1),
            "speedup_vs_item_per_plan": round(per_item / ours, 1), "target_ms": 8.0,
            "within_target": ours <= 8.0}


def bench_3d(app, frames: int, size: tuple[int, int] = (1280, 800),
             real: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    from OpenGL import GL
    from pyqtgraph import Vector

    from app.core.analysis import SampleResult, summary_from_labels
    from app.core.inspector.state import InspectorState
    from app.core.scene_session import SceneSession
    from app.qt.inspector.plan_overlay import PlanOverlay
    from app.qt.shell.scene_view import SceneView
    from recordings.plan_batch import PlanBatch

    session = SceneSession("mug_grasp")
    session.load()
    view = SceneView()
    view.resize(*size)
    view.show()
    view.setCameraPosition(pos=Vector(0.55, 0.0, 0.15), distance=0.9, elevation=35, azimuth=-140)
    app.processEvents()
    chain, labels = (real[0][:, :PLANS_3D], real[1][:PLANS_3D]) if real is not None \
        else reference_chain(PLANS_3D)
    s = chain.shape[0] - 1
    batch = PlanBatch(plans=chain[-1], chain=chain, x0_estimates=chain[1:].copy(),
                      timesteps=np.arange(s)[::-1], step_ms=np.ones(s), solver="ddim", seed=0)
    state = InspectorState()
    state.set_result(SampleResult(batch, summary_from_labels(["left", "right"], labels, None)))
    overlay = PlanOverlay(state)

    def frame_ms(before) -> float:
        samples = []
        for i in range(frames):
            t0 = time.perf_counter()
            before(i)
            # render into the widget's framebuffer now and wait for it (repaint() may be
            # coalesced or skipped for an unexposed widget; this always draws the frame)
            view.makeCurrent()
            view.paintGL()
            GL.glFinish()
            samples.append((time.perf_counter() - t0) * 1e3)
        return _median_ms(samples)

    def orbit(i: int) -> None:
        view.setCameraPosition(azimuth=-140 + 2 * i)

    def step_and_orbit(i: int) -> None:
        state.set_step(i % (s + 1))
        orbit(i)

    overlay.attach(view)
    plans_only = frame_ms(step_and_orbit)      # plans + grid, no scene meshes
    overlay.detach()
    view.set_scene(session.describe(), session.link_poses())
    view.setCameraPosition(pos=Vector(0.55, 0.0, 0.15), distance=0.9, elevation=35, azimuth=-140)
    app.processEvents()
    scene_only = frame_ms(orbit)
    overlay.attach(view)
    with_plans = frame_ms(step_and_orbit)
    view.makeCurrent()
    renderer = GL.glGetString(GL.GL_RENDERER)
    renderer = renderer.decode() if isinstance(renderer, bytes) else str(renderer)
    view.close()
    session.close()
    fps = 1000.0 / with_plans
    return {"plans": PLANS_3D, "size": list(size), "frame_ms": round(with_plans, 2),
            "fps": round(fps, 1), "scene_only_frame_ms": round(scene_only, 2),
            "plans_only_frame_ms": round(plans_only, 2),
            "plans_only_fps": round(1000.0 / plans_only, 1), "gl_renderer": renderer,
            "target_fps": 30, "within_target": fps >= 30}


def bench_stall(app, real: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    from PySide6 import QtCore

    from app.core.scene_session import SceneSession
    from app.qt import registry

    policy = CHECKPOINTS / "mug_grasp_diffusion"
    if not policy.is_dir():
        return {"skipped": f"{policy} is missing (make checkpoints)"}
    window = registry.main_window(SceneSession("mug_grasp"), restore_layout=False)
    window.resize(1600, 960)
    window.show()
    window.load_scene()
    ws = window.features["inspector"]
    ws.controller.synchronous = True       # load (and its first sampling) before measuring
    ws.controller.open_policy(str(policy), "policy")
    ws.controller.synchronous = False
    for _ in range(10):   # first frames with the overlays compile their shaders: not a stall
        app.processEvents()
        time.sleep(0.02)
    # context: what any repaint of this window costs (a status-bar message), with no sampling
    floor = []
    for i in range(12):
        t0 = time.perf_counter()
        window.status(f"probe {i}")
        app.processEvents()
        floor.append((time.perf_counter() - t0) * 1e3)
    out = {"window_repaint_floor_ms": round(_median_ms(floor), 1)}
    if real is not None:
        # the 2-D redraw where an engineer sees it: the chain dock's top view in this layout
        top = ws.chain_view.top
        final = real[0][-1][..., :3].reshape(-1, 3)
        top.set_range_from(final.min(axis=0), final.max(axis=0))
        out["redraw_1024_in_layout_ms"] = round(_redraw_ms(app, top, real[0], real[1], 60), 2)
        out["layout_top_view_size"] = [top.width(), top.height()]
        out["chain_scrub_1024_window_ms"] = round(_scrub_ms(app, ws.state, real), 1)
        ws.chain_view.refresh_all()
    for label, settings in (("n128_default", {"num_samples": 128}),
                            ("n256_ddpm100", {"num_samples": 256, "solver": "ddpm", "steps": 100})):
        ws.state.update_settings(**settings)
        ticks: list[float] = []
        timer = QtCore.QTimer()
        timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        timer.setInterval(PROBE_MS)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        timer.start()
        t0 = time.perf_counter()
        ws.controller.sample()
        while ws.state.sampling:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
        wall = (time.perf_counter() - t0) * 1e3
        timer.stop()
        gaps = np.diff(ticks) * 1e3 - PROBE_MS if len(ticks) > 1 else np.zeros(1)
        out[label] = {"sampling_wall_ms": round(wall, 1), "probe_ticks": len(ticks),
                      "max_stall_ms": round(float(gaps.max()), 1),
                      "p99_stall_ms": round(float(np.percentile(gaps, 99)), 1),
                      "within_target": float(gaps.max()) <= 50.0}
    ws.shutdown()
    window.close()
    out["target_ms"] = 50.0
    return out


def run(args) -> dict:
    from app.qt.shell.qt_app import ensure_display, ensure_qapp

    display = ensure_display()
    try:
        app = ensure_qapp()
        quick = getattr(args, "quick", False)
        result = {"gemm_gflops": round(gemm_gflops(), 1)}
        print(f"machine: numpy float32 GEMM {result['gemm_gflops']} GFLOP/s", flush=True)
        real = real_chain(PLANS_2D)
        result["redraw_2d"] = r = bench_2d(app, 15 if quick else 60, real)
        print(f"2-D redraw, {PLANS_2D} plans x {H} waypoints ({r['workload']}, {r['chain_steps']} "
              f"steps): {r['redraw_1024_plans_ms']} ms/frame (target <= 8); synthetic chain with "
              f"wider noise: {r['synthetic_wide_noise_ms']} ms; one item per plan: "
              f"{r['one_item_per_plan_ms']} ms ({r['speedup_vs_item_per_plan']}x slower)", flush=True)
        for key, size in (("view_3d", (1280, 800)), ("view_3d_inspector_layout", INSPECTOR_VIEW)):
            result[key] = r = bench_3d(app, 15 if quick else 60, size, real)
            print(f"3-D view {size[0]}x{size[1]}, {PLANS_3D} plans + mirrored scene: {r['fps']} fps "
                  f"({r['frame_ms']} ms/frame; scene alone {r['scene_only_frame_ms']} ms; plans "
                  f"alone {r['plans_only_fps']} fps) on {r['gl_renderer']} (target >= 30 fps)",
                  flush=True)
        result["stall_while_sampling"] = r = bench_stall(app, real)
        if "skipped" in r:
            print(f"GUI stall while sampling: skipped ({r['skipped']})")
        else:
            print(f"any repaint of the main window (a status message) costs "
                  f"{r['window_repaint_floor_ms']} ms here", flush=True)
            if "redraw_1024_in_layout_ms" in r:
                w, h = r["layout_top_view_size"]
                print(f"2-D redraw of the same 1024-plan chain in the default 1600x960 inspector "
                      f"layout (top view {w}x{h}): {r['redraw_1024_in_layout_ms']} ms/frame", flush=True)
                scrub = r["chain_scrub_1024_window_ms"]
                print(f"scrubbing that chain in the whole window (both projections, spread plot, "
                      f"3-D overlay of all 1024 plans): {scrub} ms per step = "
                      f"{1000 / scrub:.0f} fps (no target; the 3-D target is for 256 plans)", flush=True)
            for key in ("n128_default", "n256_ddpm100"):
                f = r[key]
                print(f"GUI stall while sampling {key}: max {f['max_stall_ms']} ms, p99 "
                      f"{f['p99_stall_ms']} ms over {f['probe_ticks']} probe ticks "
                      f"(sampling took {f['sampling_wall_ms']} ms; target <= 50 ms)", flush=True)
        return result
    finally:
        if display is not None:
            from PySide6 import QtWidgets
            if QtWidgets.QApplication.instance() is not None:   # let go of X before it stops
                QtWidgets.QApplication.instance().shutdown()
            display.stop()
