"""Expert collection: wall time to collect 100 mug_grasp episodes on all cores (target <= 60 s).

Reference measured in the same run: the machine's single-core PyBullet rate for the scene
(stepSimulation calls per second with the Panda, table and mug loaded), and the pure physics
cost of the collected episodes at that rate, so the figure reads as "x times the physics alone";
and the CPU (process) time per episode, which other load on the machine barely changes, with the
wall time it implies on idle cores. `--quick` collects 20 episodes.
"""
from __future__ import annotations

import os
import tempfile
import time


def _step_rate(seconds: float = 1.0) -> float:
    """stepSimulation calls per second, single core, mug_grasp world."""
    from scenes import make_scene
    scene = make_scene("mug_grasp")
    try:
        scene.reset(0)
        p, c = scene.p, scene.client
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(240):
                p.stepSimulation(physicsClientId=c)
            n += 240
        return n / (time.perf_counter() - start)
    finally:
        scene.close()


def _cpu_s_per_episode(episodes: int = 10) -> float:
    """CPU seconds (process time, so other load on the machine barely moves it) per mug_grasp
    expert episode, recording included except the HDF5 write."""
    from app.core.evaluation.collect import run_expert_episode
    from scenes import make_scene
    scene = make_scene("mug_grasp")
    try:
        run_expert_episode(scene, 0)
        start = time.process_time()
        for seed in range(episodes):
            run_expert_episode(scene, seed)
        return (time.process_time() - start) / episodes
    finally:
        scene.close()


def run(args) -> dict:
    from app.core.evaluation.collect import collect, default_workers
    from scenes.bullet_scene import SUBSTEPS

    episodes = 20 if getattr(args, "quick", False) else 100
    workers = default_workers()
    rate = _step_rate()
    cpu_per_episode = _cpu_s_per_episode(5 if getattr(args, "quick", False) else 10)
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "bench.h5")
        start = time.perf_counter()
        summary = collect("mug_grasp", episodes, 0, out, workers=workers)
        wall = time.perf_counter() - start
        size_mb = os.path.getsize(out) / 1e6
    steps = summary.control_steps
    physics_s = steps * SUBSTEPS / rate / workers
    figures = {
        "episodes": summary.episodes, "workers": workers, "wall_s": wall,
        "episodes_per_s": summary.episodes / wall, "success_rate": summary.success_rate,
        "file_mb": size_mb, "step_rate_hz_single_core": rate,
        "physics_only_s_est": physics_s, "wall_over_physics": wall / physics_s,
        "control_steps": steps, "cpu_s_per_episode": cpu_per_episode,
        "idle_estimate_s": cpu_per_episode * 100 / workers,
    }
    print(f"collect {summary.episodes} mug_grasp episodes, {workers} workers: {wall:.1f} s "
          f"({figures['episodes_per_s']:.1f} episodes/s; target <= 60 s for 100 on 2 cores)")
    print(f"  success {summary.success_rate:.2f}, file {size_mb:.1f} MB")
    print(f"  reference: stepSimulation {rate:,.0f} /s on one core; the physics alone of "
          f"{steps} control steps x {SUBSTEPS} substeps on {workers} cores = {physics_s:.1f} s "
          f"-> collection costs {figures['wall_over_physics']:.1f}x the physics")
    print(f"  CPU time per episode {cpu_per_episode * 1e3:.0f} ms (process time, load-independent): "
          f"100 episodes on {workers} idle cores ~ {figures['idle_estimate_s']:.1f} s")
    return figures
