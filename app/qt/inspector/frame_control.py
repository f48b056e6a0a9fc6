"""A recorded frame as the inspector's observation: the InspectorController's part that samples
at a DataFrameSource (app/core/inspector/frame_source.py on the worker thread), loads a policy for
a data set (the scene need not feed it), and goes back to the live scene with the policy and plans
it had. A mixin of InspectorController (it uses the controller's state, worker and warm-up), kept
apart so each file reads on its own.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.inspector.state import LoadedPolicy
from app.qt.shell.workers import JobHandle

if TYPE_CHECKING:       # the attributes this mixin uses, for readers and type checkers
    from app.core.inspector.frame_source import FrameSampler
    from app.core.inspector.state import InspectorState


class FrameSourceControl:
    """Sampling at recorded frames; mixed into InspectorController."""

    state: "InspectorState"
    frames: "FrameSampler"

    def _sample_frame(self) -> None:
        """Sample at state.source (a recorded frame) on the worker, streaming like the live
        scene; the Modes dock reads the plans (and the baseline's, when one is loaded and the
        data set feeds it) against the K nearest frames' chunks."""
        settings, policy, source = self.state.settings, self.state.policy, self.state.source
        baseline = self.state.baseline
        self.state.begin_sampling()

        def job(h: JobHandle):
            return self.frames.sample(policy.planner, source, settings,
                                      on_step=lambda k, total, partial: h.progress((k, total, partial)),
                                      cancel=lambda: h.cancelled,
                                      baseline=baseline.planner if baseline is not None else None)

        def done(outcome) -> None:
            from app.qt.inspector.controller import _timing_message
            if outcome.result is None or self.state.source != source:   # cancelled / left
                k, total = outcome.cancelled_at or self.state.progress
                self.state.end_sampling(f"sampling cancelled at step {k}/{total}; previous plans kept")
                self.state.events.batch.emit(self.state.result)
            else:
                self.state.set_result(outcome.result, observation=outcome.observation,
                                      data=outcome.inspection, camera=outcome.camera)
                self.state.set_result(outcome.baseline, baseline=True)
                self.state.end_sampling(f"{source.describe()}: " + _timing_message(outcome.result)
                                        + (f" · {outcome.note}" if outcome.note else ""))
            self._sampling_finished()         # the controller's one tail (a queued re-sample)

        self._sample_job = self._submit(job, done, "Sampling at a recorded frame failed",
                                        on_progress=self._progress_handler(),
                                        on_error=self._sampling_failed, name="sample-frame")

    def open_frame(self, source, policy_ref: str | None = None) -> None:
        """Make the recorded frame `source` (a DataFrameSource) the observation and sample there;
        policy_ref (a checkpoint a scan names) is loaded first unless it is the policy already
        held (loaded even when the live scene cannot feed it: the data set does). The live
        scene's policy and plans are kept for back_to_scene()."""
        if self.state.source is None:
            self._live = (self.state.policy, self.state.result, self.state.baseline_result,
                          self.state.observation)
        self.state.set_source(source)
        held = self.state.policy
        if policy_ref and (held is None or held.source != policy_ref):
            self._load_frame_policy(policy_ref)
        else:
            self.sample(restart=True)

    def _load_frame_policy(self, ref: str) -> None:
        from app.core.inspector.frame_source import load_for_data
        scene_name = getattr(self.session, "scene_name", None)
        device = self.state.settings.device
        data = self.state.source.data if self.state.source is not None else None

        def job(_h: JobHandle) -> LoadedPolicy:
            policy = load_for_data(ref, scene_name or self.worker_scene().name,
                                   self._obs_spec(scene_name), device, data, self.frames)
            from app.qt.inspector.controller import configure_torch_threads
            configure_torch_threads()
            return policy

        def done(policy: LoadedPolicy) -> None:
            self.state.set_policy(policy)
            self.state.events.message.emit(f"loaded {policy.name} for {self.state.source.describe()}"
                                           if self.state.source else f"loaded {policy.name}")
            self.warm_policy(policy, then=lambda: self.sample(restart=True))
        self._submit(job, done, "Cannot open policy", name="load")

    def back_to_scene(self) -> None:
        """The live scene as the observation again, in one step: the policy and plans it had
        come back as they were (a policy loaded for the data set only, which the scene cannot
        feed, gives way to the live one); a policy changed since is sampled on the scene."""
        if self.state.source is None:
            return
        self.cancel()
        policy, result, base, obs = getattr(self, "_live", (None, None, None, None))
        self._live = (None, None, None, None)
        self.state.set_source(None)
        held = self.state.policy
        if held is not None and not held.scene_fed and policy is not None:
            self.state.set_policy(policy)
            held = policy
        if result is not None and held is policy:
            self.state.set_result(result, observation=obs)
            self.state.set_result(base, baseline=True)
        elif held is not None and held.scene_fed:
            self.state.set_result(None)
            if self.state.sampling:          # the frame's sampling is stopping: then the scene's
                self._resample_pending = True
            else:
                self.sample()
        else:
            self.state.set_result(None)
            self.state.set_observation(None)
            if held is not None:
                self.state.events.message.emit(f"{held.name} cannot be fed by the live scene: "
                                               "open a policy for it (File ▸ Open Policy)")
