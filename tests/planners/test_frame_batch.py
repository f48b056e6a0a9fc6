"""plan_frames: F observations x N plans in one sampler call give each observation the plans an
unbatched plan() gives it with the same seed and noise (planners/frame_batch.py)."""
from __future__ import annotations

import numpy as np
import pytest

from planners.protocol import PlannerError


def _observations(planner, count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    spec = planner.spec
    return [{f.name: rng.uniform(-0.2, 0.8, (spec.n_obs_steps, f.size)).astype(np.float32)
             for f in spec.features} for _ in range(count)]


@pytest.mark.parametrize("solver", ["ddim", "ddpm", "dpmpp"])
@pytest.mark.parametrize("given_noise", [True, False])
def test_each_frame_gets_its_unbatched_plans(bimodal_planner, solver, given_noise):
    planner, n = bimodal_planner, 6
    spec = planner.spec
    obs = _observations(planner, 3)
    seeds = [11, 12, 13]
    noise = np.random.default_rng(1).standard_normal(
        (3, n, spec.horizon, spec.action_dim)).astype(np.float32) if given_noise else None
    batches = planner.plan_frames(obs, n, seeds=seeds, solver=solver, steps=5,
                                  initial_noise=noise)
    assert len(batches) == 3
    for f, batch in enumerate(batches):
        alone = planner.plan(obs[f], n, seed=seeds[f], solver=solver, steps=5,
                             initial_noise=None if noise is None else noise[f])
        assert batch.plans.shape == (n, spec.horizon, spec.action_dim) and batch.seed == seeds[f]
        assert batch.chain.shape == alone.chain.shape and batch.meta["frames_batched"] == 3
        np.testing.assert_allclose(batch.plans, alone.plans, atol=1e-5)
        np.testing.assert_allclose(batch.chain, alone.chain, atol=1e-5)
        np.testing.assert_array_equal(batch.initial_noise, alone.initial_noise)
        np.testing.assert_array_equal(batch.step_noise, alone.step_noise)   # DDPM: K draws
    # the frames differ (their own conditions and noise): not one batch copied three times
    assert not np.allclose(batches[0].plans, batches[1].plans)


def test_noise_of_the_wrong_shape_is_one_line(bimodal_planner):
    obs = _observations(bimodal_planner, 2)
    with pytest.raises(PlannerError, match=r"initial_noise has shape \[1, 4, 16, 4\].*frames, N"):
        bimodal_planner.plan_frames(obs, 4, seeds=[0, 1], steps=3,
                                    initial_noise=np.zeros((1, 4, 16, 4), np.float32))
    with pytest.raises(PlannerError, match="one seed per frame"):
        bimodal_planner.plan_frames(obs, 4, seeds=[0], steps=3)


FIXTURES = "tests/planners"


@pytest.mark.parametrize("ref", ["lerobot/fixtures/lowdim_044_ddpm",
                                 "diffusion_policy/fixtures/lowdim_global_ddpm.ckpt"])
def test_adapters_batch_frames_as_they_plan_one(ref):
    """LeRobot's and diffusion_policy's global-condition policies (checkpoints their libraries
    wrote) batch frames too, each frame with its own DDPM step noise."""
    from planners.loading import load_planner
    planner = load_planner(f"{FIXTURES}/{ref}")
    obs = _observations(planner, 2, seed=3)
    batches = planner.plan_frames(obs, 4, seeds=[5, 6], steps=4)
    for f, batch in enumerate(batches):
        alone = planner.plan(obs[f], 4, seed=[5, 6][f], steps=4)
        np.testing.assert_allclose(batch.plans, alone.plans, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(batch.step_noise, alone.step_noise)
