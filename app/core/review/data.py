"""What the review views draw, as plain numpy: one rollout's cached small arrays and its replans.

Qt-free. Built from a `recordings.reader.RecordingReader` rollout by `load_rollout_data`, or
constructed directly in tests (every view takes a `RolloutData`, never a reader).

Shapes (T control steps at 10 Hz, D = 4 action size, N samples, H plan horizon):
    actions   [T, D] float32   end-effector target x, y, z (world metres) + gripper (1 = open)
    obs       {key: [T, k]}    low-dim observation fields only (images are never cached)
    rewards   [T] float32
    ee_path   [T, 3] float64   end-effector position per step (obs "ee_pos" when recorded,
                               else the commanded action xyz)
The simulator state of one step ([S] float64) is read on demand through `state_at(step)` (reader
slicing), because that is the only per-step array the 3-D replay needs and the whole [T, S]
matrix is the largest trace a rollout has.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from recordings.errors import RecordingError
from recordings.events import Event
from recordings.rollout import ReplanRecord
from scenes.api import END_EFFECTOR_KEYS


@dataclass
class RolloutData:
    """One rollout's small arrays, cached while it is the current rollout."""
    rollout_id: int
    num_steps: int
    actions: np.ndarray
    obs: dict[str, np.ndarray]
    rewards: np.ndarray
    events: list[Event]
    replan_steps: np.ndarray
    seed: int = 0
    policy: str = ""
    success: bool = False
    failure_label: str = ""
    mode: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    state_reader: Callable[[int], np.ndarray] | None = None
    # {"pending_actions": k, "action_dim": D}: what the state rows hold past the scene's own
    # part (a delay perturbation's pending actions); None when the file does not say
    state_layout: dict | None = None
    perturbation: dict = field(default_factory=dict)
    replan_reader: Callable[[int], ReplanRecord] | None = None
    _replan_cache: "OrderedDict[int, ReplanRecord]" = field(default_factory=OrderedDict, repr=False)

    @property
    def ee_path(self) -> np.ndarray:
        """[T, 3] end-effector position per step, metres."""
        for key in END_EFFECTOR_KEYS:
            value = self.obs.get(key)
            if value is not None and value.ndim == 2 and value.shape[1] >= 3:
                return np.asarray(value[:, :3], dtype=np.float64)
        return np.asarray(self.actions[:, :3], dtype=np.float64)

    @property
    def has_states(self) -> bool:
        return self.state_reader is not None

    @property
    def has_replans(self) -> bool:
        return self.replan_reader is not None and len(self.replan_steps) > 0

    def state_at(self, step: int) -> np.ndarray | None:
        """[S] float64 simulator state before control step `step` (one HDF5 slice), or None."""
        if self.state_reader is None or self.num_steps == 0:
            return None
        return self.state_reader(int(np.clip(step, 0, self.num_steps - 1)))

    def replan_index_at(self, step: int) -> int:
        """Index of the replan whose chunk is executing at `step` (the last one at or before it);
        -1 before the first replan or when the rollout has none."""
        if len(self.replan_steps) == 0:
            return -1
        return int(np.searchsorted(self.replan_steps, step, side="right")) - 1

    def replan(self, index: int) -> ReplanRecord | None:
        """The index-th replan, read lazily; the last 8 are kept (scrubbing revisits them)."""
        if self.replan_reader is None or not 0 <= index < len(self.replan_steps):
            return None
        if index in self._replan_cache:
            self._replan_cache.move_to_end(index)
            return self._replan_cache[index]
        view = self.replan_reader(index)
        self._replan_cache[index] = view
        while len(self._replan_cache) > 8:
            self._replan_cache.popitem(last=False)
        return view

    def event_steps(self, kinds: Sequence[str] | None = None) -> np.ndarray:
        """Sorted unique steps of events of the given kinds (all kinds when None)."""
        steps = [e.step for e in self.events if kinds is None or e.kind in kinds]
        return np.unique(np.asarray(steps, dtype=np.int64))

    @property
    def failure_step(self) -> int:
        """The step a failed rollout went wrong: the first event the scene flagged as a
        violation (detail "violation", e.g. the arm hitting the mug), else the first joint-limit
        or timeout event, else the first contact, else the last step; -1 for a success."""
        if self.success:
            return -1
        for wanted in (lambda e: bool(e.detail.get("violation")),
                       lambda e: e.kind in ("joint_limit", "timeout"),
                       lambda e: e.kind == "contact"):
            for event in self.events:
                if wanted(event):
                    return int(event.step)
        return max(self.num_steps - 1, 0)


