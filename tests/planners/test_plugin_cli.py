"""A user's planner that breaks the protocol, through `planscope sample`: one line on stderr,
exit code 2, no traceback (issue 18's plugin rows); a new-form plugin with the chain samples."""
from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

from app.cli import main
from planners.protocol import PlannerSpec
from recordings.plan_batch import PlanBatch

pytest.importorskip("pybullet")

MUG_KEYS = (("ee_pos", 3), ("gripper", 1), ("mug_pos", 3), ("mug_yaw", 2))


class Broken:
    spec = PlannerSpec(name="broken", kind="plugin", scene="mug_grasp", obs_dim=9, action_dim=4, horizon=16,
                       obs_keys=MUG_KEYS)

    def __init__(self, returns):
        self.returns = returns

    def plan(self, obs, num_samples, *, seed, **kw):
        assert np.asarray(obs).shape == (9,)          # the older form gets its flat vector
        return self.returns(num_samples)


@pytest.fixture
def broken_module(monkeypatch):
    module = types.ModuleType("broken_cli_policies")
    module.raises = lambda: Broken(lambda n: 1 / 0)
    module.three = lambda: Broken(lambda n: PlanBatch.without_chain(np.zeros((3, 16, 4)), solver="x", seed=0))
    module.short = lambda: Broken(lambda n: PlanBatch.without_chain(np.zeros((n, 8, 4)), solver="x", seed=0))
    module.bare = lambda: Broken(lambda n: np.zeros((n, 16, 4)))
    monkeypatch.setitem(sys.modules, "broken_cli_policies", module)


@pytest.mark.parametrize("attr,message", [
    ("raises", "planner 'broken' failed: ZeroDivisionError: division by zero"),
    ("three", "planner 'broken' returned 3 plans, 64 were asked for"),
    ("short", "planner 'broken' returned plans [64, 8, 4] with horizon 8, its spec says 16"),
    ("bare", "planner 'broken' returned a ndarray, not a PlanBatch"),
])
def test_sample_refuses_a_broken_plugin_in_one_line(broken_module, capsys, attr, message):
    rc = main(["sample", "--policy", f"broken_cli_policies:{attr}", "--scene", "mug_grasp", "--seed", "0",
               "--num", "64"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and message in err and "\n" not in err and "Traceback" not in err


def test_sample_a_new_form_plugin_with_its_chain(capsys):
    rc = main(["sample", "--policy", "examples.mixture_diffusion_policy:make_planner", "--scene", "mug_grasp",
               "--seed", "2", "--num", "64", "--solver", "ddim", "--steps", "12", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 12 and summary["solver"] == "ddim"
    assert summary["label_shares"].get("left", 0) > 0.2 and summary["label_shares"].get("right", 0) > 0.2
