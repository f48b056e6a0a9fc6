"""LeRobotPlanner: a LeRobot DiffusionPolicy folder behind planscope's Planner protocol.

plan(obs, N, seed=, solver=, steps=, ...) normalises one observation history as LeRobot's
preprocessor does, builds LeRobot's global condition once (state, camera features, environment
state per observation step, flattened over To) and denoises N action sequences [N, H, D] through
planners.sampling.sample_chain, keeping the whole chain. With the checkpoint's own scheduler and
steps (the spec's defaults) and the same initial and step noise, the plans equal what LeRobot's
`conditional_sample` returns after its postprocessor; the chunk LeRobot executes
(`predict_action_chunk`) is plans[:, To - 1 : To - 1 + n_action_steps].

Observations (history first, To = n_obs_steps), under LeRobot's own feature names:
    observation.state               [To, d]          float32, raw units
    observation.environment_state   [To, e]          float32, raw units (when the policy has one)
    observation.images.<camera>     [To, H, W, 3]    uint8 RGB (LeRobot's [3, H, W] float / 255)
"""
from __future__ import annotations

import numpy as np
import torch

from planners.boundary import check_observation
from planners.diffusion.policy import resolve_device
from planners.lerobot.config import LeRobotDiffusionConfig
from planners.lerobot.modeling import LeRobotDiffusion
from planners.acceleration import PolicyAcceleration
from planners.lerobot.normalization import LeRobotNormalizer
from planners.protocol import CancelCheck, PlannerSpec, StepCallback
from planners.sampling import SchedulerSettings, sample_chain
from recordings.plan_batch import PlanBatch


def scheduler_settings(config: LeRobotDiffusionConfig) -> SchedulerSettings:
    """The diffusers scheduler LeRobot builds (`_make_noise_scheduler`): its config fields, and
    diffusers' defaults for the rest ("leading" spacing, fixed_small variance, alpha_T = 1)."""
    return SchedulerSettings(num_train_timesteps=config.num_train_timesteps, beta_start=config.beta_start,
                             beta_end=config.beta_end, beta_schedule=config.beta_schedule,
                             prediction_type=config.prediction_type, clip_sample=config.clip_sample,
                             clip_sample_range=config.clip_sample_range, variance_type="fixed_small",
                             timestep_spacing="leading", set_alpha_to_one=True, steps_offset=0)


class LeRobotPlanner:
    """A loaded LeRobot diffusion policy (see module doc). Build it with
    planners.lerobot.loading.load_lerobot_policy."""

    def __init__(self, config: LeRobotDiffusionConfig, model: LeRobotDiffusion, normalizer: LeRobotNormalizer,
                 spec: PlannerSpec, *, device: str = "cpu", chain_dtype: str = "float32") -> None:
        self.config = config
        self.device = resolve_device(device)       # PlannerError when CUDA is asked for but absent
        self.model = model.to(self.device).eval()
        self.normalizer = normalizer.to(self.device)
        self.spec = spec
        self.settings = scheduler_settings(config)
        self.chain_dtype = chain_dtype
        # kernels chosen by measurement, reduced precision behind a fidelity check (planners/acceleration)
        ones = torch.ones(config.action_dim, device=self.device)
        span = self.normalizer.unnormalize_action(ones) - self.normalizer.unnormalize_action(-ones)
        self.acceleration = PolicyAcceleration(
            self.model.diffusion.unet, native_call=lambda m, x, t, c: m(x, t, global_cond=c),
            horizon=config.horizon, device=self.device, settings=self.settings, solver=spec.default_solver,
            steps=spec.default_steps, action_range=span.abs().cpu().numpy(), to_actions=self._to_actions)
        self.spec.extra["precision"] = self.acceleration.describe()

    def _to_actions(self, x: torch.Tensor) -> np.ndarray:
        return self.normalizer.unnormalize_action(x.float()).cpu().numpy()

    @torch.no_grad()
    def global_condition(self, obs) -> torch.Tensor:
        """Observation history (module doc) -> normalised global condition [1, global_cond_dim]."""
        checked = check_observation(self.spec, obs)
        config, norm = self.config, self.normalizer

        def vector(name: str) -> torch.Tensor:
            value = torch.from_numpy(np.ascontiguousarray(checked[name], dtype=np.float32)).to(self.device)
            return norm.normalize(name, value)[None]                     # [1, To, d]

        state = vector(config.robot_state_feature.name)
        env = vector(config.env_state_feature.name) if config.env_state_feature is not None else None
        images = None
        if config.image_features:
            per_camera = []
            for feature in config.image_features:
                pixels = torch.from_numpy(np.ascontiguousarray(checked[feature.name])).to(self.device)
                pixels = pixels.permute(0, 3, 1, 2).to(torch.float32) / 255.0   # [To, 3, H, W] in [0, 1]
                per_camera.append(norm.normalize(feature.name, pixels))
            images = torch.stack(per_camera, dim=1)[None]                # [1, To, n_cameras, 3, H, W]
        return self.model.diffusion.global_condition(state, images, env)

    def plan_frames(self, observations, num_samples: int, *, seeds, solver: str | None = None,
                    steps: int | None = None, temperature: float = 1.0, initial_noise=None) -> list[PlanBatch]:
        """N plans for each of F observations in one sampler call (planners/frame_batch.py): one
        PlanBatch per observation, equal to plan(obs_f, N, seed=seeds[f], initial_noise=
        initial_noise[f]) up to float rounding; initial_noise [F, N, H, D] or None."""
        from planners.frame_batch import sample_frames
        conds = [self.global_condition(obs) for obs in observations]
        batches = sample_frames(
            lambda rows, b: self.acceleration.model_fn(rows, b), conds, self.settings,
            num_samples=num_samples, horizon=self.config.horizon, action_dim=self.config.action_dim,
            seeds=seeds, solver=solver or self.spec.default_solver, steps=steps or self.spec.default_steps,
            to_actions=self._to_actions, temperature=temperature, initial_noise=initial_noise,
            planner_name=self.spec.name, chain_dtype=self.chain_dtype, device=self.device,
            meta={"library": self.spec.library})
        self.spec.extra["precision"] = self.acceleration.describe()
        return batches

    def plan(self, obs, num_samples: int, *, seed: int, solver: str | None = None, steps: int | None = None,
             temperature: float = 1.0, initial_noise=None, step_noise=None,
             on_step: StepCallback | None = None, cancel: CancelCheck | None = None) -> PlanBatch:
        """N plans [N, H, D] in action units with their chain (planners.sampling.sample_chain)."""
        cond = self.global_condition(obs)
        model_fn = self.acceleration.model_fn(cond, num_samples, cancel=cancel)
        self.spec.extra["precision"] = self.acceleration.describe()

        return sample_chain(model_fn, self.settings, num_samples=num_samples, horizon=self.config.horizon,
                            action_dim=self.config.action_dim, seed=seed,
                            solver=solver or self.spec.default_solver, steps=steps or self.spec.default_steps,
                            to_actions=self._to_actions, temperature=temperature, initial_noise=initial_noise,
                            step_noise=step_noise, on_step=on_step, cancel=cancel, planner_name=self.spec.name,
                            chain_dtype=self.chain_dtype, device=self.device,
                            meta={"library": self.spec.library, **model_fn.meta})
