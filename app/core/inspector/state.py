"""The inspector's Qt-free model: which policy, how to sample, what came out, what is selected.

napari-style: the model holds plain data and emits declared events (InspectorEvents, through
app/core/events.py); Qt views connect to them and redraw.
Nothing here imports Qt, torch or pybullet, so the model runs in tests and scripts as-is.

Shapes (N samples, H plan horizon, D action size = 4: x, y, z metres + gripper 0..1, S steps):
    batch.plans [N,H,D], batch.chain [S+1,N,H,D], batch.x0_estimates [S,N,H,D]
    ModeSummary.labels [N] int, Feasibility.feasible [N] bool, ChainStats.spread_m [S+1]
    (those types live in app/core/analysis.py, the one analysis path)
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from app.core.analysis import SampleResult
from app.core.events import Event, event
from recordings.plan_batch import PlanBatch

MAX_SAMPLES = 1024
PREVIEW_PLANS = 64   # plans drawn per streamed step while sampling (the final batch shows all)
NO_MODE = -1         # isolation of the plans in no mode (their label in ModeSummary.labels)


@dataclass(frozen=True)
class InspectorEvents:
    """What the inspector's views react to (app/core/events.py). policy/baseline: a slot changed
    (the LoadedPolicy or None); settings: the sampling settings; sampling: started (True) or
    finished (False); progress(k, S): chain step k of S done; partial: a streamed PlanBatch
    arrived; batch: a final batch and its analysis arrived (the policy's or the baseline's, or
    None when cleared: views read state.result / baseline_result); selection, isolation: the
    highlighted sample index / isolated mode index (NO_MODE: the plans in no mode; or None); step: the chain index shown;
    observation: the scene observation the plans are for; message: a status line; source: where
    the observation comes from changed (a DataFrameSource, or None for the live scene)."""
    policy: Event[["LoadedPolicy | None"]] = event()
    baseline: Event[["LoadedPolicy | None"]] = event()
    settings: Event[["SamplingSettings"]] = event()
    sampling: Event[[bool]] = event()
    progress: Event[[int, int]] = event()
    partial: Event[[PlanBatch]] = event()
    batch: Event[["SampleResult | None"]] = event()
    selection: Event[[int | None]] = event()
    isolation: Event[[int | None]] = event()
    step: Event[[int]] = event()
    observation: Event[[dict[str, np.ndarray] | None]] = event()
    message: Event[[str]] = event()
    reference: Event[[Any]] = event()     # the data the modes are judged against changed
    source: Event[["DataFrameSource | None"]] = event()


@dataclass(frozen=True)
class DataFrameSource:
    """The inspector's observation taken from a recorded frame instead of the live scene: data
    is the data set's path (any format recordings.dataset.open_dataset reads), episode and frame
    index it. The observation history, the demonstrated chunk and the K nearest frames' chunks
    are read there (app/core/inspector/frame_source.py)."""
    data: str
    episode: int
    frame: int
    length: int | None = field(default=None, compare=False)   # the episode's frames, when known

    def __post_init__(self) -> None:
        if self.episode < 0 or self.frame < 0:
            raise ValueError(f"episode and frame must be >= 0, got {self.episode}, {self.frame}")

    @property
    def name(self) -> str:
        """The data set's folder or file name (what the banner and the reasons say)."""
        import os
        return os.path.basename(os.path.normpath(self.data))

    def describe(self) -> str:
        return f"{self.name} episode {self.episode} frame {self.frame}"


@dataclass(frozen=True)
class SamplingSettings:
    """num_samples N in 1..1024; steps S >= 1; temperature > 0 scales the noise; device cpu|cuda."""
    num_samples: int = 128
    solver: str = "dpmpp"
    steps: int = 12
    temperature: float = 1.0
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if not 1 <= self.num_samples <= MAX_SAMPLES:
            raise ValueError(f"num_samples must be in 1..{MAX_SAMPLES}, got {self.num_samples}")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")


@dataclass
class LoadedPolicy:
    """A planner in one slot. source: the directory or module:attr it came from. data_shares:
    the demonstration data's mode shares from the checkpoint's provenance ({} when unknown);
    reference: the same as a planners.mode_reference.DataReference naming its source (None when
    unknown); obs_range: the training observations' range (ObsRange, None when unknown);
    feature_map: which scene observation feeds each of its features."""
    planner: Any
    source: str
    spec: Any
    data_shares: dict[str, float] = field(default_factory=dict)
    reference: Any = None
    obs_range: Any = None
    feature_map: Any = None     # app.core.scene_features.FeatureMap (None: the scene's own keys)
    scene_fed: bool = True      # False: loaded for a data set only (the scene cannot feed it)

    @property
    def name(self) -> str:
        return getattr(self.spec, "name", "") or self.source


