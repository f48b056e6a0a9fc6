"""DiffusionPlanner: samples N plans for one observation and keeps the whole denoising chain.

plan(obs, ...) takes the dict observation {key: [1, size] float32} of the checkpoint's obs_spec
keys (To = 1; the scene's keys), or the flat vector [obs_dim] of the older form, and returns a
PlanBatch (recordings/plan_batch.py) with, in action units:
    chain [S+1, N, H, D]  x_t after every step, chain[0] the initial noise, chain[-1] the plans
    x0_estimates [S, N, H, D]  the model's estimate of the clean plan at every step
Sampling uses the EMA weights saved in the checkpoint and planners/sampling.py's sample_chain.
The noise is drawn on the CPU from one torch.Generator seeded by `seed`, so a seed gives the
same plans on CPU and CUDA (up to float rounding); the batch records the noise it used
(initial_noise, step_noise), and passing it back replays the batch exactly.
"""
from __future__ import annotations

import numpy as np
import torch

from planners.acceleration import PolicyAcceleration
from planners.diffusion.config import CHAIN_DTYPES, DiffusionConfig
from planners.diffusion.unet import ConditionalUnet1D, count_parameters
from planners.normalizer import MinMaxNormalizer
from planners.protocol import (SOLVERS, CancelCheck, PlannerError, PlannerSpec, StepCallback, flat_observation,
                               state_features)
from planners.sampling import sample_chain
from recordings.plan_batch import PlanBatch


class DiffusionPlanner:
    """A trained diffusion policy: model (EMA weights) + normalizers + config.

    obs_normalizer: [obs_dim] features; action_normalizer: [D] features (shared over H).
    device: "cpu" (default) or "cuda" (PlannerError when CUDA is not available).
    chain_dtype: "float32" or "float16" for the stored chain and x0-estimates (plans stay float32).
    """

    def __init__(self, config: DiffusionConfig, model: ConditionalUnet1D, obs_normalizer: MinMaxNormalizer,
                 action_normalizer: MinMaxNormalizer, *, name: str = "diffusion", device: str = "cpu",
                 chain_dtype: str = "float32", extra: dict | None = None) -> None:
        self.config = config
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.obs_normalizer = obs_normalizer
        self.action_normalizer = action_normalizer
        if chain_dtype not in CHAIN_DTYPES:
            raise PlannerError(f"chain_dtype {chain_dtype!r} is not one of {', '.join(CHAIN_DTYPES)}")
        self.chain_dtype = chain_dtype
        self.spec = PlannerSpec(name=name, kind="diffusion", scene=config.scene, obs_dim=config.obs_dim,
                                action_dim=config.action_dim, horizon=config.horizon,
                                obs_keys=config.obs_spec, features=state_features(config.obs_spec),
                                n_obs_steps=1, default_solver=config.default_solver,
                                default_steps=config.default_steps,
                                control_solver=config.control_solver,
                                control_steps=config.control_steps_resolved,
                                num_parameters=count_parameters(model), library="planscope",
                                extra=dict(extra or {}))
        # kernels chosen by measurement, reduced precision behind a fidelity check (planners/acceleration)
        self.acceleration = PolicyAcceleration(
            self.model, native_call=lambda m, x, t, c: m(x, t, c), horizon=config.horizon, device=self.device,
            settings=config.scheduler_settings(), solver=config.default_solver, steps=config.default_steps,
            action_range=action_normalizer.high - action_normalizer.low, to_actions=self._to_actions)
        self.spec.extra["precision"] = self.acceleration.describe()

    def plan(self, obs, num_samples: int, *, seed: int, solver: str | None = None,
             steps: int | None = None, temperature: float = 1.0, initial_noise=None, step_noise=None,
             on_step: StepCallback | None = None, cancel: CancelCheck | None = None,
             chain_dtype: str | None = None) -> PlanBatch:
        """Sample `num_samples` plans [N, H, D] for one observation (see module doc);
        initial_noise [N, H, D] / step_noise [K, N, H, D] replay a batch (planners/sampling.py)."""
        solver = solver or self.config.default_solver
        obs_t = self._obs_tensor(obs)
        n = _check_num_samples(num_samples)
        model_fn = self.acceleration.model_fn(obs_t, n, cancel=cancel)
        self.spec.extra["precision"] = self.acceleration.describe()
        return sample_chain(model_fn, self.config.scheduler_settings(),
                            num_samples=n, horizon=self.config.horizon, action_dim=self.config.action_dim,
                            seed=seed, solver=solver, steps=int(steps or self.config.default_steps),
                            temperature=temperature, initial_noise=initial_noise, step_noise=step_noise,
                            to_actions=self._to_actions, on_step=on_step, cancel=cancel,
                            planner_name=self.spec.name, chain_dtype=chain_dtype or self.chain_dtype,
                            device=self.device, meta=model_fn.meta)

    def plan_frames(self, observations, num_samples: int, *, seeds, solver: str | None = None,
                    steps: int | None = None, temperature: float = 1.0,
                    initial_noise=None) -> list[PlanBatch]:
        """N plans for each of F observations in one sampler call (planners/frame_batch.py): one
        PlanBatch per observation, equal to plan(obs_f, N, seed=seeds[f], initial_noise=
        initial_noise[f]) up to float rounding; initial_noise [F, N, H, D] or None."""
        from planners.frame_batch import sample_frames
        n = _check_num_samples(num_samples)
        conds = [self._obs_tensor(obs) for obs in observations]
        batches = sample_frames(
            lambda rows, b: self.acceleration.model_fn(rows, b), conds, self.config.scheduler_settings(),
            num_samples=n, horizon=self.config.horizon, action_dim=self.config.action_dim, seeds=seeds,
            solver=solver or self.config.default_solver, steps=int(steps or self.config.default_steps),
            to_actions=self._to_actions, temperature=temperature, initial_noise=initial_noise,
            planner_name=self.spec.name, chain_dtype=self.chain_dtype, device=self.device)
        self.spec.extra["precision"] = self.acceleration.describe()
        return batches

    def _obs_tensor(self, obs) -> torch.Tensor:
        """The dict observation ({key: [1, size]}) or the flat vector [obs_dim] -> normalized [1, obs_dim]."""
        flat = flat_observation(self.spec, obs)
        normalized = self.obs_normalizer.normalize(flat)
        return torch.from_numpy(normalized).to(self.device)[None, :]

    def _to_actions(self, x: torch.Tensor) -> np.ndarray:
        """Normalized [N, H, D] tensor -> action units, numpy float32."""
        return self.action_normalizer.unnormalize(x.detach().float().cpu().numpy())


def resolve_device(device: str) -> torch.device:
    """"cpu" | "cuda" | "cuda:N" -> torch.device; PlannerError when CUDA is asked but absent."""
    if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
        raise PlannerError(f"device {device!r} is not one of cpu, cuda")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise PlannerError(f"device {device!r} was asked for but CUDA is not available on this machine")
    return torch.device(device)


def _check_num_samples(num_samples: int) -> int:
    if not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise PlannerError(f"num_samples must be a positive integer, got {num_samples!r}")
    return int(num_samples)


__all__ = ["DiffusionPlanner", "resolve_device", "SOLVERS"]
