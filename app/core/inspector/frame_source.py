"""The inspector sampling at a recorded frame: one DataFrameSource (data set, episode, frame) in,
the same SampleResult the live scene gives out, so the chain docks, the plan overlay, the
selected-plan readout and the Modes dock work on it unchanged.

    sampler = FrameSampler()                       # one per inspector: caches the open data sets
    outcome = sampler.sample(planner, source, settings, on_step=cb, cancel=check)
    outcome.inspection    app.core.inspector.dataset_source.DatasetInspection (demo, neighbours)
    outcome.result        SampleResult: summary over the LOCAL DATA MODES (the K nearest frames'
                          chunks), per-step labels and commit steps, chain statistics
    outcome.camera        (feature, [H, W, 3] uint8) the data's camera at the frame, or None

The reading itself is DatasetSource.inspect's (the one dataset-conditioned path, shared with
`planscope sample --data`); this module only streams its sampling (on_step, cancel) and turns
the reading into the inspector's ModeSummary. Qt-free; runs on the inspector's worker thread.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from app.core.analysis import (ChainStats, ModeSummary, SampleResult, chain_stats, commit_steps,
                               label_indices, normalized_entropy)
from app.core.inspector.state import DataFrameSource


class StreamingPlanner:
    """A planner with this sampling's on_step / cancel attached: DatasetSource.inspect calls
    run_planner(planner, obs, N, seed=, solver=, steps=, temperature=) without them. One
    wrapper per DatasetSource; the worker thread runs one sampling at a time, so the hooks set
    for a call are that call's."""

    def __init__(self, planner: Any) -> None:
        self.inner = planner
        self.on_step: Callable[..., None] | None = None
        self.cancel: Callable[[], bool] | None = None

        # the inner plan()'s signature shows through (functools.wraps): run_planner asks it
        # which keywords (initial_noise, step_noise) the planner takes
        @functools.wraps(planner.plan)
        def plan(obs: Any, num_samples: int, **kwargs: Any) -> Any:
            if self.on_step is not None:
                kwargs.setdefault("on_step", self.on_step)
            if self.cancel is not None:
                kwargs.setdefault("cancel", self.cancel)
            return planner.plan(obs, num_samples, **kwargs)
        self.plan = plan

    @property
    def spec(self) -> Any:
        return self.inner.spec

    def __getattr__(self, name: str) -> Any:     # device, acceleration meta, ...
        return getattr(self.inner, name)


@dataclass
class FrameOutcome:
    """One sampling at a recorded frame. result None: cancelled (at step cancelled_at)."""
    inspection: Any
    result: SampleResult | None
    observation: dict[str, np.ndarray]
    camera: tuple[str, np.ndarray] | None = None
    cancelled_at: tuple[int, int] | None = None
    baseline: SampleResult | None = None     # the baseline's plans read against the same frames
    note: str = ""                           # why there is no baseline reading (one line)


class FrameSampler:
    """Opens each data set once (its own handle: the review browser's stays on the GUI thread)
    and keeps one DatasetSource per (data set, policy), so the neighbour index is built once."""

    def __init__(self) -> None:
        self._datasets: dict[str, Any] = {}
        self._sources: dict[tuple[str, int], Any] = {}

    def dataset(self, path: str) -> Any:
        key = os.path.abspath(path)
        if key not in self._datasets:
            from recordings.dataset import open_dataset
            self._datasets[key] = open_dataset(path)
        return self._datasets[key]

    def source(self, path: str, planner: Any) -> Any:
        """The DatasetSource for (data set, planner): checks the feature mapping (one line
        naming both sides when they do not map) on first use."""
        from app.core.inspector.dataset_source import DatasetSource
        key = (os.path.abspath(path), id(planner))
        if key not in self._sources:
            if len(self._sources) >= 4:       # a policy and a baseline, per data set or two
                self._sources.pop(next(iter(self._sources)))
            self._sources[key] = DatasetSource(self.dataset(path), StreamingPlanner(planner))
        return self._sources[key]

    def close(self) -> None:
        """Close every data set opened here (the inspector's worker, when the window closes)."""
        for ds in self._datasets.values():
            close = getattr(ds, "close", None)
            if close is not None:
                close()
        self._datasets.clear()
        self._sources.clear()

    def sample(self, planner: Any, source: DataFrameSource, settings: Any, *,
               on_step: Callable[[int, int, Any], None] | None = None,
               cancel: Callable[[], bool] | None = None,
               baseline: Any = None) -> FrameOutcome:
        """Sample settings.num_samples plans at the frame (solver, steps, seed, temperature of
        the sampling panel) and read them against the demo and the K nearest frames; then the
        baseline planner's (when given) against the same local data modes, so the Modes dock
        shows whether it averages them. A baseline the data set cannot feed is left out with
        a one-line note."""
        data = self.source(source.data, planner)
        data.check_frame(source.episode, source.frame)
        last = [0, int(settings.steps)]

        def step(k: int, total: int, partial: Any) -> None:
            last[:] = [k, total]
            if on_step is not None:
                on_step(k, total, partial)
        data.planner.on_step, data.planner.cancel = step, cancel
        try:
            inspection = data.inspect(source.episode, source.frame, int(settings.num_samples),
                                      seed=int(settings.seed), solver=settings.solver,
                                      steps=int(settings.steps),
                                      temperature=float(settings.temperature))
        finally:
            data.planner.on_step = data.planner.cancel = None
        obs = last_frame(inspection.obs)
        if getattr(inspection.batch, "cancelled", False) or (cancel is not None and cancel()):
            return FrameOutcome(inspection, None, obs, cancelled_at=(last[0], last[1]))
        outcome = FrameOutcome(inspection, inspection_result(inspection), obs,
                               camera_frame(data.ds, source.episode, source.frame))
        if baseline is not None and not (cancel is not None and cancel()):
            from recordings.errors import UserFacingError
            try:
                other = self.source(source.data, baseline).inspect(
                    source.episode, source.frame, int(settings.num_samples),
                    seed=int(settings.seed), solver=settings.solver, steps=int(settings.steps),
                    temperature=float(settings.temperature))
                outcome.baseline = inspection_result(other)
            except UserFacingError as exc:
                outcome.note = f"baseline not sampled at this frame: {exc}"
        return outcome


