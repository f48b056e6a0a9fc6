"""DiffusionPlanner: samples N plans for one observation and keeps the whole denoising chain.

plan() returns a PlanBatch (recordings/plan_batch.py) with, in action units:
    chain [S+1, N, H, D]  x_t after every step, chain[0] the initial noise, chain[-1] the plans
    x0_estimates [S, N, H, D]  the model's estimate of the clean plan at every step
Sampling uses the EMA weights saved in the checkpoint. The noise is drawn on the CPU from one
torch.Generator seeded by `seed`, so a seed gives the same plans on CPU and CUDA (up to float
rounding) and DDIM / DPM-Solver++ are fully reproducible.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from planners.diffusion.config import CHAIN_DTYPES, DiffusionConfig
from planners.diffusion.schedulers import check_steps, make_scheduler
from planners.diffusion.unet import ConditionalUnet1D, count_parameters
from planners.normalizer import MinMaxNormalizer
from planners.protocol import SOLVERS, CancelCheck, PlannerError, PlannerSpec, StepCallback
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
                                obs_keys=config.obs_spec, default_solver=config.default_solver,
                                default_steps=config.default_steps,
                                control_solver=config.control_solver,
                                control_steps=config.control_steps_resolved,
                                num_parameters=count_parameters(model), extra=dict(extra or {}))

    def plan(self, obs: np.ndarray, num_samples: int, *, seed: int, solver: str | None = None,
             steps: int | None = None, temperature: float = 1.0, on_step: StepCallback | None = None,
             cancel: CancelCheck | None = None, chain_dtype: str | None = None) -> PlanBatch:
        """Sample `num_samples` plans [N, H, D] for one flat observation [obs_dim] (see module doc)."""
        start = time.perf_counter()
        solver = solver or self.config.default_solver
        steps = check_steps(self.config, solver, int(steps or self.config.default_steps))
        obs_t = self._obs_tensor(obs)
        n = _check_num_samples(num_samples)
        if not np.isfinite(temperature) or temperature < 0:
            raise PlannerError(f"temperature must be a finite number >= 0, got {temperature!r}")
        dtype = np.dtype(chain_dtype or self.chain_dtype)
        scheduler = make_scheduler(self.config, solver)
        scheduler.set_timesteps(steps, device=self.device)
        timesteps = scheduler.timesteps.detach().cpu().numpy().astype(np.int64)
        s_total = len(timesteps)
        h, d = self.config.horizon, self.config.action_dim
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        noise = torch.randn((n, h, d), generator=generator, dtype=torch.float32)
        x = (noise * float(temperature) * float(scheduler.init_noise_sigma)).to(self.device)
        chain = np.empty((s_total + 1, n, h, d), dtype=dtype)
        x0_estimates = np.empty((s_total, n, h, d), dtype=dtype)
        step_ms = np.zeros(s_total, dtype=np.float64)
        chain[0] = self._to_actions(x)
        cond = obs_t.expand(n, -1)
        done = 0
        cancelled = False
        with torch.inference_mode():
            for k, t in enumerate(scheduler.timesteps):
                if cancel is not None and cancel():
                    cancelled = True
                    break
                t_start = time.perf_counter()
                x, x0 = self._step(scheduler, solver, x, t, cond, generator, float(temperature))
                chain[k + 1] = self._to_actions(x)
                x0_estimates[k] = self._to_actions(x0)
                step_ms[k] = (time.perf_counter() - t_start) * 1000.0
                done = k + 1
                if on_step is not None:
                    on_step(done, s_total, self._batch(chain, x0_estimates, timesteps, step_ms, done,
                                                       solver, seed, temperature, False, start))
        return self._batch(chain, x0_estimates, timesteps, step_ms, done, solver, seed, temperature,
                           cancelled, start)

    def _step(self, scheduler, solver: str, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor,
              generator: torch.Generator, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
        """One reverse step: (x_{t-1}, x0-estimate), both normalized [N, H, D]."""
        model_out = self.model(scheduler.scale_model_input(x, t), t.to(self.device), cond)
        if solver == "ddpm":
            state = generator.get_state()
            out = scheduler.step(model_out, t, x, generator=generator)
            x_prev = out.prev_sample
            if temperature != 1.0 and int(t) > 0:
                # Re-draw the exact noise the scheduler added and rescale its share by temperature.
                replay = torch.Generator(device="cpu").set_state(state)
                z = torch.randn(tuple(x.shape), generator=replay, dtype=x.dtype).to(x.device)
                std = scheduler._get_variance(int(t)) ** 0.5
                x_prev = x_prev + (temperature - 1.0) * std * z
            return x_prev, out.pred_original_sample
        if solver == "ddim":
            out = scheduler.step(model_out, t, x, eta=0.0)
            return out.prev_sample, out.pred_original_sample
        # DPM-Solver++ does not return its x0 estimate; derive it from the model output.
        x0 = self._x0_from_output(scheduler, model_out, t, x)
        out = scheduler.step(model_out, t, x)
        return out.prev_sample, x0

    def _x0_from_output(self, scheduler, model_out: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.config.prediction_type == "sample":
            x0 = model_out
        else:
            abar = scheduler.alphas_cumprod[int(t)].to(x.device, x.dtype)
            x0 = (x - (1.0 - abar).sqrt() * model_out) / abar.sqrt()
        # The scheduler clips its own x0 the same way (thresholding, sample_max_value = 1).
        return x0.clamp(-1.0, 1.0) if self.config.clip_sample else x0

    def _obs_tensor(self, obs: np.ndarray) -> torch.Tensor:
        flat = np.asarray(obs, dtype=np.float32).reshape(-1)
        if flat.size != self.config.obs_dim:
            raise PlannerError(f"policy {self.spec.name!r} expects observations of size {self.config.obs_dim}, "
                               f"got {flat.size}")
        normalized = self.obs_normalizer.normalize(flat)
        return torch.from_numpy(normalized).to(self.device)[None, :]

    def _to_actions(self, x: torch.Tensor) -> np.ndarray:
        """Normalized [N, H, D] tensor -> action units, numpy float32."""
        return self.action_normalizer.unnormalize(x.detach().float().cpu().numpy())

    def _batch(self, chain, x0, timesteps, step_ms, done, solver, seed, temperature, cancelled, start) -> PlanBatch:
        plans = chain[done].astype(np.float32)
        nonfinite = int(np.size(plans) - np.count_nonzero(np.isfinite(plans)))
        return PlanBatch(plans=plans, chain=chain[:done + 1], x0_estimates=x0[:done],
                         timesteps=timesteps[:done], step_ms=step_ms[:done], solver=solver, seed=int(seed),
                         planner=self.spec.name, temperature=float(temperature), cancelled=cancelled,
                         wall_ms=(time.perf_counter() - start) * 1000.0,
                         meta={"nonfinite_count": nonfinite, "steps_requested": int(len(timesteps)),
                               "chain_dtype": str(chain.dtype), "device": str(self.device)})


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
