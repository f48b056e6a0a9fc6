"""InspectorController: loads policies and samples plans off the GUI thread, fills InspectorState.

It owns a JobRunner (one worker thread) and, on that thread, a private copy of the live scene
(its own PyBullet DIRECT client, never shared with the GUI thread's mirror). Before each sampling
the live scene's exact state is copied into it, so the observation, the mode labels and the
feasibility checks describe exactly what the user sees in the 3-D view.

Errors: a UserFacingError (corrupt checkpoint, policy for another scene, ...) becomes one dialog
through `report_error`; the previous policy and plans stay as they were.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from PySide6 import QtCore

from app.core.analysis import SampleResult, analyse, mode_references
from app.core.clock import default_clock
from app.core.inspector.state import InspectorState, LoadedPolicy
from app.qt.inspector.frame_control import FrameSourceControl
from app.qt.shell.workers import JobHandle, JobRunner, run_now
from recordings.errors import UserFacingError

ErrorReporter = Callable[[str, BaseException], None]
PARTIAL_DRAW_S = 0.25  # streamed partial chains are drawn at most 4 times a second: each frame of
                      # this window costs 20-80 ms under software OpenGL (see bench ui)


@dataclass
class SampleOutcome:
    """What one sampling job returns to the GUI thread."""
    obs: dict
    result: SampleResult | None            # None when cancelled
    baseline: SampleResult | None
    cancelled_at: tuple[int, int] | None = None


def default_scene_factory(session: Any) -> Callable[[], Any]:
    """A factory for the worker's private scene, built like the session's (same assets)."""
    # The session's own factory knows options such as --asset-root; use it when it has one.
    factory = getattr(session, "factory", None)
    name = getattr(session, "scene_name", "mug_grasp")
    if factory is None:
        from app.core.scene_session import default_scene_factory as make
        factory = make
    return lambda: factory(name)


class InspectorController(FrameSourceControl, QtCore.QObject):
    """Glue between InspectorState, the worker thread, the live scene session and dialogs (a
    recorded frame as the observation: FrameSourceControl, app/qt/inspector/frame_control.py)."""

    cudaAvailable = QtCore.Signal(bool)

    def __init__(self, state: InspectorState, session: Any = None, *,
                 scene_factory: Callable[[], Any] | None = None,
                 report_error: ErrorReporter | None = None, synchronous: bool = False,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.session = session
        self.scene_factory = scene_factory or default_scene_factory(session)
        self.runner = JobRunner(self)
        self.synchronous = synchronous     # headless snapshots: run jobs on the calling thread
        self._report = report_error
        self._scene = None                 # the worker's private scene (touched only by jobs)
        self._sample_job: JobHandle | None = None
        self._resample_pending = False
        self.last_error = ""
        self.pose_override: tuple[float, float, float] | None = None   # what-if mug (x, y, yaw)
        from app.core.inspector.frame_source import FrameSampler
        self.frames = FrameSampler()       # recorded frames as the observation (used by jobs)
        self._live: tuple = (None, None, None, None)   # the live scene's policy, plans, baseline, obs
        state.events.settings.connect(self._on_settings)
        state.events.reference.connect(self._on_reference)
        self._device = state.settings.device

    # ---- errors ------------------------------------------------------------------------------
    def report_error(self, title: str, exc: BaseException) -> None:
        self.last_error = str(exc) if isinstance(exc, UserFacingError) else f"{type(exc).__name__}: {exc}"
        self.state.events.message.emit(f"{title}: {self.last_error}")
        if self._report is not None:
            self._report(title, exc)
        else:
            from app.qt.shell.dialogs import show_error
            show_error(None, title, exc)

    def _submit(self, fn: Callable[[JobHandle], Any], on_done: Callable[[Any], None], title: str,
                on_progress: Callable[[Any], None] | None = None,
                on_error: Callable[[BaseException, str], None] | None = None, name: str = "job"):
        def failed(exc: BaseException, text: str) -> None:
            if on_error is not None:
                on_error(exc, text)
            if not isinstance(exc, UserFacingError):
                print(text, file=sys.stderr)
            self.report_error(title, exc)
        if self.synchronous:
            try:
                result = run_now(fn, on_progress=on_progress, name=name)
            except Exception as exc:  # noqa: BLE001 - same path as the threaded runner
                if on_error is not None:
                    on_error(exc, "")
                raise
            on_done(result)
            return None
        return self.runner.submit(fn, on_done=on_done, on_error=failed, on_progress=on_progress, name=name)

    # ---- scene on the worker thread ----------------------------------------------------------
    def worker_scene(self) -> Any:
        """The private scene (call only from jobs: it lives on the worker thread)."""
        if self._scene is None:
            self._scene = self.scene_factory()
        return self._scene

    def _live_state(self) -> np.ndarray | None:
        session = self.session
        if session is None or not getattr(session, "loaded", False):
            return None
        return np.asarray(session.get_state(), dtype=np.float64).copy()

    def _sync_scene(self, live_state: np.ndarray | None, seed: int) -> Any:
        scene = self.worker_scene()
        if live_state is not None:
            scene.set_state(live_state)
        else:
            scene.reset(seed)
        if self.pose_override is not None:
            scene.set_object_pose(*self.pose_override)   # x, y metres; yaw radians
        return scene

    def set_object_pose(self, pose: tuple[float, float, float] | None) -> None:
        """What-if: sample as if the mug stood at (x m, y m, yaw rad); None = as in the scene.
        The live scene's mug is moved too (GUI thread), so the 3-D mirror shows the same."""
        self.pose_override = pose
        session = self.session
        if session is None or not getattr(session, "loaded", False):
            return
        if pose is None:
            session.reset()
        else:
            session.scene.set_object_pose(*pose)

    def scene_name(self) -> str:
        return getattr(self.session, "scene_name", None) or getattr(self.worker_scene(), "name", "")

    # ---- policies ----------------------------------------------------------------------------
    def open_policy(self, source: str, slot: str | None = None, *, data: str | None = None) -> None:
        """Load `source` (checkpoint folder or module:attr) off the GUI thread into `slot`
        ("policy" / "baseline"; None = policy, or baseline for a regression model when a
        diffusion policy is already loaded). data: a data set that is open (the browser's,
        `snapshot --data`): a policy the live scene cannot feed is then loaded for it, checked
        against the DATA SET's features (one line naming both sides when they do not map)."""
        scene_name = getattr(self.session, "scene_name", None)
        device = self.state.settings.device
        frame = self.state.source
        for_frame = frame is not None and slot != "baseline"
        data_path = data or (frame.data if frame is not None else None)

        def job(_h: JobHandle) -> LoadedPolicy:
            from app.core.inspector.frame_source import load_for_data
            if for_frame:     # a recorded frame feeds it; the scene need not (said on going back)
                policy = load_for_data(source, scene_name or self.worker_scene().name,
                                       self._obs_spec(scene_name), device, data_path, self.frames)
                configure_torch_threads()
                return policy
            try:
                policy = load_policy(source, scene_name or self.worker_scene().name,
                                     self._obs_spec(scene_name), device,
                                     options=getattr(self.session, "scene_options", None))
            except UserFacingError:
                if not data_path:
                    raise
                # the open data set may feed what the scene cannot: judged by ITS features
                policy = load_for_data(source, scene_name or self.worker_scene().name,
                                       self._obs_spec(scene_name), device, data_path, self.frames)
                if policy.scene_fed:
                    raise          # the scene's features map; what failed is the scene's to say
                configure_torch_threads()
                return policy
            from planners.modes import preload
            preload()   # scikit-learn's import (about a second) now, not in the first sampling
            return policy

        def done(policy: LoadedPolicy) -> None:
            target = slot or self._auto_slot(policy)
            if target == "policy" and slot is None and self._is_regression(self.state.policy) \
                    and not self._is_regression(policy) and self.state.baseline is None:
                self.state.set_policy(self.state.policy, baseline=True)   # keep it as the baseline
            self.state.set_policy(policy, baseline=(target == "baseline"))
            self.state.events.message.emit(
                f"loaded {policy.name} into the {target} slot" if policy.scene_fed or
                self.state.source is not None else
                f"loaded {policy.name} for {os.path.basename(os.path.normpath(data_path or ''))}: "
                "the live scene cannot feed it; inspect it at a recorded frame "
                "(Data set ▸ Inspect policy at this frame)")
            if "torch" in sys.modules:
                import torch
                self.cudaAvailable.emit(bool(torch.cuda.is_available()))

            def first_sample() -> None:
                if not policy.scene_fed and self.state.source is None:
                    return                           # waits for a recorded frame (said above)
                if self.state.sampling:
                    self._resample_pending = True    # the running sampling lacks this policy
                elif target == "policy" or self.state.result is not None:
                    self.sample()
            self.warm_policy(policy, then=first_sample)

        self._submit(job, done, "Cannot open policy", name="load")

    def warm_policy(self, policy: LoadedPolicy, then: Callable[[], None]) -> None:
        """Kernel calibration for the inspector's N and the reduced-precision fidelity check
        (app/core/inspector/warmup.py) on the worker, before `then` (the first sample): the status
        bar says "Calibrating kernels for this machine…", and the Policy panel's rows (Precision)
        are drawn again when it is done. A planner without the fast path goes straight to `then`."""
        from app.core.inspector.warmup import needs_warmup, warm_policy, warmup_message
        if not needs_warmup(policy.planner):
            then()
            return
        n = int(self.state.settings.num_samples)
        # here, not only from the job: progress coalesces
        self.state.events.message.emit(warmup_message(policy.planner))

        def job(h: JobHandle) -> str:
            clock = default_clock()     # injectable (app/core/clock.py): tests install a ManualClock
            return warm_policy(policy.planner, n, progress=h.progress, clock=clock.now)

        def done(_reason: str) -> None:
            for slot, held in (("policy", self.state.policy), ("baseline", self.state.baseline)):
                if held is policy:       # still shown: redraw its rows with the precision found
                    getattr(self.state.events, slot).emit(policy)
            then()

        self._submit(job, done, "Kernel calibration failed", on_progress=self.state.events.message.emit,
                     name="warm")

    def _obs_spec(self, scene_name: str | None) -> tuple[tuple[str, int], ...]:
        if scene_name:
            try:
                from scenes.registry import scene_class
                return tuple(scene_class(scene_name).obs_spec)
            except (ImportError, UserFacingError):
                pass
        return tuple(self.worker_scene().obs_spec)

    @staticmethod
    def _is_regression(policy: LoadedPolicy | None) -> bool:
        return policy is not None and getattr(policy.spec, "kind", "") == "regression"

    def _auto_slot(self, policy: LoadedPolicy) -> str:
        if self._is_regression(policy) and self.state.policy is not None \
                and not self._is_regression(self.state.policy):
            return "baseline"
        return "policy"

    def clear_slot(self, slot: str) -> None:
        self.state.set_policy(None, baseline=(slot == "baseline"))

    def _on_reference(self, _reference) -> None:
        """Another data set to judge against: sample again (same seed, same plans) so every view
        shows the new reading."""
        if self.state.policy is None:
            return
        if self.state.sampling:
            self._resample_pending = True
        else:
            self.sample()

    def _on_settings(self, settings) -> None:
        if settings.device != self._device:
            self._device = settings.device
            for slot, policy in (("policy", self.state.policy), ("baseline", self.state.baseline)):
                if policy is not None and ":" not in policy.source:
                    self.open_policy(policy.source, slot)

    # ---- sampling ----------------------------------------------------------------------------
    @property
    def sampling(self) -> bool:
        return self.state.sampling

    def sample(self, *, restart: bool = False) -> None:
        """Sample N plans for the live scene's observation. restart=True (live what-if) cancels
        a running sampling and starts again once it has stopped."""
        if self.state.policy is None:
            self.state.events.message.emit("load a policy first (File ▸ Open Policy)")
            return
        if self.state.sampling:
            if restart and self._sample_job is not None:
                self._resample_pending = True
                self._sample_job.cancel()
            return
        if self.state.source is not None:
            self._sample_frame()
            return
        if not self.state.policy.scene_fed:      # loaded for a data set: no live observation
            self.state.events.message.emit(f"{self.state.policy.name} cannot be fed by the live "
                                           "scene: inspect it at a recorded frame of its data set")
            return
        settings = self.state.settings
        policy, baseline = self.state.policy, self.state.baseline
        live_state = self._live_state()
        self.state.begin_sampling()

        reference = self.state.judged_against(policy)
        base_reference = self.state.reference or (baseline.reference or baseline.data_shares or reference
                                                  if baseline is not None else None)

        def job(h: JobHandle) -> SampleOutcome:
            return sample_job(h, self._sync_scene(live_state, getattr(self.session, "seed", 0)),
                              policy, baseline, settings, reference, base_reference)

        progress = self._progress_handler()

        def done(outcome: SampleOutcome) -> None:
            if outcome.result is None:
                self.state.set_observation(outcome.obs)
                k, total = outcome.cancelled_at or self.state.progress
                self.state.end_sampling(f"sampling cancelled at step {k}/{total}; previous plans kept")
                self.state.events.batch.emit(self.state.result)   # redraw what was there before
            else:
                self.state.set_result(outcome.result, observation=outcome.obs)
                if outcome.baseline is not None or baseline is None:
                    self.state.set_result(outcome.baseline, baseline=True)
                self.state.end_sampling(_timing_message(outcome.result))
            self._sampling_finished()

        self._sample_job = self._submit(job, done, "Sampling failed", on_progress=progress,
                                        on_error=self._sampling_failed, name="sample")

    def _sampling_finished(self) -> None:
        """The tail of every sampling (live scene or recorded frame): the sampling a change asked
        for while this one ran (a new policy, reference, what-if pose) starts now."""
        self._sample_job = None
        if self._resample_pending:
            self._resample_pending = False
            self.sample()

    def _sampling_failed(self, _exc: BaseException, _text: str) -> None:
        """A sampling that raised (its dialog is _submit's): idle again, nothing re-queued."""
        self._sample_job = None
        self._resample_pending = False
        self.state.end_sampling()

    def _progress_handler(self) -> Callable[[tuple], None]:
        last_drawn = [0.0]

        def progress(payload: tuple) -> None:
            # the bar moves every step; streamed plans are drawn at most every PARTIAL_DRAW_S
            # (a redraw of N plans in 3-D and 2-D costs tens of ms under software GL)
            k, total, partial = payload
            now = default_clock().now()     # injectable (app/core/clock.py): tests drive it
            draw = now - last_drawn[0] >= PARTIAL_DRAW_S or k >= total
            if draw:
                last_drawn[0] = now
            self.state.set_progress(k, total, partial if draw else None)
        return progress

    def cancel(self) -> None:
        self._resample_pending = False
        if self._sample_job is not None:
            self._sample_job.cancel()

    def submit(self, fn: Callable[[JobHandle, Any], Any], on_done: Callable[[Any], None], title: str,
               on_progress: Callable[[Any], None] | None = None, name: str = "job"):
        """Run fn(job, scene) on the worker thread with the private scene synced to the live one
        (used by the solver sweep)."""
        live_state = self._live_state()
        seed = getattr(self.session, "seed", 0)
        return self._submit(lambda h: fn(h, self._sync_scene(live_state, seed)), on_done, title,
                            on_progress=on_progress, name=name)

    def submit_plain(self, fn: Callable[[JobHandle], Any], on_done: Callable[[Any], None], title: str,
                     on_progress: Callable[[Any], None] | None = None, name: str = "job"):
        """Run fn(job) on the worker thread, no scene (the solver sweep at a recorded frame)."""
        return self._submit(fn, on_done, title, on_progress=on_progress, name=name)

    def shutdown(self) -> None:
        """Stop the worker and close its scene (call when the window closes)."""
        def close(_h: JobHandle) -> None:
            if self._scene is not None:
                self._scene.close()
                self._scene = None
            self.frames.close()          # the data sets recorded frames were read from
        self.runner.cancel_all()
        self.runner.submit(close, name="close")
        self.runner.shutdown()


