"""Collect scripted-expert demonstrations into a recording (Qt-free; runs in worker processes).

    summary = collect("mug_grasp", episodes=100, seed=0, mode_mix=(0.5, 0.5), out="demos.h5")

Episode i uses seed `seed + i` for the scene reset, the expert's mode draw and its noise, so
the file is identical whatever the number of workers. With `paired=True` every seed (placement)
is demonstrated once per mode of the scene, in the scene's mode order (episodes = placements x
modes, same reset and same waypoint noise, only the mode differs): the mode is then independent
of the state in the data by construction, so a chance correlation between placement and mode
cannot be learnt (see docs/scenes.md). Either way, workers only compute rollouts, the parent
writes them in seed order. Output goes to a temporary name in the target folder and is renamed
over `out` only when every episode is written: an error or Ctrl+C leaves nothing half-written.

Each rollout holds per control step t: obs/<key> [T, size] (the observation before step t),
actions [T, 4] (the expert's commanded waypoint; with action noise or delay perturbations the
applied action differs, see scenes.perturbations), states [T, S] (exact simulator state before
step t), rewards [T], dones [T]; plus events, metrics, seed, policy "expert", the perturbation,
success and mode = the expert's intended mode (attrs["labelled_mode"] is label_mode of the
executed path, which the tests require to agree).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from recordings.errors import RecordingError

_SCENE_CACHE: dict[tuple, object] = {}


@dataclass
class CollectSummary:
    path: str
    episodes: int
    successes: int
    mode_counts: dict[str, int]
    wall_s: float
    control_steps: int = 0
    per_mode_success: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def success_rate(self) -> float:
        return self.successes / max(self.episodes, 1)

    def mode_shares(self) -> dict[str, float]:
        return {m: c / max(self.episodes, 1) for m, c in self.mode_counts.items()}


def _scene(name: str, options: dict, perturbation: dict):
    key = (name, repr(sorted(options.items())), repr(sorted(perturbation.items())))
    scene = _SCENE_CACHE.get(key)
    if scene is None:
        from scenes import make_scene
        scene = make_scene(name, perturb=dict(perturbation), **options)
        _SCENE_CACHE[key] = scene
    return scene


def run_expert_episode(scene, seed: int, mode_mix: Sequence[float] | None = None,
                       noise: float | None = None):
    """One expert episode on `scene` -> recordings.rollout.Rollout (see module docstring)."""
    from recordings.rollout import Rollout
    from scenes import make_expert
    from scenes.api import ACTION_STEPS

    obs = scene.reset(seed)
    expert = make_expert(scene, mode_mix=mode_mix, noise=noise, seed=seed)
    obs_rows, actions, states, rewards, events = [], [], [], [], []
    success, done = False, False
    while not done:
        chunk = expert.act(obs)[:ACTION_STEPS]
        result = scene.step(chunk)
        k = len(result.action_trace)
        obs_rows += result.obs_trace
        actions.append(chunk[:k])
        states += result.state_trace
        rewards += result.reward_trace
        events += result.events
        success, done, obs = success or result.success, result.done, result.obs
    steps = len(states)
    dones = np.zeros(steps, dtype=bool)
    dones[-1] = True
    actions_arr = np.concatenate(actions).astype(np.float32)
    metrics = dict(scene.episode_metrics())
    metrics["episode_steps"] = float(steps)
    metrics["time_to_success_s"] = float(steps / 10.0) if success else float("nan")
    metrics["path_length_m"] = float(np.linalg.norm(np.diff(actions_arr[:, :3], axis=0), axis=1).sum())
    # Label and clearance are judged against the scene as it was at reset.
    scene.set_state(states[0])
    labelled = scene.label_mode(actions_arr)
    metrics["min_clearance_m"] = float(scene.clearance(actions_arr))
    obs_traces = {key: np.stack([o[key] for o in obs_rows]) for key in obs_rows[0]}
    return Rollout(obs=obs_traces, actions=actions_arr, states=np.stack(states),
                   rewards=np.asarray(rewards, np.float32), dones=dones, events=events,
                   metrics=metrics, seed=int(seed), policy="expert",
                   perturbation=scene.perturbation.to_dict(), success=bool(success),
                   failure_label="unlabelled", mode=expert.mode,
                   attrs={"labelled_mode": labelled, "expert_noise": expert.noise})


def _episode_job(args: tuple) -> object:
    name, options, perturbation, seed, mode_mix, noise = args
    return run_expert_episode(_scene(name, options, perturbation), seed, mode_mix, noise)


def check_output_path(out: str) -> str:
    """Absolute output path, or RecordingError when it cannot be written."""
    path = os.path.abspath(out)
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise RecordingError(f"cannot write {path}: it is a folder")
    if not os.path.isdir(folder):
        raise RecordingError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise RecordingError(f"cannot write {path}: folder {folder} is not writable")
    return path


def collect(scene: str, episodes: int, seed: int, out: str, *,
            mode_mix: Sequence[float] | None = None, perturbation: dict | None = None,
            options: dict | None = None, noise: float | None = None, workers: int = 1,
            paired: bool = False,
            progress: Callable[[int, int, int], None] | None = None) -> CollectSummary:
    """Collect `episodes` expert demos (seeds seed .. seed+episodes-1) into `out`.

    With `paired`, `episodes` counts placements: each seed is demonstrated once per scene mode
    (in mode order), so the file holds episodes x len(modes) demos. progress(done, total,
    successes) is called after each written episode. Raises SceneError (bad scene / option /
    perturbation / mode mix, --paired with a mode mix or a scene with fewer than 2 modes) or
    RecordingError (unwritable path) before any episode runs."""
    from recordings.writer import RecordingWriter
    from scenes.perturbations import Perturbation
    from scenes.api import SceneError
    from scenes.registry import make_scene

    options = dict(options or {})
    perturbation = Perturbation.from_dict(perturbation).to_dict()
    path = check_output_path(out)
    if episodes < 1:
        raise RecordingError(f"cannot write {path}: --episodes must be >= 1, got {episodes}")
    if paired and mode_mix is not None:
        raise SceneError("--paired demonstrates every placement once per mode; it cannot be "
                         "combined with --mode-mix")
    probe = make_scene(scene, perturb=perturbation, **options)   # validates names up front
    try:
        from scenes import make_expert
        make_expert(probe, mode_mix=mode_mix, noise=noise, seed=seed)   # validates the mix
        modes, obs_spec = tuple(probe.modes), [[k, s] for k, s in probe.obs_spec]
    finally:
        probe.close()
    if paired and len(modes) < 2:
        raise SceneError(f"--paired needs a scene with at least 2 modes; {scene} has "
                         f"{len(modes)}")
    mix = list(np.full(len(modes), 1 / len(modes)) if mode_mix is None else mode_mix)
    placements = list(range(int(seed), int(seed) + int(episodes)))
    # Paired: one one-hot mix per mode, so the expert's draw always returns that mode.
    mixes = [list(np.eye(len(modes))[i]) for i in range(len(modes))] if paired else [mix]
    jobs = [(scene, options, perturbation, s, m, noise) for s in placements for m in mixes]
    seeds = [job[3] for job in jobs]
    env_args = {"env_name": scene, "type": "planscope",
                "env_kwargs": {**options, "perturb": perturbation}, "obs_spec": obs_spec}
    config = {"command": "collect", "scene": scene, "episodes": len(jobs), "seed": int(seed),
              "mode_mix": dict(zip(modes, map(float, mix))), "noise": noise,
              "perturbation": perturbation, "options": options, "policy": "expert",
              "paired": bool(paired), "placements": len(placements)}
    fd, tmp = tempfile.mkstemp(prefix=".collect-", suffix=".h5", dir=os.path.dirname(path))
    os.close(fd)
    counts = {m: 0 for m in modes}
    per_mode = {m: [0, 0] for m in modes}
    successes, steps, t0 = 0, 0, time.perf_counter()
    try:
        with RecordingWriter(tmp, env_args=env_args, config=config, seed_panel=seeds,
                             perturbations=perturbation, kind="demos", durable=False) as writer:
            for i, rollout in enumerate(_run_jobs(jobs, workers)):
                writer.write_rollout(rollout)
                counts[rollout.mode] += 1
                per_mode[rollout.mode][0] += int(rollout.success)
                per_mode[rollout.mode][1] += 1
                successes += int(rollout.success)
                steps += int(rollout.actions.shape[0])
                if progress:
                    progress(i + 1, len(jobs), successes)
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise
    finally:
        _remove_parts(tmp)
    return CollectSummary(path=path, episodes=len(jobs), successes=successes, mode_counts=counts,
                          wall_s=time.perf_counter() - t0, control_steps=steps,
                          per_mode_success={m: (a, b) for m, (a, b) in per_mode.items()})


def _run_jobs(jobs: list[tuple], workers: int):
    """Rollouts in job order; with workers > 1 they are computed in spawned processes."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _episode_job(job)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # spawn: a forked child would share the parent's PyBullet/Qt state.
    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)),
                               mp_context=mp.get_context("spawn"), initializer=_ignore_sigint)
    try:
        yield from pool.map(_episode_job, jobs, chunksize=max(1, len(jobs) // (8 * workers)))
    finally:
        # On Ctrl+C or a write error: drop the episodes not started instead of finishing them all.
        pool.shutdown(wait=True, cancel_futures=True)


def _ignore_sigint() -> None:
    """Workers leave Ctrl+C to the parent, which cleans up and reports once."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _remove_parts(tmp: str) -> None:
    import shutil

    from recordings.writer import parts_dir
    shutil.rmtree(parts_dir(tmp), ignore_errors=True)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def progress_bar(stream=sys.stderr, width: int = 30) -> Callable[[int, int, int], None]:
    """A one-line progress bar on `stream`: done/total, successes, episodes per second."""
    start = time.perf_counter()

    def show(done: int, total: int, successes: int) -> None:
        filled = int(width * done / max(total, 1))
        rate = done / max(time.perf_counter() - start, 1e-9)
        stream.write(f"\rcollect [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                     f"ok {successes}  {rate:.1f} ep/s")
        if done == total:
            stream.write("\n")
        stream.flush()
    return show
