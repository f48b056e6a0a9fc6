"""A bimodal data set written as a planscope recording (the constructed left/right detours of
tests/planners/synthetic.py: at each episode's start the state does not tell the side) and tiny
policies trained on the same construction in seconds (tests/planners/conftest.py)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.planners import synthetic
from tests.planners.conftest import (_train, bimodal_ckpt, one_mode_ckpt,  # noqa: F401
                                     regression_ckpt)

EPISODES = 12


def write_bimodal_recording(path, episodes: int = EPISODES, seed: int = 1) -> str:
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