def load_policy(source: str, scene_name: str, obs_spec: tuple[tuple[str, int], ...],
                device: str = "cpu", options: dict | None = None,
                cameras: tuple[str, ...] | None = None) -> LoadedPolicy:
    """load_planner + the scene's features mapped onto the policy's (app/core/scene_features:
    LeRobot / diffusion_policy names, cameras; refused naming both sides) + its task options (e.g.
    rows=2) -> LoadedPolicy
    with the data it is judged against and its training range. Raises PlannerError (a
    UserFacingError)."""
    from planners import load_planner
    from planners.checkpoint import check_scene_options
    from planners.mode_reference import reference_from_spec, training_range
    from app.core.scene_features import map_scene_features
    from scenes.registry import task_option_defaults

    planner = load_planner(source, device=device)
    if cameras is None:          # every planscope scene renders these (scenes/bullet_scene.py)
        from scenes.bullet_scene import CAMERAS
        cameras = tuple(CAMERAS)
    # both sides named in one line when the scene cannot feed it (planners.protocol.check_compatible
    # for planscope's own; LeRobot / diffusion_policy names mapped onto the scene's keys and cameras)
    feature_map = map_scene_features(planner.spec, scene_name, obs_spec, cameras)
    try:
        defaults = task_option_defaults(scene_name)
    except UserFacingError:      # a scene the registry does not know (a test's fake)
        defaults = {}
    check_scene_options(planner.spec, scene_name, dict(options or {}), defaults)
    configure_torch_threads()
    shares = dict((getattr(planner.spec, "extra", {}) or {}).get("data_mode_shares", {}) or {})
    return LoadedPolicy(planner=planner, source=str(source), spec=planner.spec,
                        data_shares={str(k): float(v) for k, v in shares.items()},
                        reference=reference_from_spec(planner.spec), obs_range=training_range(planner.spec),
                        feature_map=feature_map)