def _as_replan_record(record: Any) -> ReplanRecord:
    """The reader's lazy replan view (recordings/rollout_view.py) read into a ReplanRecord, the
    one replan type (without the chain: the review shows the samples and what was executed)."""
    samples = np.asarray(record.samples, dtype=np.float32)
    n = samples.shape[0]
    labels = [str(x) for x in getattr(record, "mode_labels", None) or [""] * n]
    feasible = getattr(record, "feasible", None)
    feasible = np.ones(n, bool) if feasible is None else np.asarray(feasible, bool)
    index = int(record.executed_index)
    chunk = getattr(record, "executed_chunk", None)
    return ReplanRecord(step=int(record.step), samples=samples, executed_index=index,
                        mode_labels=labels, feasible=feasible,
                        executed_chunk=samples[index] if chunk is None else chunk,
                        latency_ms=float(getattr(record, "latency_ms", 0.0) or 0.0))


def _rows(values: np.ndarray, t: int) -> np.ndarray:
    """values as [t, k]; a zero-step rollout (failed to run) keeps its width or gets [0, 0]."""
    if t == 0:
        width = int(values.shape[-1]) if values.ndim >= 2 else 0
        return values.reshape(0, width)
    return values.reshape(t, -1)


def load_rollout_data(rollout: Any, row: dict[str, Any], obs_keys: Sequence[str]) -> RolloutData:
    """Read the small arrays of one reader rollout (actions, low-dim obs, rewards, events, replan
    steps). States and replans stay on disk and are read per step / per replan on demand.

    rollout: a `recordings.rollout` reader object (num_steps, actions(sl), obs(key, sl),
    states(sl), events, replans); row: its summary-table row; obs_keys: low-dim keys to cache."""
    t = int(rollout.num_steps)
    actions = _rows(np.asarray(rollout.actions(slice(None)), dtype=np.float32), t)
    obs: dict[str, np.ndarray] = {}
    for key in obs_keys:
        try:
            first = np.asarray(rollout.obs(key, 0))  # one step: skip images without reading them
            if first.ndim > 1 or first.dtype == np.uint8 or t == 0:
                continue
            obs[key] = _rows(np.asarray(rollout.obs(key, slice(None))), t).astype(np.float64)
        except (KeyError, ValueError, IndexError, RecordingError):
            continue
    try:
        rewards = np.asarray(rollout.rewards(slice(None)), dtype=np.float32)
    except (AttributeError, KeyError, TypeError, RecordingError):
        rewards = np.zeros(t, np.float32)
    events = list(getattr(rollout, "events", []) or [])
    replans = getattr(rollout, "replans", None)
    replan_steps = np.zeros(0, np.int64)
    replan_reader = None
    if replans is not None and len(replans) > 0:
        steps_attr = getattr(replans, "steps", None)
        replan_steps = np.asarray(steps_attr if steps_attr is not None
                                  else [r.step for r in replans], dtype=np.int64)

        def replan_reader(i: int, _replans=replans) -> ReplanRecord:
            return _as_replan_record(_replans[i])

    state_reader = None
    if getattr(rollout, "has_states", True):
        def state_reader(step: int, _rollout=rollout) -> np.ndarray:
            return np.asarray(_rollout.states(slice(step, step + 1)), dtype=np.float64)[0]

    metrics = {k: float(v) for k, v in (getattr(rollout, "metrics", None) or {}).items()
               if np.isscalar(v)}
    try:
        layout = getattr(rollout, "state_layout", None)
        perturbation = dict(getattr(rollout, "perturbation", None) or {})
    except (RecordingError, ValueError, TypeError):
        layout, perturbation = None, {}
    return RolloutData(
        rollout_id=int(row.get("id", 0)), num_steps=t, actions=actions, obs=obs, rewards=rewards,
        events=sorted(events, key=lambda e: e.step), replan_steps=replan_steps,
        seed=int(row.get("seed", 0) or 0), policy=str(row.get("policy", "")),
        success=bool(row.get("success", False)),
        failure_label=str(row.get("failure_label", "")), mode=str(row.get("mode", "")),
        metrics=metrics, state_reader=state_reader, replan_reader=replan_reader,
        state_layout=layout if isinstance(layout, dict) else None, perturbation=perturbation)