def load_data_policy(ref: str, scene_name: str, obs_spec: Any, device: str = "cpu") -> Any:
    """A policy to sample at recorded frames: planners.load_planner, with the live scene's
    feature mapping when the scene can feed it too (scene_fed), else none (a data set's policy
    needs no scene: a joint-space LeRobot policy, one trained for another task). -> LoadedPolicy"""
    from app.core.inspector.state import LoadedPolicy
    from app.core.scene_features import map_scene_features
    from planners import load_planner
    from planners.mode_reference import reference_from_spec, training_range
    from recordings.errors import UserFacingError
    from scenes.bullet_scene import CAMERAS

    planner = load_planner(ref, device=device)
    try:
        fmap, fed = map_scene_features(planner.spec, scene_name, tuple(obs_spec), tuple(CAMERAS)), True
    except UserFacingError:
        fmap, fed = None, False
    shares = dict((getattr(planner.spec, "extra", {}) or {}).get("data_mode_shares", {}) or {})
    return LoadedPolicy(planner=planner, source=str(ref), spec=planner.spec,
                        data_shares={str(k): float(v) for k, v in shares.items()},
                        reference=reference_from_spec(planner.spec),
                        obs_range=training_range(planner.spec), feature_map=fmap, scene_fed=fed)


def load_for_data(ref: str, scene_name: str, obs_spec: Any, device: str = "cpu",
                  data: str | None = None, sampler: FrameSampler | None = None) -> Any:
    """load_data_policy, then checked against the data set `data` (when given): a policy the
    live scene cannot feed must map onto the DATA SET's features, else one line naming the
    policy's feature and what the data set has (DatasetSource's check). A policy the scene feeds
    is kept even when this data set cannot feed it (its frames then say so). -> LoadedPolicy"""
    from recordings.errors import UserFacingError
    policy = load_data_policy(ref, scene_name, obs_spec, device)
    if data:
        try:
            (sampler or FrameSampler()).source(data, policy.planner)   # cached for sampling
        except UserFacingError:
            if not policy.scene_fed:
                raise
    return policy


