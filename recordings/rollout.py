"""Rollout and ReplanRecord: one recorded episode, in memory, validated on construction.

Shapes (T control steps, D action size, S state size, R replans, N samples per replan,
H plan horizon, K executed steps per chunk (Ta or H), Sd solver steps):
    Rollout.obs[key]        [T, ...]   any dtype; one array per named observation field
    Rollout.actions         [T, D]     float32, commanded action at each control step
    Rollout.states          [T, S]     float64, full simulator state before each step (exact replay)
    Rollout.rewards         [T]        float32
    Rollout.dones           [T]        bool
    ReplanRecord.samples    [N, H, D]  float32, the plans sampled at this replan (action units)
    ReplanRecord.feasible   [N]        bool, per-sample feasibility (scene.check_plan)
    ReplanRecord.executed_chunk [K, D] float32, the chunk sent to the scene
    ReplanRecord.chain      [Sd+1, N, H, D] float32 or None, x_t after each solver step (noise first)
    ReplanRecord.x0_estimates [Sd, N, H, D] float32 or None
    ReplanRecord.initial_noise [N, H, D] float32 or None, the unit-variance draw x_T was made from
    ReplanRecord.step_noise [Kn, N, H, D] float32 or None, the draws DDPM added (Kn = 0 for DDIM)
    ReplanRecord.replay     dict or None: seed, solver, steps, temperature of the planner call

Arrays are converted to the stated dtypes (a copy only when needed); a wrong shape raises
ValueError naming the field, the expected shape and the shape received.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recordings.events import Event


def _array(name: str, value: Any, dtype: Any, ndim: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind in "OUS" and np.dtype(dtype).kind not in "OUS":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    return arr


def json_default(value: Any) -> Any:
    """json.dumps default=: numpy scalars and arrays become plain Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(value: Any, **kw: Any) -> str:
    """Sorted-key JSON that accepts numpy values (NaN allowed)."""
    return json.dumps(value, sort_keys=True, allow_nan=True, default=json_default, **kw)


