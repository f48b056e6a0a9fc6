"""`module:attr` plugins: the example Gaussian-mixture policy, and clear errors for bad ones."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from planners import PlannerError, PlannerSpec, check_compatible, load_planner
from planners.modes import analyze_modes

MUG_OBS = np.array([0.45, 0.0, 0.30, 1.0, 0.52, 0.03, 0.0, 0.0, -1.0], dtype=np.float32)


def test_example_gmm_plugin_loads_and_samples_both_modes():
    planner = load_planner("examples.gmm_policy:make_planner")
    assert planner.spec.kind == "plugin" and planner.spec.obs_dim == 9
    check_compatible(planner.spec, "mug_grasp", (("ee_pos", 3), ("gripper", 1), ("mug_pos", 3), ("mug_yaw", 2)))
    batch = planner.plan(MUG_OBS, 200, seed=1)
    assert batch.plans.shape == (200, 16, 4) and not batch.has_chain
    again = planner.plan(MUG_OBS, 200, seed=1)
    assert np.array_equal(batch.plans, again.plans)
    # Final y relative to the mug: two groups at +-3.7 cm.
    y = batch.plans[:, -1, 1] - MUG_OBS[5]
    assert 0.3 < np.mean(y > 0) < 0.7 and np.all(np.abs(np.abs(y) - 0.037) < 0.02)
    assert analyze_modes(batch.plans).num_clusters == 2


def test_plugin_object_class_or_factory(monkeypatch):
    spec = PlannerSpec(name="const", kind="plugin", scene="", obs_dim=2, action_dim=4, horizon=16)

    class Const:
        def __init__(self):
            self.spec = spec

        def plan(self, obs, num_samples, *, seed, **kw):
            from recordings.plan_batch import PlanBatch
            return PlanBatch.without_chain(np.zeros((num_samples, 16, 4)), solver="none", seed=seed)

    module = types.ModuleType("my_policies")
    module.Const = Const
    module.instance = Const()
    module.not_a_planner = object()
    module.broken = lambda: 1 / 0
    monkeypatch.setitem(sys.modules, "my_policies", module)
    assert load_planner("my_policies:Const").spec is spec
    assert load_planner("my_policies:instance").plan(None, 3, seed=0).plans.shape == (3, 16, 4)
    with pytest.raises(PlannerError, match="no plan"):
        load_planner("my_policies:not_a_planner")
    with pytest.raises(PlannerError, match="ZeroDivisionError"):
        load_planner("my_policies:broken")
    with pytest.raises(PlannerError, match="no attribute"):
        load_planner("my_policies:missing")
    with pytest.raises(PlannerError, match="cannot import"):
        load_planner("no_such_module_xyz:thing")


def test_check_compatible_names_expected_and_found():
    planner = load_planner("examples.gmm_policy:make_planner")
    with pytest.raises(PlannerError, match="expects observations of size 9.*gives 5"):
        check_compatible(planner.spec, "mug_grasp", (("a", 5),))