class InspectorState:
    """The inspector session. Mutate through the methods (they emit); read attributes freely."""

    def __init__(self) -> None:
        self.events = InspectorEvents()
        self.policy: LoadedPolicy | None = None
        self.baseline: LoadedPolicy | None = None
        self.settings = SamplingSettings()
        self.result: SampleResult | None = None
        self.baseline_result: SampleResult | None = None
        self.partial: PlanBatch | None = None
        self.sampling = False
        self.progress = (0, 0)
        self.selected: int | None = None
        self.isolated: int | None = None
        self.step = 0
        self.show_x0 = False
        self.observation: dict[str, np.ndarray] | None = None
        self.sweep: Any = None
        self.reference: Any = None   # "Compare with data…": a DataReference judging every batch
        self.source: DataFrameSource | None = None   # None: the live scene is the observation
        self.data: Any = None        # the result's DatasetInspection (demo, neighbours) or None
        self.data_camera: tuple[str, np.ndarray] | None = None   # (feature, [H, W, 3] uint8)

    # ---- policies ----------------------------------------------------------------------------
    def set_policy(self, policy: LoadedPolicy | None, *, baseline: bool = False) -> None:
        if baseline:
            self.baseline, self.baseline_result = policy, None
            self.events.baseline.emit(policy)
            return
        self.policy = policy
        self.result, self.partial = None, None
        self.data = self.data_camera = None
        if policy is not None:
            spec = policy.spec
            solver = getattr(spec, "default_solver", self.settings.solver) or self.settings.solver
            steps = int(getattr(spec, "default_steps", self.settings.steps) or self.settings.steps)
            self.settings = replace(self.settings, solver=solver, steps=steps)
            self.events.settings.emit(self.settings)
        self.events.policy.emit(policy)
        self.events.batch.emit(None)

    def set_reference(self, reference: Any) -> None:
        """Judge the modes against `reference` (a planners.mode_reference.DataReference: another
        recording's shares or explicit ones) instead of each policy's training data; None goes
        back to the training data."""
        self.reference = reference
        self.events.reference.emit(reference)

    def judged_against(self, policy: "LoadedPolicy | None") -> Any:
        """What `policy`'s batches are judged against: the chosen reference, else its own."""
        if self.reference is not None:
            return self.reference
        return None if policy is None else (policy.reference or policy.data_shares or None)

    def update_settings(self, **changes: Any) -> SamplingSettings:
        """Validate and apply; raises ValueError naming the bad value."""
        self.settings = replace(self.settings, **changes)
        self.events.settings.emit(self.settings)
        return self.settings

    def new_seed(self, rng: np.random.Generator | None = None) -> int:
        rng = rng or np.random.default_rng()
        return self.update_settings(seed=int(rng.integers(0, 2**31 - 1))).seed

    def set_source(self, source: DataFrameSource | None) -> None:
        """Sample at a recorded frame (DataFrameSource) or at the live scene (None)."""
        if source != self.source:
            self.source = source
            self.events.source.emit(source)

    def set_observation(self, obs: dict[str, np.ndarray] | None) -> None:
        self.observation = obs
        self.events.observation.emit(obs)

    # ---- sampling lifecycle ------------------------------------------------------------------
    def begin_sampling(self) -> None:
        self.sampling, self.progress, self.partial = True, (0, self.settings.steps), None
        self.events.sampling.emit(True)

    def set_progress(self, k: int, total: int, partial: PlanBatch | None = None) -> None:
        self.progress = (int(k), int(total))
        self.events.progress.emit(int(k), int(total))
        if partial is not None:
            self.partial = partial
            self.events.partial.emit(partial)

    def end_sampling(self, message: str = "") -> None:
        self.sampling = False
        self.events.sampling.emit(False)
        if message:
            self.events.message.emit(message)

    def set_result(self, result: SampleResult | None, *, baseline: bool = False,
                   observation: dict[str, np.ndarray] | None = None, data: Any = None,
                   camera: tuple[str, np.ndarray] | None = None) -> None:
        """A new final batch (or the baseline's). `observation`, when given, is the one the batch
        was sampled for: set before the views redraw, so they draw batch and markers once. data:
        the DatasetInspection when the batch was sampled at a recorded frame (its demonstrated
        chunk and neighbours' chunks are drawn with the plans), camera: that frame's image."""
        if observation is not None:
            self.observation = observation
        if not baseline:
            self.data, self.data_camera = data, camera
        if baseline:
            if result is None and self.baseline_result is None:
                return      # no baseline before or after: nothing for the views to redraw
            self.baseline_result = result
        else:
            self.result, self.partial = result, None
            self.selected = None
            self.isolated = None
            self.step = result.batch.num_steps if result is not None else 0
        self.events.batch.emit(result)
        self.events.step.emit(self.step)
        if observation is not None:
            self.events.observation.emit(observation)

    # ---- what the views highlight ------------------------------------------------------------
    @property
    def batch(self) -> PlanBatch | None:
        return self.result.batch if self.result is not None else None

    @property
    def num_steps(self) -> int:
        return self.batch.num_steps if self.batch is not None else 0

    def select(self, index: int | None) -> None:
        if index is not None and (self.batch is None or not 0 <= index < self.batch.num_samples):
            index = None
        if index != self.selected:
            self.selected = index
            self.events.selection.emit(index)

    def isolate(self, mode: int | None) -> None:
        """Draw only mode `mode`'s plans (NO_MODE: the plans in no mode); None draws all."""
        summary = self.result.summary if self.result is not None else None
        if mode is not None and summary is None:
            return
        if mode == NO_MODE and not (np.asarray(summary.labels) < 0).any():
            return
        if mode is not None and mode != NO_MODE and not 0 <= mode < summary.num_modes:
            return
        if mode != self.isolated:
            self.isolated = mode
            self.events.isolation.emit(mode)

    def clear(self) -> None:
        """Esc: drop the selection and the isolated mode."""
        self.select(None)
        self.isolate(None)

    def set_step(self, step: int) -> None:
        """Chain index k in 0..S (0 = pure noise at t = T, S = final plans)."""
        step = int(np.clip(step, 0, self.num_steps))
        if step != self.step:
            self.step = step
            self.events.step.emit(step)

    def set_show_x0(self, on: bool) -> None:
        if bool(on) != self.show_x0:
            self.show_x0 = bool(on)
            self.events.step.emit(self.step)

    def visible_mask(self) -> np.ndarray:
        """[N] bool: plans drawn under the current isolation (all when nothing is isolated)."""
        if self.batch is None:
            return np.zeros(0, dtype=bool)
        n = self.batch.num_samples
        summary = self.result.summary if self.result is not None else None
        if self.isolated is None or summary is None:
            return np.ones(n, dtype=bool)
        return np.asarray(summary.labels) == self.isolated

    def plans_at_step(self, batch: PlanBatch | None = None, step: int | None = None,
                      x0: bool | None = None) -> np.ndarray | None:
        """[N, H, D] what the chain views draw at chain index `step`: x_t = chain[step], or the
        model's x0-estimate made from it (x0_estimates[step]; the final plans at step S)."""
        batch = batch if batch is not None else self.batch
        if batch is None:
            return None
        step = self.step if step is None else step
        x0 = self.show_x0 if x0 is None else x0
        s = batch.num_steps
        if s == 0:
            return batch.plans
        step = int(np.clip(step, 0, s))
        if x0:
            return batch.x0_estimates[step] if step < s else batch.plans
        return batch.chain[step] if step < batch.chain.shape[0] else batch.plans


def preview_subset(n: int, limit: int = PREVIEW_PLANS) -> np.ndarray:
    """Indices of at most `limit` samples spread evenly over 0..n-1: what a streamed preview
    draws, so a preview frame costs the same for N = 64 and N = 1024."""
    return np.unique(np.linspace(0, n - 1, min(n, limit)).astype(np.int64)) if n else np.zeros(0, np.int64)


def observed_positions(obs: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """World positions [3] (metres) the views mark: "ee" (end effector, by the scene API's
    convention: scenes.api.END_EFFECTOR_KEYS) and "mug" (the first `*mug*`/`*object*` position
    field); missing fields are left out."""
    from scenes.api import end_effector_position

    found: dict[str, np.ndarray] = {}
    if not obs:
        return found
    ee = end_effector_position(obs)
    if ee is not None and ee.size == 3:
        found["ee"] = ee
    for key, value in obs.items():
        arr = np.asarray(value).reshape(-1)
        lower = key.lower()
        if arr.size < 3 or "pos" not in lower or "vel" in lower:
            continue
        if "mug" in lower or "object" in lower:
            found.setdefault("mug", arr[:3].astype(np.float64))
    return found