def last_frame(obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The newest frame of an observation history {feature: [To, *shape]} -> {feature: shape}
    for the state features (what the views mark: the end effector); images left out."""
    out = {}
    for key, value in obs.items():
        arr = np.asarray(value)
        if arr.dtype == np.uint8 or arr.ndim > 2:
            continue
        out[key] = arr[-1] if arr.ndim == 2 else arr
    return out


def camera_frame(ds: Any, episode: int, frame: int) -> tuple[str, np.ndarray] | None:
    """The data set's first camera at (episode, frame): (feature, [H, W, 3] uint8), or None
    when it has none or the frame cannot be decoded (the banner then says so by omission)."""
    from recordings.errors import UserFacingError
    keys = ds.keys_of_kind("image")
    if not keys:
        return None
    try:
        image = np.asarray(ds.frame(episode, frame, [keys[0]])[keys[0]])
    except (UserFacingError, OSError, ValueError):
        return None
    return (keys[0], image) if image.ndim == 3 and image.shape[-1] == 3 else None


def mode_names(inspection: Any) -> list[str]:
    """The local data modes as the Modes dock names them: "m0 · left" when the neighbours'
    episodes carry one label (planscope exports do), else "m0"."""
    return [f"{m} · {lab}" if lab and "," not in lab else m
            for m, lab in ((m, inspection.data_labels.get(m, "")) for m in inspection.data_shares)]


def inspection_result(inspection: Any) -> SampleResult:
    """The inspector's SampleResult for a DatasetInspection: modes = the local data modes (the
    K nearest frames' chunks clustered), each plan's and each x0-estimate's local mode (commit
    steps, per-step mode counts), shares with 95 % Wilson intervals, the reading's verdict (as
    planners.frame_metrics.verdict_label words it: "multimodal · 36 % off the data's modes") and
    reason (which names the K nearest frames it compared against). No feasibility: no scene."""
    from planners.frame_metrics import label_samples
    from planners.mode_verdicts import wilson

    batch = inspection.batch
    # "no-reading" (too few neighbours, or none near the demonstration): their clusters are not
    # modes to judge plans by, so none are drawn (the badge's reason says why)
    no_reading = inspection.metrics.verdict == "no-reading"
    local_names = [] if no_reading else list(inspection.data_shares)
    names = [] if no_reading else mode_names(inspection)
    labels = label_indices(inspection.labels, local_names)
    plans = np.asarray(batch.plans)
    finite = np.isfinite(plans.reshape(len(plans), -1)).all(axis=1)
    valid = int(finite.sum())
    shares = np.array([float(inspection.shares[m]) for m in local_names])
    counts = [int(((labels == i) & finite).sum()) for i in range(len(local_names))]
    bounds = [wilson(c, valid) if valid else (0.0, 0.0) for c in counts]
    step_labels = commit = None
    if batch.has_chain and local_names:
        scale = inspection.action_scale if inspection.action_scale is not None \
            else np.ones(plans.shape[2])
        step_labels = np.stack([label_indices(label_samples(x0, inspection.local, scale),
                                              local_names) for x0 in batch.x0_estimates])
        commit = commit_steps(step_labels, labels)
    m = inspection.metrics
    coverage = None if m.coverage is None or not np.isfinite(m.coverage) else float(m.coverage)
    summary = ModeSummary(
        names=names, labels=labels, shares=shares,
        data_shares=np.array([float(inspection.data_shares[k]) for k in local_names]),
        entropy=normalized_entropy(shares), coverage=coverage, verdict=m.label,   # qualified
        reason=judged_first(m.reason, inspection.compared_against), commit_step=commit, step_labels=step_labels,
        low=np.array([b[0] for b in bounds]), high=np.array([b[1] for b in bounds]),
        reference=inspection.compared_against, **averaging_scale(m, local_names, names))
    stats = chain_stats(batch, summary)
    if stats is not None and not inspection.end_effector:
        stats = ChainStats(spread_m=normalised_spread(np.asarray(batch.chain),
                                                     inspection.action_scale),
                           clusters=stats.clusters)
    text = [names[i] if i >= 0 else "" for i in labels]
    return SampleResult(batch=batch, summary=summary, feasibility=None, stats=stats,
                        labels=text, analysis=None, timings_ms=dict(inspection.timings_ms))


def averaging_scale(metrics: Any, local_names: list[str], names: list[str]) -> dict[str, Any]:
    """ModeSummary's positions [N] and pair (the Modes dock's averaging plot) from the reading:
    the signed scale between two local modes, named as the dock names them ("m0 · left"); {}
    when the reading has none (one local mode, no finite plan)."""
    pair = getattr(metrics, "pair", None)
    positions = getattr(metrics, "positions", None)
    if pair is None or positions is None or not all(p in local_names for p in pair):
        return {}
    return {"positions": np.asarray(positions, np.float64),
            "pair": tuple(names[local_names.index(p)] for p in pair)}


def judged_first(reason: str, against: str) -> str:
    """The reason with what it compared against first ("vs the 64 nearest frames of DS (2 local
    data modes): ..."): the Modes dock shortens long reasons from the end."""
    tail = f" [against {against}]"
    body = reason[:-len(tail)] if reason.endswith(tail) else reason
    return f"vs {against}: {body}"


def normalised_spread(chain: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
    """[S+1] mean distance of the samples from their mean at each chain index, in normalised
    action units (each dimension times scale [D]): the spread of an action space that is not
    a hand position in metres."""
    x = chain.astype(np.float64) * (1.0 if scale is None else np.asarray(scale, np.float64))
    centre = np.nanmean(x, axis=1, keepdims=True)
    return np.nanmean(np.linalg.norm(x - centre, axis=-1), axis=(1, 2))


__all__ = ["FrameOutcome", "FrameSampler", "StreamingPlanner", "camera_frame",
           "inspection_result", "last_frame", "load_data_policy", "load_for_data", "mode_names",
           "normalised_spread"]
