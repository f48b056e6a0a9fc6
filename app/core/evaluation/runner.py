"""Closing the loop: one rollout of one planner in one scene, recorded in full.

    obs = scene.reset(seed)
    every Ta control steps:  batch = run_planner(planner, obs_history, N, seed=...)  # [To, ..] each
                             chunk = batch.plans[executed_index, start:start + Ta]  # [Ta, D]
                             (start = spec.action_start, To - 1 for LeRobot and diffusion_policy;
                              Ta = spec.n_action_steps, or the run's action_steps when it says 0)
                             result = scene.step(chunk)                             # per-step traces
    until the scene says done (success, timeout) or max_steps.

The runner talks to the scene and the planner only through their protocols (scenes.api.Scene,
planners.protocol.Planner), so N scenes + M planners cost N + M code. It runs in worker processes
(local or Ray): scenes and planners are built once per process and cached. Everything that makes a
rollout differ is derived from (seed, replan index), never from the process or the order jobs
arrive in, so 1 worker, 2 workers and Ray give identical arrays.
"""
from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from app.core.analysis import check_plans, label_plans
from app.core.evaluation.config import RolloutJob, RolloutSettings
from app.core.evaluation.failure_labels import label_from_trace
from app.core.evaluation.metrics import RolloutTrace, compute_metrics

_SCENES: dict[tuple[str, str], Any] = {}
_PLANNERS: dict[str, Any] = {}
_WARMED: set[str] = set()


def planner_seed(rollout_seed: int, replan_index: int) -> int:
    """The planner's seed at one replan: a hash of (rollout seed, replan index), 31-bit."""
    state = np.random.SeedSequence([int(rollout_seed), int(replan_index), 0x5EED]).generate_state(1)
    return int(state[0] & 0x7FFFFFFF)


def make_scene(name: str, options: dict, perturbation: dict) -> Any:
    """Build (once per process) the scene for a perturbation cell."""
    key = (name, json.dumps({"options": options, "perturbation": perturbation}, sort_keys=True))
    scene = _SCENES.get(key)
    if scene is None:
        import scenes
        scene = scenes.make_scene(name, perturb=dict(perturbation), **options)
        _SCENES[key] = scene
    return scene


def cached_planner(ref: str) -> Any:
    """The planner `ref` names, loaded once per process through planners.load_planner (the one
    loader: checkpoint folders, other libraries' checkpoints, 'module:attr', probe)."""
    planner = _PLANNERS.get(ref)
    if planner is None:
        from planners import load_planner as _load
        planner = _load(ref)
        _PLANNERS[ref] = planner
    limit_threads()
    return planner


def clear_caches() -> None:
    """Close cached scenes and drop planners (tests, and the end of an in-process run)."""
    for scene in _SCENES.values():
        try:
            scene.close()
        except Exception:  # noqa: BLE001 - closing a dead physics client must not mask results
            pass
    _SCENES.clear()
    _PLANNERS.clear()
    _WARMED.clear()


def limit_threads() -> None:
    """One intra-op thread per worker unless `eval --threads K` (planners/threads.py
    worker_threads): parallelism comes from processes, and a fixed thread count keeps float
    reductions (hence rollouts) bit-identical however many workers run. Only touches torch when a
    planner has imported it (a numpy planner's workers never pay for torch)."""
    from planners.threads import apply_worker_threads
    apply_worker_threads()


def control_sampler(spec: Any, settings: RolloutSettings) -> tuple[str, int]:
    """(solver, steps) a rollout samples with: the run's choice, else the planner's control
    sampler (e.g. DDPM over the full schedule), else its interactive default."""
    control = getattr(spec, "control_solver", "") or ""           # plugin specs may lack it
    control_steps = getattr(spec, "control_steps", 0) or spec.default_steps
    solver = settings.solver or control or spec.default_solver
    fallback = control_steps if control and solver == control else spec.default_steps
    return solver, int(settings.steps or fallback)


def sample_plans(planner: Any, frames: list[dict], settings: RolloutSettings, seed: int,
                 scene: Any = None) -> Any:
    """The run's N recorded samples for the observation history `frames` (per-step scene
    observations, oldest first; the planner sees its last To), with its control sampler. With
    `scene`, frames go through app/core/scene_features (the inspector's and `planscope sample`'s
    mapping onto LeRobot / diffusion_policy names, cameras rendered). The batch is checked
    (planners.protocol.run_planner)."""
    from app.core.scene_features import policy_observation, scene_feature_map
    from planners.protocol import run_planner

    solver, steps = control_sampler(planner.spec, settings)
    fmap = scene_feature_map(planner.spec, scene) if scene is not None else None
    obs = policy_observation(planner.spec, fmap, frames, scene)
    return run_planner(planner, obs, settings.record_samples, seed=seed, solver=solver, steps=steps,
                       temperature=settings.temperature)


