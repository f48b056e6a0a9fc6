"""Tiny policies trained in seconds on the constructed bimodal detours (tests/planners/synthetic.py)
and that data written as a planscope recording: session fixtures defined ONCE here and registered
by tests/conftest.py only, so a full run trains each policy once (importing a fixture into a second
conftest or test module makes a second definition, which pytest caches and trains separately)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.planners import synthetic

TINY_UNET = {"down_dims": (16, 32), "default_steps": 10}
# Epochs: the fewest at which every user's ground truth still holds (both sides kept and the
# one-side policy collapsed in the scan and the dataset inspector, 50/50 shares within the
# tests' intervals, regression averaging): 12 / 6 / 30, was 30 / 12 / 60 — the three trainings
# take 22-26 s instead of 51-53 s (interleaved, one thread, load ~12).
RECORDED_EPISODES = 12


def _train(out, kind: str, left_share: float, epochs: int, overrides=None):
    from planners.train import train_policy
    from planners.training import TrainingConfig

    data = synthetic.make_data(episodes=40, left_share=left_share, seed=0)
    # One thread: the test machine is shared, and spinning OpenMP threads under load cost 10x.
    config = TrainingConfig(kind=kind, epochs=epochs, seed=0, lr=3e-3, batch_size=64, num_threads=1)
    return train_policy(data, out, config, model_overrides=overrides, quiet=True, command="pytest")


@pytest.fixture(scope="session")
def bimodal_ckpt(tmp_path_factory):
    """Diffusion policy trained on 50/50 left/right demos."""
    return _train(tmp_path_factory.mktemp("ckpt") / "bimodal", "diffusion", 0.5, 12, TINY_UNET)


@pytest.fixture(scope="session")
def one_mode_ckpt(tmp_path_factory):
    """Diffusion policy trained on left demos only."""
    return _train(tmp_path_factory.mktemp("ckpt") / "left_only", "diffusion", 1.0, 6, TINY_UNET)


@pytest.fixture(scope="session")
def regression_ckpt(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("ckpt") / "regression", "regression", 0.5, 30,
                  {"hidden": (64, 64)})


@pytest.fixture(scope="session")
def bimodal_planner(bimodal_ckpt):
    from planners import load_planner
    return load_planner(bimodal_ckpt)


def write_bimodal_recording(path, episodes: int = RECORDED_EPISODES, seed: int = 1) -> str:
    """The bimodal detours as a planscope recording (at each episode's start the state does not
    tell the side); episodes alternate left, right."""
    from recordings.header import write_recording
    from recordings.rollout import Rollout

    rng = np.random.default_rng(seed)
    rollouts = []
    for i in range(episodes):
        side = 1 if i % 2 == 0 else -1
        obstacle = np.array([0.5, 0.0]) + rng.normal(0, 0.01, 2)
        obs, actions = synthetic.episode(side, obstacle, rng)
        t = len(actions)
        rollouts.append(Rollout(obs={"ee_pos": obs[:, :3], "obstacle": obs[:, 3:]},
                                actions=actions, states=np.zeros((t, 1)),
                                rewards=np.zeros(t), dones=np.arange(t) == t - 1, seed=i,
                                success=True, mode="left" if side > 0 else "right"))
    env = {"env_name": "synthetic_bimodal", "type": "planscope",
           "obs_spec": [list(k) for k in synthetic.OBS_SPEC]}
    write_recording(path, rollouts, env_args=env, kind="demos")
    return str(path)


@pytest.fixture(scope="session")
def bimodal_h5(tmp_path_factory):
    return write_bimodal_recording(tmp_path_factory.mktemp("scan_data") / "bimodal.h5")
