"""RegressionPlanner: the MSE baseline behind the Planner protocol.

It is deterministic: every one of the N samples is the same plan (the conditional mean), and
the batch has an empty chain (S = 0). solver/steps/temperature are accepted and ignored."""
from __future__ import annotations

import time

import numpy as np
import torch

from planners.diffusion.policy import resolve_device
from planners.normalizer import MinMaxNormalizer
from planners.protocol import CancelCheck, PlannerError, PlannerSpec, StepCallback, flat_observation, state_features
from planners.regression.config import RegressionConfig
from planners.regression.model import RegressionMLP
from recordings.plan_batch import PlanBatch


class RegressionPlanner:
    def __init__(self, config: RegressionConfig, model: RegressionMLP, obs_normalizer: MinMaxNormalizer,
                 action_normalizer: MinMaxNormalizer, *, name: str = "regression", device: str = "cpu",
                 extra: dict | None = None) -> None:
        self.config = config
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.obs_normalizer = obs_normalizer
        self.action_normalizer = action_normalizer
        self.spec = PlannerSpec(name=name, kind="regression", scene=config.scene, obs_dim=config.obs_dim,
                                action_dim=config.action_dim, horizon=config.horizon,
                                obs_keys=config.obs_spec, features=state_features(config.obs_spec),
                                n_obs_steps=1, default_solver="none", default_steps=0,
                                num_parameters=int(sum(p.numel() for p in model.parameters())), library="planscope",
                                extra=dict(extra or {}))

    def plan(self, obs, num_samples: int, *, seed: int, solver: str | None = None,
             steps: int | None = None, temperature: float = 1.0, initial_noise=None, step_noise=None,
             on_step: StepCallback | None = None, cancel: CancelCheck | None = None, **_: object) -> PlanBatch:
        """N copies of the predicted chunk [N, H, D] (action units), chain empty. obs: the dict
        observation {key: [1, size]} or the flat vector [obs_dim]. It draws no noise, so
        initial_noise / step_noise are accepted and have nothing to replay; on_step is never called."""
        start = time.perf_counter()
        flat = flat_observation(self.spec, obs)
        if not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
            raise PlannerError(f"num_samples must be a positive integer, got {num_samples!r}")
        with torch.inference_mode():
            x = torch.from_numpy(self.obs_normalizer.normalize(flat)).to(self.device)[None]
            chunk = self.model(x)[0].float().cpu().numpy()
        plan = self.action_normalizer.unnormalize(chunk)
        plans = np.repeat(plan[None], int(num_samples), axis=0).astype(np.float32)
        wall = (time.perf_counter() - start) * 1000.0
        nonfinite = int(plans.size - np.count_nonzero(np.isfinite(plans)))
        return PlanBatch.without_chain(plans, solver="none", seed=int(seed), planner=self.spec.name,
                                       wall_ms=wall, temperature=float(temperature),
                                       meta={"nonfinite_count": nonfinite, "device": str(self.device)})
