"""DiffusionPolicyPlanner: a diffusion_policy checkpoint behind planscope's Planner protocol.

plan(obs, N, seed=, solver=, steps=, ...) conditions on one observation history, then denoises N
action chunks through planners.sampling.sample_chain, keeping the whole chain. With the
checkpoint's own scheduler and steps (the spec's defaults) and the same initial and step noise, the
plans equal diffusion_policy's `predict_action(...)["action_pred"]`; the executed chunk (its
`action`) is plans[:, spec.action_start : + n_action_steps].

Observations (history first, To = n_obs_steps):
    low-dim policies   {"obs": [To, obs_dim] float32}                            (raw units)
    image policies     {<rgb key>: [To, H, W, 3] uint8, <low_dim key>: [To, d] float32}
"""
from __future__ import annotations

import numpy as np
import torch

from planners.acceleration import PolicyAcceleration
from planners.boundary import check_observation
from planners.diffusion_policy.config import DPConfig
from planners.diffusion_policy.modeling import DPPolicyModule
from planners.protocol import CancelCheck, PlannerError, PlannerSpec, StepCallback
from planners.sampling import sample_chain
from recordings.plan_batch import PlanBatch


class DiffusionPolicyPlanner:
    """A loaded diffusion_policy U-Net or transformer policy (see module doc). Build it with
    planners.diffusion_policy.loading.load_dp_checkpoint."""

    def __init__(self, config: DPConfig, module: DPPolicyModule, spec: PlannerSpec, *,
                 device: str = "cpu", chain_dtype: str = "float32") -> None:
        self.config = config
        self.module = module.to(device).eval()
        self.spec = spec
        self.device = torch.device(device)
        self.chain_dtype = chain_dtype
        # kernels chosen by measurement, reduced precision behind a fidelity check (planners/acceleration)
        scale = self.module.normalizer.params_dict["action"]["scale"].detach().abs().cpu().numpy()
        self.acceleration = PolicyAcceleration(
            self.module.model, native_call=lambda m, x, t, c: m(x, t, global_cond=c),
            horizon=config.sample_horizon, device=self.device, settings=config.scheduler,
            solver=spec.default_solver, steps=spec.default_steps, to_actions=self._to_actions,
            action_range=np.broadcast_to(2.0 / np.maximum(scale, 1e-12), (config.action_dim,)))
        self.spec.extra["precision"] = self.acceleration.describe()

    def _to_actions(self, x: torch.Tensor) -> np.ndarray:
        return self.module.normalizer.unnormalize("action", x.float()).cpu().numpy()

    def _tensors(self, obs) -> dict[str, torch.Tensor]:
        """Checked observation -> raw-unit tensors: states [To, d], images [To, 3, H, W] in [0, 1]."""
        checked = check_observation(self.spec, obs)
        out = {}
        for feature in self.spec.features:
            value = torch.from_numpy(np.ascontiguousarray(checked[feature.name]))
            if feature.kind == "image":
                value = value.permute(0, 3, 1, 2).to(torch.float32) / 255.0
            out[feature.name] = value.to(self.device)
        return out

    @property
    def plans_frames(self) -> bool:
        """Whether plan_frames batches (the global-condition U-Net; local conditioning and the
        transformer sample one observation per call)."""
        return not self.config.obs_as_local_cond and self.config.transformer is None

    def plan_frames(self, observations, num_samples: int, *, seeds, solver: str | None = None,
                    steps: int | None = None, temperature: float = 1.0, initial_noise=None) -> list[PlanBatch]:
        """N plans for each of F observations in one sampler call (planners/frame_batch.py), on the
        global-condition path (`plans_frames`); PlannerError otherwise."""
        from planners.frame_batch import sample_frames
        if not self.plans_frames:
            raise PlannerError(f"{self.spec.name}: local conditioning / transformer policies sample "
                               f"one observation per call")
        conds = [self.module.condition(self._tensors(obs))[0] for obs in observations]
        config = self.config
        batches = sample_frames(
            lambda rows, b: self.acceleration.model_fn(rows, b), conds, config.scheduler,
            num_samples=num_samples, horizon=config.sample_horizon, action_dim=config.action_dim,
            seeds=seeds, solver=solver or self.spec.default_solver, steps=steps or self.spec.default_steps,
            to_actions=self._to_actions, temperature=temperature, initial_noise=initial_noise,
            planner_name=self.spec.name, chain_dtype=self.chain_dtype, device=self.device,
            meta={"library": "diffusion_policy", "policy_class": config.policy_class})
        self.spec.extra["precision"] = self.acceleration.describe()
        return batches

    def plan(self, obs, num_samples: int, *, seed: int, solver: str | None = None, steps: int | None = None,
             temperature: float = 1.0, initial_noise=None, step_noise=None,
             on_step: StepCallback | None = None, cancel: CancelCheck | None = None) -> PlanBatch:
        """N plans [N, H, action_dim] in action units with their chain (planners.sampling)."""
        config = self.config
        global_cond, local_cond = self.module.condition(self._tensors(obs))
        module = self.module
        if local_cond is None and config.transformer is None:
            # the fast path (local conditioning and the transformer run the module's own forward)
            model_fn = self.acceleration.model_fn(global_cond, num_samples, cancel=cancel)
            self.spec.extra["precision"] = self.acceleration.describe()
        else:
            def model_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
                return module.denoise(x, t, global_cond, local_cond)
            model_fn.meta = {"device": str(self.device), "precision": "float32", "kernel": "native",
                             "batch_split": 0}

        return sample_chain(model_fn, config.scheduler, num_samples=num_samples, horizon=config.sample_horizon,
                            action_dim=config.action_dim, seed=seed, solver=solver or self.spec.default_solver,
                            steps=steps or self.spec.default_steps, to_actions=self._to_actions,
                            temperature=temperature, initial_noise=initial_noise, step_noise=step_noise,
                            on_step=on_step, cancel=cancel, planner_name=self.spec.name,
                            chain_dtype=self.chain_dtype, device=self.device,
                            meta={"library": "diffusion_policy", "policy_class": config.policy_class,
                                  **model_fn.meta})
