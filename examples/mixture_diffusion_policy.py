"""A user's own diffusion planner in this protocol, with the whole chain: the exact denoiser of a
Gaussian-mixture data distribution, sampled by planscope's shared sampler.

    planscope sample --policy examples.mixture_diffusion_policy:make_planner --scene mug_grasp \\
        --seed 0 --num 64 --solver ddpm --steps 50

It shows what a plugin needs to get every chain view, the three solvers and exact replay:
a `spec` listing its features (this protocol's dict observation, history first), and a `plan`
that hands its model to `planners.sampling.sample_chain` and passes `initial_noise`,
`step_noise`, `on_step` and `cancel` through. No training: for data that is a mixture of
isotropic Gaussians N(mu_k, s_k^2 I) (in the normalised space) the best x0-estimate is known in
closed form, so the chain is the one an ideally trained policy would produce. The mixture is
fitted to constructed mug_grasp chunks (examples/gmm_policy.py), relative to the mug.
"""
from __future__ import annotations

import numpy as np
import torch

from examples.gmm_policy import D, H, mug_grasp_chunks
from planners.normalizer import MinMaxNormalizer
from planners.protocol import Feature, PlannerSpec
from planners.sampling import SchedulerSettings, make_scheduler, sample_chain
from recordings.plan_batch import PlanBatch


class MixtureDiffusionPlanner:
    """plan(obs) with obs = {"ee_pos": [1, 3], "mug_pos": [1, 3]} -> PlanBatch with the chain
    [S+1, N, 16, 4] in world units (the mixture lives relative to the mug position)."""

    def __init__(self, means: np.ndarray, stds: np.ndarray, weights: np.ndarray,
                 normalizer: MinMaxNormalizer, settings: SchedulerSettings) -> None:
        self.means = torch.as_tensor(means, dtype=torch.float32)        # [K, H*D] normalised
        self.variances = torch.as_tensor(stds, dtype=torch.float32) ** 2   # [K]
        self.log_weights = torch.log(torch.as_tensor(weights, dtype=torch.float32))
        self.normalizer = normalizer
        self.settings = settings
        self.alphas_cumprod = make_scheduler(settings, "ddpm").alphas_cumprod
        self.spec = PlannerSpec(name="mixture_diffusion_example", kind="diffusion", scene="mug_grasp",
                                action_dim=D, horizon=H, n_obs_steps=1,
                                features=(Feature("ee_pos", (3,), "state"), Feature("mug_pos", (3,), "environment")),
                                default_solver="ddim", default_steps=16, control_solver="ddpm",
                                control_steps=settings.num_train_timesteps, library="example",
                                extra={"modes": int(len(weights))})

    def denoise(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """E[x0 | x_t] for the mixture: x [N, H, D] normalised, t 0-d -> [N, H, D]."""
        abar = self.alphas_cumprod[int(t)]
        a, b2 = abar.sqrt(), 1.0 - abar
        flat = x.reshape(len(x), -1)                                     # [N, H*D]
        var = a * a * self.variances + b2                                # [K] variance of x_t per mode
        sq = torch.cdist(flat, a * self.means) ** 2                      # [N, K]
        logp = self.log_weights - 0.5 * sq / var - 0.5 * flat.shape[1] * torch.log(var)
        resp = torch.softmax(logp, dim=1)                                # [N, K]
        gain = a * self.variances / var                                  # [K]
        per_mode = self.means[None] + gain[None, :, None] * (flat[:, None] - a * self.means[None])
        return (resp[..., None] * per_mode).sum(dim=1).reshape(x.shape)

    def plan(self, obs, num_samples, *, seed, solver=None, steps=None, temperature=1.0,
             initial_noise=None, step_noise=None, on_step=None, cancel=None) -> PlanBatch:
        mug = np.asarray(obs["mug_pos"], dtype=np.float32)[-1]          # the last frame, [3]
        offset = np.concatenate([mug, [0.0]]).astype(np.float32)

        def to_actions(x: torch.Tensor) -> np.ndarray:
            return self.normalizer.unnormalize(x.detach().float().cpu().numpy()) + offset

        return sample_chain(self.denoise, self.settings, num_samples=num_samples, horizon=H, action_dim=D,
                            seed=seed, solver=solver or self.spec.default_solver,
                            steps=int(steps or self.spec.default_steps), temperature=temperature,
                            initial_noise=initial_noise, step_noise=step_noise, to_actions=to_actions,
                            on_step=on_step, cancel=cancel, planner_name=self.spec.name)


def make_planner(chunks: np.ndarray | None = None, seed: int = 0) -> MixtureDiffusionPlanner:
    """Fit one isotropic Gaussian per mode (left / right of the mug) to chunks [M, H, D] relative
    to the mug; the modes are told apart by the sign of the final y."""
    chunks = mug_grasp_chunks(seed=seed) if chunks is None else np.asarray(chunks, dtype=np.float64)
    normalizer = MinMaxNormalizer.fit(chunks)
    data = normalizer.normalize(chunks.astype(np.float32)).reshape(len(chunks), -1)
    groups = [data[chunks[:, -1, 1] > 0], data[chunks[:, -1, 1] <= 0]]
    groups = [g for g in groups if len(g)]
    means = np.stack([g.mean(axis=0) for g in groups])
    stds = np.array([max(float(g.std(axis=0).mean()), 1e-3) for g in groups])
    weights = np.array([len(g) for g in groups], dtype=np.float64) / len(data)
    return MixtureDiffusionPlanner(means, stds, weights, normalizer,
                                   SchedulerSettings(num_train_timesteps=100, prediction_type="sample"))
