"""A user's own policy as a planscope plugin: a Gaussian-mixture sampler over action chunks.

This is NOT part of planners/: it shows that anything with `spec` and `plan(...)` is a planner.
Load it with

    planscope sample --policy examples.gmm_policy:make_planner --scene mug_grasp --seed 0 --num 64

(run from the project root, or put the module on PYTHONPATH). The mixture is fitted with
scikit-learn on plans relative to the current end-effector position; by default it is fitted on
a few constructed left/right chunks for mug_grasp, so it runs without any training data.
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.mixture import GaussianMixture

from planners.protocol import PlannerSpec
from recordings.plan_batch import PlanBatch

H, D = 16, 4
MUG_OBS_SPEC = (("ee_pos", 3), ("gripper", 1), ("mug_pos", 3), ("mug_yaw", 2))


class GMMPlanner:
    """Samples plans [N, H, D] from a GaussianMixture over flattened chunks expressed relative to
    a reference point of the observation (obs[ref_slice], e.g. the mug position), so one fitted
    mixture serves every object position. It has no denoising chain (S = 0)."""

    def __init__(self, mixture: GaussianMixture, spec: PlannerSpec, ref_slice: slice) -> None:
        self.mixture = mixture
        self.spec = spec
        self.ref_slice = ref_slice

    def plan(self, obs, num_samples, *, seed, solver="gmm", steps=0, temperature=1.0, on_step=None,
             cancel=None, **_):
        start = time.perf_counter()
        rng = np.random.default_rng(seed)
        comp = rng.choice(len(self.mixture.weights_), size=num_samples, p=self.mixture.weights_)
        means = self.mixture.means_[comp]
        chol = np.linalg.cholesky(self.mixture.covariances_[comp])
        z = rng.standard_normal(means.shape) * temperature
        flat = means + np.einsum("nij,nj->ni", chol, z)
        plans = flat.reshape(num_samples, H, D)
        ref = np.asarray(obs, dtype=np.float64)[self.ref_slice]
        plans[..., :3] += ref
        return PlanBatch.without_chain(plans, solver="gmm", seed=seed, planner=self.spec.name,
                                       wall_ms=(time.perf_counter() - start) * 1000.0,
                                       meta={"components": comp})


def mug_grasp_chunks(n_per_mode: int = 40, seed: int = 0) -> np.ndarray:
    """Constructed chunks [2n, H, D] relative to the mug base: from 30 cm above it, down onto
    the rim wall 3.7 cm to its left (+y) or right (-y), gripper at 60 % while approaching."""
    rng = np.random.default_rng(seed)
    s = np.linspace(0.0, 1.0, H)[:, None]
    start = np.array([-0.05, 0.0, 0.30])
    chunks = []
    for side in (1.0, -1.0):
        goal = np.array([0.0, side * 0.037, 0.075])
        for _ in range(n_per_mode):
            xyz = start + (goal + rng.normal(0, 0.003, 3) - start) * (10 * s**3 - 15 * s**4 + 6 * s**5)
            chunks.append(np.column_stack([xyz, np.full(H, 0.6)]))
    return np.stack(chunks)


def make_planner(chunks: np.ndarray | None = None, seed: int = 0) -> GMMPlanner:
    """Fit a 2-component mixture (diagonal-regularised full covariance) and wrap it."""
    chunks = mug_grasp_chunks(seed=seed) if chunks is None else np.asarray(chunks, dtype=np.float64)
    mixture = GaussianMixture(n_components=2, covariance_type="full", reg_covar=1e-6, random_state=seed)
    mixture.fit(chunks.reshape(len(chunks), -1))
    spec = PlannerSpec(name="gmm_example", kind="plugin", scene="mug_grasp",
                       obs_dim=sum(s for _, s in MUG_OBS_SPEC), action_dim=D, horizon=H,
                       obs_keys=MUG_OBS_SPEC, default_solver="gmm", default_steps=0)
    return GMMPlanner(mixture, spec, ref_slice=slice(4, 7))   # mug_pos in the mug_grasp flat obs
