"""Small policies trained in seconds on the constructed bimodal data (tests/planners/synthetic.py),
shared by every planner test in the session."""
from __future__ import annotations

import pytest

from tests.planners import synthetic

TINY_UNET = {"down_dims": (16, 32), "default_steps": 10}


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
    return _train(tmp_path_factory.mktemp("ckpt") / "bimodal", "diffusion", 0.5, 30, TINY_UNET)


@pytest.fixture(scope="session")
def one_mode_ckpt(tmp_path_factory):
    """Diffusion policy trained on left demos only."""
    return _train(tmp_path_factory.mktemp("ckpt") / "left_only", "diffusion", 1.0, 12, TINY_UNET)


@pytest.fixture(scope="session")
def regression_ckpt(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("ckpt") / "regression", "regression", 0.5, 60,
                  {"hidden": (64, 64)})


@pytest.fixture(scope="session")
def bimodal_planner(bimodal_ckpt):
    from planners import load_planner
    return load_planner(bimodal_ckpt)