def configure_torch_threads() -> int:
    """The app's torch threads, by planscope's one thread policy (planners/threads.py): the free
    cores less one kept for the GUI thread (1 on a 2-core machine), once torch is loaded; the
    environment variable PLANSCOPE_TORCH_THREADS=N overrides it. Returns the count (0: no torch)."""
    from planners.threads import apply_threads
    return apply_threads(reserve=1, only_if_loaded=True)


def sample_job(h: JobHandle, scene: Any, policy: LoadedPolicy, baseline: LoadedPolicy | None,
               settings, reference: Any = None, base_reference: Any = None) -> SampleOutcome:
    """Worker side of one sampling: observe, plan (streaming steps), analyse, sample the baseline.
    Planners get the dict observation (history first) and are called through run_planner, which
    checks every batch and turns a planner's exception into one PlannerError line."""
    from planners.protocol import run_planner

    obs = {k: np.asarray(v) for k, v in scene.observe().items() if k != "image"}
    last = [0, settings.steps]

    def on_step(k: int, total: int, partial) -> None:
        last[:] = [k, total]
        h.progress((k, total, partial))

    batch = run_planner(policy.planner, policy_observation(policy, obs, scene),
                        settings.num_samples, seed=settings.seed, solver=settings.solver,
                        steps=settings.steps, temperature=settings.temperature,
                        on_step=on_step, cancel=lambda: h.cancelled)
    if batch.cancelled or h.cancelled:
        return SampleOutcome(obs, None, None, cancelled_at=(last[0], last[1]))
    refs = expert_references(scene, obs)
    from app.core.sampling import _flat_for_range
    flat = _flat_for_range(obs, policy.spec, scene)
    result = analyse(batch, scene, reference if reference is not None else policy.data_shares,
                     mode_refs=refs, obs=flat, obs_range=policy.obs_range)
    base = None
    if baseline is not None and not h.cancelled:
        bb = run_planner(baseline.planner, policy_observation(baseline, obs, scene),
                         settings.num_samples, seed=settings.seed, solver=settings.solver,
                         steps=settings.steps, temperature=settings.temperature)
        # judge the baseline against the data's modes (the expert's plans for this observation),
        # else the policy's: does it sit between them (averaging)?
        if refs is None and result.summary is not None and result.summary.names:
            refs = mode_references(batch.plans, result.summary.labels, result.summary.names) or None
        base = analyse(bb, scene, base_reference if base_reference is not None
                       else (baseline.data_shares or policy.data_shares), mode_refs=refs,
                       obs=_flat_for_range(obs, baseline.spec, scene), obs_range=baseline.obs_range)
    return SampleOutcome(obs, result, base)