def _json_text(name: str, value: Any) -> str:
    try:
        return to_json(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be JSON-serialisable: {exc}") from None


@dataclass
class ReplanRecord:
    """What the planner considered at one replanning step, and what was executed.

    step: control step index at which the plan was made (0 <= step < T of the rollout).
    samples [N,H,D] float32; executed_index: which sample was executed (0 <= i < N);
    mode_labels: N strings (e.g. "left", "right", "" when unknown); feasible [N] bool;
    latency_ms: wall time of the planner call, milliseconds; executed_chunk [K,D] float32;
    chain [Sd+1,N,H,D] and x0_estimates [Sd,N,H,D]: optional denoising chain (None = not kept).
    initial_noise [N,H,D], step_noise [Kn,N,H,D] (normalised, float32: exact replay) and replay
    (the call's seed, solver, steps, temperature): what `planner.plan(obs, **replay_args())`
    needs to reproduce the samples (None = not kept; a planner without a chain records none).
    """
    step: int
    samples: np.ndarray
    executed_index: int
    mode_labels: list[str]
    feasible: np.ndarray
    latency_ms: float
    executed_chunk: np.ndarray
    chain: np.ndarray | None = None
    x0_estimates: np.ndarray | None = None
    initial_noise: np.ndarray | None = None
    step_noise: np.ndarray | None = None
    replay: dict | None = None

    def __post_init__(self) -> None:
        self.step = int(self.step)
        if self.step < 0:
            raise ValueError(f"replan step must be >= 0, got {self.step}")
        self.samples = _array("samples", self.samples, np.float32, 3)
        n, h, d = self.samples.shape
        if n < 1:
            raise ValueError("samples must hold at least one plan (N >= 1)")
        self.executed_index = int(self.executed_index)
        if not 0 <= self.executed_index < n:
            raise ValueError(f"executed_index {self.executed_index} out of range for N={n}")
        self.mode_labels = [str(m) for m in self.mode_labels]
        if len(self.mode_labels) != n:
            raise ValueError(f"mode_labels must have N={n} entries, got {len(self.mode_labels)}")
        self.feasible = _array("feasible", self.feasible, np.bool_, 1)
        if self.feasible.shape != (n,):
            raise ValueError(f"feasible must be [{n}], got {self.feasible.shape}")
        self.latency_ms = float(self.latency_ms)
        self.executed_chunk = _array("executed_chunk", self.executed_chunk, np.float32, 2)
        if self.executed_chunk.shape[1] != d:
            raise ValueError(f"executed_chunk must be [K,{d}], got {self.executed_chunk.shape}")
        if self.chain is not None:
            self.chain = _array("chain", self.chain, np.float32, 4)
            if self.chain.shape[1:] != (n, h, d) or self.chain.shape[0] < 1:
                raise ValueError(f"chain must be [S+1,{n},{h},{d}], got {self.chain.shape}")
        if self.x0_estimates is not None:
            self.x0_estimates = _array("x0_estimates", self.x0_estimates, np.float32, 4)
            if self.x0_estimates.shape[1:] != (n, h, d):
                raise ValueError(f"x0_estimates must be [S,{n},{h},{d}], "
                                 f"got {self.x0_estimates.shape}")
        if self.chain is not None and self.x0_estimates is not None and \
                self.chain.shape[0] != self.x0_estimates.shape[0] + 1:
            raise ValueError(f"chain {self.chain.shape} must have one more step than "
                             f"x0_estimates {self.x0_estimates.shape}")
        if self.initial_noise is not None:
            self.initial_noise = _array("initial_noise", self.initial_noise, np.float32, 3)
            if self.initial_noise.shape != (n, h, d):
                raise ValueError(f"initial_noise must be [{n},{h},{d}], got {self.initial_noise.shape}")
        if self.step_noise is not None:
            self.step_noise = _array("step_noise", self.step_noise, np.float32, 4)
            if self.step_noise.shape[1:] != (n, h, d):
                raise ValueError(f"step_noise must be [K,{n},{h},{d}], got {self.step_noise.shape}")
        if self.replay is not None:
            missing = {"seed", "solver", "steps", "temperature"} - set(self.replay)
            if missing:
                raise ValueError(f"replay must give seed, solver, steps, temperature; missing "
                                 f"{sorted(missing)}")
            self.replay = {"seed": int(self.replay["seed"]), "solver": str(self.replay["solver"]),
                           "steps": int(self.replay["steps"]),
                           "temperature": float(self.replay["temperature"])}

    def replay_args(self) -> dict | None:
        """Keyword arguments for `planner.plan(obs, **args)` that reproduce `samples` (as
        recordings.plan_batch.PlanBatch.replay_args gives them), or None when the replan kept
        no replay record. Without kept noise the seed alone redraws it (same N)."""
        if self.replay is None:
            return None
        return {"num_samples": self.num_samples, **self.replay,
                "initial_noise": self.initial_noise, "step_noise": self.step_noise}

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def executed_plan(self) -> np.ndarray:
        """[H, D] the full predicted plan the executed chunk came from."""
        return self.samples[self.executed_index]

    @property
    def modes(self) -> list[str]:
        """Distinct mode labels in first-seen order."""
        return list(dict.fromkeys(self.mode_labels))

    @classmethod
    def from_plan_batch(cls, step: int, batch: Any, *, executed_index: int,
                        mode_labels: list[str], feasible: np.ndarray, executed_chunk: np.ndarray,
                        keep_chain: bool = True, latency_ms: float | None = None,
                        keep_initial_noise: bool = True, keep_step_noise: bool = False) -> "ReplanRecord":
        """Build a record from a PlanBatch (recordings.plan_batch): the one way the runner and
        `planscope sample` make one. keep_chain=False drops the denoising chain (it is ~S times
        the size of the samples); an empty chain is dropped too. latency_ms: the caller's own
        measure of the planner call (default: the batch's wall_ms). The replay record (seed, solver,
        steps, temperature) is kept for every batch with a chain; its initial noise [N,H,D] (the
        size of the samples) with keep_initial_noise, DDPM's step noise [K,N,H,D] (~S times the
        samples) only with keep_step_noise (docs/recording-format.md, "Replaying a sample")."""
        has_chain = keep_chain and batch.chain.shape[0] > 0
        diffusion = batch.chain.shape[0] > 0
        args = batch.replay_args() if diffusion else {}
        initial = args.get("initial_noise") if keep_initial_noise else None
        per_step = args.get("step_noise") if keep_step_noise else None
        return cls(step=step, samples=batch.plans, executed_index=executed_index,
                   mode_labels=mode_labels, feasible=feasible,
                   latency_ms=batch.wall_ms if latency_ms is None else latency_ms,
                   executed_chunk=executed_chunk,
                   chain=batch.chain if has_chain else None,
                   x0_estimates=batch.x0_estimates if has_chain else None,
                   initial_noise=initial, step_noise=per_step,
                   replay={k: args[k] for k in ("seed", "solver", "steps", "temperature")}
                   if diffusion else None)


@dataclass
class Rollout:
    """One recorded episode. See the module docstring for shapes.

    metrics: named floats (min_clearance in metres, plan_exec_gap in metres, time_to_success in
    seconds, counts as floats); seed: the scene seed; policy: a display name of the policy;
    perturbation: the perturbation settings applied (JSON-serialisable dict);
    failure_label: automatic failure label ("unlabelled" when none); mode: intended/achieved
    mode label; attrs: extra JSON-serialisable facts stored as attributes of the demo group.
    """
    obs: dict[str, np.ndarray]
    actions: np.ndarray
    states: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    events: list[Event] = field(default_factory=list)
    replans: list[ReplanRecord] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    policy: str = ""
    perturbation: dict = field(default_factory=dict)
    success: bool = False
    failure_label: str = "unlabelled"
    mode: str = ""
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.actions = _array("actions", self.actions, np.float32, 2)
        t = self.actions.shape[0]
        self.states = _array("states", self.states, np.float64, 2)
        self.rewards = _array("rewards", self.rewards, np.float32, 1)
        self.dones = _array("dones", self.dones, np.bool_, 1)
        for name in ("states", "rewards", "dones"):
            if getattr(self, name).shape[0] != t:
                raise ValueError(f"{name} has {getattr(self, name).shape[0]} steps, actions has {t}")
        if not isinstance(self.obs, dict):
            raise ValueError(f"obs must be a dict of named arrays, got {type(self.obs).__name__}")
        obs = {}
        for key, value in self.obs.items():
            if not key or "/" in str(key):
                raise ValueError(f"obs key {key!r} must be a non-empty name without '/'")
            arr = np.ascontiguousarray(value)
            if arr.ndim < 1 or arr.shape[0] != t:
                raise ValueError(f"obs[{key!r}] must be [T={t},...], got shape {arr.shape}")
            if arr.dtype.kind not in "biufc":
                raise ValueError(f"obs[{key!r}] must be numeric or bool, got dtype {arr.dtype}")
            obs[str(key)] = arr
        self.obs = obs
        self.events = list(self.events)
        for ev in self.events:
            if not isinstance(ev, Event):
                raise ValueError(f"events must be recordings.events.Event, got {type(ev).__name__}")
            if not ev.kind:
                raise ValueError("event kind must be a non-empty string")
            _json_text(f"detail of the {ev.kind} event at step {ev.step}", ev.detail)
        self.replans = list(self.replans)
        shapes = {r.samples.shape for r in self.replans if isinstance(r, ReplanRecord)}
        for r in self.replans:
            if not isinstance(r, ReplanRecord):
                raise ValueError(f"replans must be ReplanRecord, got {type(r).__name__}")
            if t and r.step >= t:
                raise ValueError(f"replan step {r.step} is past the rollout's last step {t - 1}")
        if len(shapes) > 1:
            raise ValueError(f"all replans of one rollout must share [N,H,D]; got {sorted(shapes)}")
        if self.replans:
            d = self.replans[0].samples.shape[2]
            if self.actions.shape[1] != d:
                raise ValueError(f"replan samples have D={d}, actions have D={self.actions.shape[1]}")
            chunks = {r.executed_chunk.shape for r in self.replans}
            if len(chunks) > 1:
                raise ValueError(f"executed_chunk shapes differ between replans: {sorted(chunks)}")
            for name in ("chain", "x0_estimates"):
                kept = {getattr(r, name).shape[0] for r in self.replans
                        if getattr(r, name) is not None}
                if len(kept) > 1:
                    raise ValueError(f"{name} step counts differ between replans: {sorted(kept)}")
            kept = {r.step_noise.shape[0] for r in self.replans if r.step_noise is not None}
            if len(kept) > 1:
                raise ValueError(f"step_noise step counts differ between replans: {sorted(kept)}")
        metrics = {}
        for key, value in self.metrics.items():
            try:
                metrics[str(key)] = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"metric {key!r} must be a number, got {value!r}") from None
        self.metrics = metrics
        self.seed = int(self.seed)
        self.policy = str(self.policy)
        self.success = bool(self.success)
        self.failure_label = str(self.failure_label)
        self.mode = str(self.mode)
        _json_text("perturbation", self.perturbation)
        _json_text("attrs", self.attrs)

    @property
    def num_steps(self) -> int:
        return int(self.actions.shape[0])

    @property
    def state_layout(self) -> dict:
        """{"pending_actions": k, "action_dim": D}: see `state_layout()`."""
        return state_layout(self.perturbation, int(self.actions.shape[1]) if self.actions.ndim == 2
                            else 0)

    @property
    def perturbation_text(self) -> str:
        """Canonical one-line text of the perturbation (sorted JSON), used as a key for resume."""
        return perturbation_key(self.perturbation)

    def key(self) -> tuple[str, int, str]:
        """(policy, seed, perturbation text): what identifies a rollout for resuming an eval."""
        return (self.policy, self.seed, self.perturbation_text)


def state_layout(perturbation: dict, action_dim: int) -> dict:
    """How a rollout's state rows [S] are laid out beyond the scene's own part: a delay
    perturbation of k steps appends the k pending actions (k * action_dim values, oldest first),
    so a delay=2 rollout of a 60-value scene has 68-value states. Replay needs this to put such a
    state into a live scene made without the delay. Recorded per rollout as the `state_layout`
    attribute; files written before it derive it from the recorded perturbation (same rule)."""
    try:
        pending = int((perturbation or {}).get("delay", 0) or 0)
    except (TypeError, ValueError):
        pending = 0
    return {"pending_actions": max(pending, 0), "action_dim": int(action_dim)}


def perturbation_key(perturbation: dict) -> str:
    """Canonical text of a perturbation dict: sorted compact JSON; {} gives ''."""
    if not perturbation:
        return ""
    return to_json(perturbation, separators=(",", ":"))
