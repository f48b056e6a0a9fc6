"""PlanBatch: the plans one planner call produced, with the whole denoising chain.

Plain numpy, shared by planners (which make it), the recording writer and the app (which draw it).

Shapes (N samples, H plan horizon, D action size, S solver steps):
    plans         [N, H, D]      final plans, in action units (world metres + gripper 0..1)
    chain         [S+1, N, H, D] x_t after each step, chain[0] is the initial noise, chain[-1] == plans
    x0_estimates  [S, N, H, D]   the model's estimate of x_0 at each step
    timesteps     [S]            scheduler timestep of each step (descending for diffusion)
    step_ms       [S]            wall time of each step, milliseconds
    initial_noise [N, H, D]     (optional) the unit-variance draw x_T was made from, normalised
    step_noise    [K, N, H, D]  (optional) the unit-variance draws DDPM added at its K steps with t > 0
A non-diffusion planner returns S = 0 and an empty chain: chain [0, N, H, D], x0_estimates [0, N, H, D].
initial_noise / step_noise are None when the planner has no noise to record (regression, a plugin
that does not fill them); passing them back to plan() (see `replay_args`) reproduces the batch
(planners/sampling.py states the exact meaning).
wall_ms is the wall time of the whole plan() call (normalisation and clustering included).
Chain values are in action units (un-normalized) so every view can draw them directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PlanBatch:
    plans: np.ndarray
    chain: np.ndarray
    x0_estimates: np.ndarray
    timesteps: np.ndarray
    step_ms: np.ndarray
    solver: str
    seed: int
    planner: str = ""
    temperature: float = 1.0
    cancelled: bool = False
    wall_ms: float = 0.0
    meta: dict = field(default_factory=dict)
    initial_noise: np.ndarray | None = None
    step_noise: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.plans.ndim != 3:
            raise ValueError(f"plans must be [N,H,D], got shape {self.plans.shape}")
        n, h, d = self.plans.shape
        if self.chain.ndim != 4 or self.chain.shape[1:] != (n, h, d) or \
                self.chain.shape[0] not in (0, self.x0_estimates.shape[0] + 1):
            raise ValueError(f"chain must be [S+1,{n},{h},{d}], got {self.chain.shape}")
        if self.x0_estimates.ndim != 4 or self.x0_estimates.shape[1:] != (n, h, d):
            raise ValueError(f"x0_estimates must be [S,{n},{h},{d}], got {self.x0_estimates.shape}")
        if self.initial_noise is not None and np.shape(self.initial_noise) != (n, h, d):
            raise ValueError(f"initial_noise must be [{n},{h},{d}], got {np.shape(self.initial_noise)}")
        if self.step_noise is not None and (np.ndim(self.step_noise) != 4 or
                                            np.shape(self.step_noise)[1:] != (n, h, d)):
            raise ValueError(f"step_noise must be [K,{n},{h},{d}], got {np.shape(self.step_noise)}")

    @property
    def num_samples(self) -> int:
        return int(self.plans.shape[0])

    @property
    def num_steps(self) -> int:
        """S, the number of solver steps recorded (0 for a non-diffusion planner)."""
        return int(self.x0_estimates.shape[0])

    @property
    def has_chain(self) -> bool:
        return self.num_steps > 0

    @property
    def nonfinite_count(self) -> int:
        """Number of non-finite values in the final plans."""
        return int(np.size(self.plans) - np.count_nonzero(np.isfinite(self.plans)))

    @property
    def has_nonfinite(self) -> bool:
        return self.nonfinite_count > 0

    @property
    def nonfinite_samples(self) -> np.ndarray:
        """[N] bool: samples whose final plan holds a NaN or inf."""
        return ~np.isfinite(self.plans).reshape(self.num_samples, -1).all(axis=1)

    def replay_args(self, indices=None) -> dict:
        """Keyword arguments for `planner.plan(obs, **args)` that reproduce this batch (or the
        samples `indices` of it): num_samples, seed, solver, steps, temperature, initial_noise
        [n, H, D] and step_noise [K, n, H, D] (None where the planner recorded none). Plain numpy
        and numbers, so `np.savez(path, **args)` shares a sample."""
        idx = np.arange(self.num_samples) if indices is None else np.atleast_1d(np.asarray(indices))
        steps = int(self.meta.get("steps_requested", self.num_steps)) if self.has_chain else 0
        return {"num_samples": int(idx.size), "seed": int(self.seed), "solver": self.solver, "steps": steps,
                "temperature": float(self.temperature),
                "initial_noise": None if self.initial_noise is None else np.asarray(self.initial_noise)[idx],
                "step_noise": None if self.step_noise is None else np.asarray(self.step_noise)[:, idx]}

    @classmethod
    def without_chain(cls, plans: np.ndarray, *, solver: str, seed: int, planner: str = "",
                      wall_ms: float = 0.0, **kw) -> "PlanBatch":
        """A batch from a planner with no denoising chain (e.g. the regression baseline)."""
        plans = np.asarray(plans, dtype=np.float32)
        empty = np.zeros((0, *plans.shape), dtype=plans.dtype)
        return cls(plans=plans, chain=empty, x0_estimates=empty.copy(),
                   timesteps=np.zeros(0, dtype=np.int64), step_ms=np.zeros(0, dtype=np.float64),
                   solver=solver, seed=seed, planner=planner, wall_ms=wall_ms, **kw)