def policy_observation(policy: LoadedPolicy, obs: dict, scene: Any) -> dict:
    """The policy's observation (history first) from the scene's current frame, under its own
    feature names (policy.feature_map: LeRobot / diffusion_policy names, cameras rendered at the
    policy's size); one frame repeated To times, as the libraries pad at reset."""
    from app.core.scene_features import policy_observation as build   # sample's and eval's builder too
    return build(policy.planner.spec, getattr(policy, "feature_map", None), [obs], scene)


def expert_references(scene: Any, obs: dict) -> dict[str, np.ndarray] | None:
    """{mode: [H, 4]} the scene's scripted expert's plan in each mode for this observation (the
    reference modes of the averaging score), or None when the scene has no expert."""
    modes = tuple(getattr(scene, "modes", ()) or ())
    if not modes:
        return None
    try:
        from scenes import make_expert
        expert = make_expert(scene, seed=0)
        return {m: np.asarray(expert.plan_for(obs, m), dtype=np.float32) for m in modes}
    except Exception:  # noqa: BLE001 - no usable expert (a plugin scene, a fake): the policy's
        return None    # own modes serve as references instead; sampling must not fail for it


def _timing_message(result: SampleResult) -> str:
    b = result.batch
    text = f"{b.num_samples} plans in {b.wall_ms:.0f} ms"
    if b.has_chain:
        text += f" ({b.num_steps} {b.solver} steps, {float(np.mean(b.step_ms)):.1f} ms/step)"
    if result.summary is not None and result.summary.verdict:
        text += f" · verdict: {result.summary.verdict}"
    return text