def run_rollout(job: RolloutJob, settings: RolloutSettings) -> Any:
    """Run one closed-loop rollout and return a recordings.rollout.Rollout (metrics and the
    trace-only failure label filled in; the cross-rollout label is added by the writer side)."""
    from recordings.rollout import ReplanRecord, Rollout

    scene = make_scene(settings.scene, settings.scene_options, job.perturbation)
    planner = cached_planner(job.policy_ref)
    obs = scene.reset(job.seed)
    if job.policy_ref not in _WARMED:
        # The first call in a process pays one-off costs (allocator, kernel selection, lazy
        # imports: seconds for a diffusion policy); keep them out of the recorded latencies.
        sample_plans(planner, [obs], settings, 0, scene)
        _WARMED.add(job.policy_ref)
    obs_rows: list[dict] = []
    actions: list[np.ndarray] = []
    states: list[np.ndarray] = []
    rewards: list[float] = []
    events: list = []
    replans: list[ReplanRecord] = []
    nonfinite = 0
    clearances: list[float] = []
    done = success = False
    from planners.protocol import executed_window
    start, ta = executed_window(planner.spec, settings.action_steps)
    while not done and len(actions) < settings.max_steps:
        step = len(actions)
        t0 = time.perf_counter()
        # every control step's observation, oldest first: the planner takes its last To
        batch = sample_plans(planner, obs_rows[-planner.spec.n_obs_steps:] + [obs], settings,
                              planner_seed(job.seed, len(replans)), scene)
        latency_ms = (time.perf_counter() - t0) * 1e3
        plans = np.asarray(batch.plans, dtype=np.float32)
        chosen = plans[settings.executed_index]
        chunk = chosen[start:start + min(ta, settings.max_steps - step)]
        if not np.all(np.isfinite(chunk)):
            # A non-finite plan cannot be executed; hold the last applied action instead so the
            # rollout still records what the planner produced (labelled, never a crash).
            hold = actions[-1] if actions else np.asarray(obs_hold_action(obs, chunk.shape[1]))
            chunk = np.repeat(hold[None, :], chunk.shape[0], axis=0).astype(np.float32)
        clearances.append(_clearance(scene, chunk))
        replans.append(ReplanRecord.from_plan_batch(
            step, batch, executed_index=settings.executed_index,
            mode_labels=label_plans(scene, plans), feasible=check_plans(scene, plans).feasible,
            executed_chunk=chunk, keep_chain=settings.record_chain, latency_ms=latency_ms,
            keep_step_noise=settings.record_noise))
        nonfinite += batch.nonfinite_count
        result = scene.step(chunk)
        obs_rows.extend(result.obs_trace)
        actions.extend(np.asarray(a, dtype=np.float32) for a in result.action_trace)
        states.extend(np.asarray(s, dtype=np.float64) for s in result.state_trace)
        rewards.extend(float(r) for r in result.reward_trace)
        events.extend(result.events)
        done, success = bool(result.done), bool(result.success) or success
        obs = result.obs
    trace = RolloutTrace(
        actions=np.asarray(actions, np.float32).reshape(len(actions), -1),
        ee_positions=_ee_positions(obs_rows, obs),
        events=events, success=success, replan_steps=[r.step for r in replans],
        executed_chunks=[r.executed_chunk for r in replans],
        executed_labels=[r.mode_labels[settings.executed_index] for r in replans],
        sample_labels=[r.mode_labels for r in replans],
        executed_feasible=[bool(r.feasible[settings.executed_index]) for r in replans],
        latencies_ms=[r.latency_ms for r in replans], nonfinite=nonfinite,
        modes=tuple(scene.modes), control_hz=_control_hz(),
        clearances=[c for c in clearances if np.isfinite(c)])
    metrics = compute_metrics(trace)
    label = label_from_trace(trace, metrics, job.perturbation)
    mode = _achieved_mode(scene, states, trace.actions)
    num_steps = len(actions)
    dones = np.zeros(num_steps, dtype=bool)
    if num_steps:
        dones[-1] = done
    return Rollout(obs=_stack_obs(obs_rows), actions=trace.actions,
                   states=np.asarray(states, np.float64).reshape(num_steps, -1),
                   rewards=np.asarray(rewards, np.float32), dones=dones, events=events,
                   replans=replans, metrics=metrics, seed=job.seed, policy=job.policy,
                   perturbation=dict(job.perturbation), success=success, failure_label=label,
                   mode=mode, attrs={"perturbation_name": job.perturbation_name,
                                     "policy_ref": job.policy_ref, "job_index": job.index})


def _clearance(scene: Any, chunk: np.ndarray) -> float:
    """Smallest clearance (m) of the chunk about to run, when the scene can measure it."""
    fn = getattr(scene, "clearance", None)
    return float(fn(chunk)) if callable(fn) else float("nan")


def _achieved_mode(scene: Any, states: list[np.ndarray], actions: np.ndarray) -> str:
    """Mode of the whole executed path, labelled against the scene at reset (restored from the
    first recorded state: the object may have been lifted or knocked away since)."""
    if not len(states):
        return ""
    scene.set_state(states[0])
    return scene.label_mode(actions)


def obs_hold_action(obs: dict, dim: int) -> np.ndarray:
    """Action that holds the current end-effector position (used only for non-finite plans)."""
    pos = _ee_from_obs(obs)
    out = np.ones(dim, dtype=np.float32)
    if pos is not None:
        out[:3] = pos
    return out


def _ee_from_obs(obs: dict) -> np.ndarray | None:
    from scenes.api import end_effector_position
    return end_effector_position(obs)


def _ee_positions(obs_rows: list[dict], final_obs: dict) -> np.ndarray | None:
    """[T+1, 3] end-effector positions (metres) before each step and after the last one, or None
    when the scene's observation carries no end-effector field."""
    rows = [_ee_from_obs(o) for o in [*obs_rows, final_obs]]
    if any(r is None for r in rows):
        return None
    return np.asarray(rows, dtype=np.float64)


def _stack_obs(rows: list[dict]) -> dict[str, np.ndarray]:
    """List of per-step observation dicts -> dict of [T, ...] arrays (the camera image is never
    recorded here: closed-loop rollouts keep the low-dim fields)."""
    if not rows:
        return {}
    return {key: np.stack([np.asarray(r[key]) for r in rows]) for key in rows[0] if key != "image"}


def _control_hz() -> float:
    from scenes.api import CONTROL_HZ
    return float(CONTROL_HZ)
