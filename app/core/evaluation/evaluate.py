"""Run an evaluation end to end: validate, run every job on a backend, write one artifact.

    result = run_evaluation(config, "eval.h5", backend="local", workers=2)

The artifact (recordings.writer, kind "eval") holds the full config, the seed panel, the
perturbation grid, the code version (written by the writer) and one rollout per job. Rollouts are
written in job order whatever order workers finish in (a small reorder buffer), so 1 worker,
N workers and Ray produce the same file. Ctrl+C: workers stop, every finished rollout is written,
the file says partial=True, and `resume=True` later runs only what is missing.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from app.core.evaluation.backend_local import InProcessBackend, JobOutcome, ProcessBackend
from app.core.evaluation.config import EvalConfig, EvalConfigError, RolloutJob
from app.core.evaluation.failure_labels import FAILED_TO_RUN, refine_with_nominal

Progress = Callable[[int, int, JobOutcome], None]     # (done, total, outcome)
BACKENDS = ("local", "ray")


@dataclass
class EvalResult:
    path: str
    total: int                  # jobs in the full grid
    skipped: int = 0            # already in the file (resume)
    written: int = 0            # rollouts written by this run (failed-to-run included)
    failed: int = 0             # written as failed-to-run
    partial: bool = False
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def check_output_path(path: str, resume: bool) -> str:
    """Absolute output path; EvalConfigError when it cannot be written or would be clobbered."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise EvalConfigError(f"--out {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise EvalConfigError(f"--out {path}: folder {folder} is not writable")
    if os.path.isdir(path):
        raise EvalConfigError(f"--out {path}: is a folder, expected a .h5 file path")
    if os.path.exists(path) and not resume:
        raise EvalConfigError(f"--out {path}: file exists; pass --resume to finish it or choose "
                              f"another path")
    if resume and os.path.exists(path) and not os.access(path, os.W_OK):
        raise EvalConfigError(f"--out {path}: file is not writable")
    return path


def validate(config: EvalConfig) -> dict[str, Any]:
    """Build the scene and load every policy once here, so a wrong name or a policy for another
    scene fails in one line before any worker starts. Returns facts recorded in the artifact."""
    from app.core.evaluation.runner import cached_planner, make_scene
    from app.core.scene_features import scene_feature_map
    from planners.checkpoint import check_scene_options
    from scenes.registry import task_option_defaults
    from scenes.perturbations import Perturbation

    for cell in config.perturbations:
        Perturbation.from_dict(cell)          # SceneError with the valid keys on bad values
    from app.core.evaluation.runner import control_sampler, sample_plans

    scene = make_scene(config.settings.scene, config.settings.scene_options, {})
    obs = scene.reset(config.seeds[0])
    policies = []
    for ref, label in zip(config.policies, config.policy_labels):
        planner = cached_planner(ref)
        scene_feature_map(planner.spec, scene)   # the one mapping (app/core/scene_features) or one line
        check_scene_options(planner.spec, scene.name, dict(config.settings.scene_options),
                            task_option_defaults(scene.name))
        # one real call with the run's solver, steps and N: a bad --solver or --steps fails here
        # in one line instead of in every worker
        sample_plans(planner, [obs], config.settings, 0, scene)
        spec = planner.spec
        policies.append({"label": label, "ref": ref, "name": spec.name, "kind": spec.kind,
                         "scene": spec.scene, "default_solver": spec.default_solver,
                         "default_steps": spec.default_steps,
                         "rollout_sampler": list(control_sampler(spec, config.settings)),
                         "extra": _jsonable(spec.extra)})
    facts = {"scene_modes": list(scene.modes), "obs_spec": [list(k) for k in scene.obs_spec],
             "policies": policies}
    if config.data_reference:     # --data / --data-shares: what the mode shares are judged against
        facts["data_reference"] = dict(config.data_reference)
    return facts


def _jsonable(value: Any) -> Any:
    import json
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return {k: str(v) for k, v in dict(value).items()} if isinstance(value, dict) else str(value)


def make_backend(name: str, config: EvalConfig, workers: int | None, ray_address: str | None,
                 on_dispatch=None):
    if name not in BACKENDS:
        raise EvalConfigError(f"--backend {name!r}: valid: {', '.join(BACKENDS)}")
    if name == "ray":
        from app.core.evaluation.backend_ray import RayBackend, import_ray
        import_ray()
        return RayBackend(config.settings, address=ray_address, num_cpus=workers or None)
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    if workers < 0:
        raise EvalConfigError(f"--workers {workers}: must be >= 0 (0 = in this process)")
    if workers == 0:
        return InProcessBackend(config.settings)
    return ProcessBackend(config.settings, workers, on_dispatch=on_dispatch)


def _existing(path: str, config: EvalConfig) -> tuple[set, dict]:
    """Keys already in a file being resumed, and nominal outcomes per (policy, seed)."""
    from recordings.reader import RecordingReader
    reader = RecordingReader(path)
    try:
        stored = (reader.config or {}).get("eval", {})
        mine = config.to_json()
        for key in ("policies", "seeds", "perturbation_names", "settings"):
            if stored.get(key) != mine[key]:
                raise EvalConfigError(f"--resume {path}: the file was made with different {key} "
                                      f"({stored.get(key)!r}); rerun with the same arguments or "
                                      f"another --out")
        cols = reader.summary
    finally:
        reader.close()
    keys, nominal = set(), {}
    for policy, seed, pert, success in zip(cols["policy"], cols["seed"], cols["perturbation"],
                                           cols["success"]):
        keys.add((str(policy), int(seed), str(pert)))
        if not str(pert):
            nominal[(str(policy), int(seed))] = bool(success)
    return keys, nominal


def _failed_rollout(outcome: JobOutcome, settings) -> Any:
    """A zero-step rollout standing for a job that could not be run (kept so the artifact says
    so; its error is in attrs["error"])."""
    import numpy as np

    from recordings.rollout import Rollout
    job = outcome.job
    return Rollout(obs={}, actions=np.zeros((0, 4), np.float32), states=np.zeros((0, 0)),
                   rewards=np.zeros(0, np.float32), dones=np.zeros(0, bool), seed=job.seed,
                   policy=job.policy, perturbation=dict(job.perturbation), success=False,
                   failure_label=FAILED_TO_RUN,
                   metrics={"success": 0.0, "failed_to_run": 1.0},
                   attrs={"perturbation_name": job.perturbation_name, "policy_ref": job.policy_ref,
                          "job_index": job.index, "error": outcome.error,
                          "attempts": outcome.attempts, "status": FAILED_TO_RUN})


def run_evaluation(config: EvalConfig, out: str, *, backend: str = "local",
                   workers: int | None = None, ray_address: str | None = None,
                   resume: bool = False, progress: Progress | None = None,
                   on_dispatch=None, durable: bool = True,
                   on_start: Callable[["EvalResult"], None] | None = None) -> EvalResult:
    """Run the grid and write the artifact at `out` (see module docstring)."""
    from recordings.rollout import perturbation_key
    from recordings.writer import RecordingWriter

    path = check_output_path(out, resume)
    runner_backend = make_backend(backend, config, workers, ray_address, on_dispatch)
    facts = validate(config)
    jobs = config.jobs()
    done_keys, nominal = (_existing(path, config) if resume and os.path.exists(path)
                          else (set(), {}))

    def key(job: RolloutJob) -> tuple[str, int, str]:
        return (job.policy, job.seed, perturbation_key(job.perturbation))

    todo = [job for job in jobs if key(job) not in done_keys]
    runner_backend.start()       # e.g. join the Ray cluster: a bad address fails before any write
    result = EvalResult(path=path, total=len(jobs), skipped=len(jobs) - len(todo))
    if on_start is not None:     # everything is validated: the run starts now
        on_start(result)
    env_args = {"env_name": config.settings.scene, "type": "planscope",
                "env_kwargs": dict(config.settings.scene_options), "obs_spec": facts["obs_spec"]}
    header = {"eval": config.to_json(), "facts": facts, "backend": backend,
              "total_jobs": len(jobs)}
    start = time.perf_counter()
    position = {job.index: i for i, job in enumerate(todo)}
    buffer: dict[int, JobOutcome] = {}
    next_pos = 0

    def write(writer: RecordingWriter, outcome: JobOutcome) -> None:
        job = outcome.job
        if outcome.ok:
            rollout = outcome.rollout
            if job.perturbation:
                rollout.failure_label = refine_with_nominal(
                    rollout.failure_label, rollout.success, job.perturbation,
                    nominal.get((job.policy, job.seed)))
            else:
                nominal[(job.policy, job.seed)] = rollout.success
        else:
            rollout = _failed_rollout(outcome, config.settings)
            result.failed += 1
            result.failures.append(f"{job.policy} seed {job.seed} {job.perturbation_name}: "
                                   f"{outcome.error}")
        writer.write_rollout(rollout)
        result.written += 1
        if progress is not None:
            progress(result.skipped + result.written, result.total, outcome)

    with RecordingWriter(path, env_args=env_args, config=header, seed_panel=config.seeds,
                         perturbations={"grid": config.perturbations,
                                        "names": config.perturbation_names},
                         kind="eval", mode="a" if resume else "w", durable=durable) as writer, \
            _InterruptAfterWrites() as guard:
        try:
            with contextlib.closing(runner_backend.run(todo)) as outcomes:
                for outcome in outcomes:
                    buffer[position[outcome.job.index]] = outcome
                    while next_pos in buffer:
                        with guard.deferred():
                            write(writer, buffer[next_pos])
                            del buffer[next_pos]
                        next_pos += 1
        except KeyboardInterrupt:
            # Save every finished rollout (out of order is fine now), then let the writer close
            # the file as partial by re-raising inside its context.
            with guard.deferred(reraise=False):
                for pos in sorted(buffer):
                    write(writer, buffer.pop(pos))
            result.partial = True
            result.seconds = time.perf_counter() - start
            raise
    result.seconds = time.perf_counter() - start
    result.partial = result.skipped + result.written < result.total
    return result


class _InterruptAfterWrites:
    """Ctrl+C never lands inside a rollout write: during `deferred()` a SIGINT is remembered and
    raised as KeyboardInterrupt when the write is done; elsewhere it interrupts at once. Only
    installed in the main thread (Python delivers signals there)."""

    def __init__(self) -> None:
        self._writing = False
        self._pending = False
        self._previous: Any = None

    def __enter__(self) -> "_InterruptAfterWrites":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: Any) -> None:
        if self._writing:
            self._pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self, reraise: bool = True):
        self._writing = True
        try:
            yield
        finally:
            self._writing = False
        if self._pending and reraise:
            self._pending = False
            raise KeyboardInterrupt


def print_progress(done: int, total: int, outcome: JobOutcome) -> None:
    """One line per rollout on stderr (a terminal overwrites it in place)."""
    job = outcome.job
    if outcome.ok:
        status = "success" if outcome.rollout.success else \
            f"fail ({outcome.rollout.failure_label or 'unlabelled'})"
    else:
        status = f"FAILED TO RUN: {outcome.error}"
    line = f"[{done:>{len(str(total))}}/{total}] {job.policy} seed {job.seed} " \
           f"{job.perturbation_name}: {status}"
    end = "\r" if sys.stderr.isatty() and outcome.ok and done < total else "\n"
    print(f"{line:<100}", end=end, file=sys.stderr, flush=True)
