"""The planner boundary (planners.protocol): the spec checked at load, the dict observation with
history first, the one PlanBatch check, and a user's planner failing in one line."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from planners import PlannerError, load_planner
from planners.protocol import (Feature, PlannerSpec, check_compatible, check_observation, check_plan_batch,
                               check_spec, flat_observation, observation_from_frames, run_planner)
from recordings.plan_batch import PlanBatch

SPEC = PlannerSpec(name="p", kind="diffusion", action_dim=4, horizon=16, n_obs_steps=2,
                   features=(Feature("observation.state", (3,), "state"),
                             Feature("observation.environment_state", (2,), "environment"),
                             Feature("observation.images.top", (8, 10, 3), "image")))


def frame(i: float) -> dict:
    return {"observation.state": np.full(3, i), "observation.environment_state": np.full(2, -i),
            "observation.images.top": np.full((8, 10, 3), int(i), np.uint8), "unused": np.zeros(7)}


def batch(n=4, h=16, d=4, s=2, **kw) -> PlanBatch:
    return PlanBatch(plans=np.zeros((n, h, d), np.float32), chain=np.zeros((s + 1, n, h, d), np.float32),
                     x0_estimates=np.zeros((s, n, h, d), np.float32), timesteps=np.arange(s)[::-1].copy(),
                     step_ms=np.ones(s), solver="ddim", seed=0, **kw)


def test_the_spec_derives_its_flat_view_from_features():
    assert SPEC.obs_format == "dict" and not SPEC.older_form
    assert SPEC.obs_dim == 5 and SPEC.obs_keys == (("observation.state", 3), ("observation.environment_state", 2))
    older = PlannerSpec(name="o", kind="plugin", scene="s", obs_dim=4, action_dim=4, horizon=16,
                        obs_keys=[["a", 3], ["b", 1]])
    assert older.older_form and older.obs_keys == (("a", 3), ("b", 1)) and check_spec(older, "x") is older


def test_observation_history_is_built_from_frames_and_checked():
    obs = observation_from_frames(SPEC, [frame(1)])              # start of a rollout: oldest repeated
    assert obs["observation.state"].shape == (2, 3) and obs["observation.state"].dtype == np.float32
    assert obs["observation.images.top"].shape == (2, 8, 10, 3) and obs["observation.images.top"].dtype == np.uint8
    obs = observation_from_frames(SPEC, [frame(1), frame(2), frame(3)])
    assert obs["observation.state"][:, 0].tolist() == [2.0, 3.0]
    checked = check_observation(SPEC, obs)
    assert set(checked) == {f.name for f in SPEC.features}          # extra keys dropped
    # Time-major flat vector (diffusion_policy's global condition): frame 2's features, then frame 3's.
    assert flat_observation(SPEC, obs).tolist() == [2, 2, 2, -2, -2, 3, 3, 3, -3, -3]


@pytest.mark.parametrize("change,message", [
    (lambda o: o.pop("observation.state"), "observation has no state feature 'observation.state'"),
    (lambda o: o.update({"observation.state": np.zeros(3)}),
     "observation 'observation.state' has shape [3], expected [To=2, 3] (history first)"),
    (lambda o: o.update({"observation.images.top": np.zeros((2, 8, 10, 3))}),
     "observation 'observation.images.top' has dtype float64, expected uint8 RGB"),
    (lambda o: o.update({"observation.state": np.full((2, 3), np.nan)}),
     "observation 'observation.state' holds NaN or inf values"),
])
def test_bad_observations_are_one_line(change, message):
    obs = observation_from_frames(SPEC, [frame(1), frame(2)])
    change(obs)
    with pytest.raises(PlannerError) as err:
        check_observation(SPEC, obs)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("field,value,message", [
    ("kind", "gmm", "PlannerSpec.kind must be one of diffusion, regression, probe, plugin, got 'gmm'"),
    ("obs_keys", ("ee_pos", "gripper"), "PlannerSpec.obs_keys must be (name, size) pairs such as ('ee_pos', 3), got 'ee_pos'"),
    ("horizon", 0, "PlannerSpec.horizon must be an integer >= 1, got 0"),
    ("action_dim", "4", "PlannerSpec.action_dim must be an integer >= 1, got '4'"),
    ("name", 3, "PlannerSpec.name must be a string, got 3"),
    ("extra", None, "PlannerSpec.extra must be a dict, got None"),
    ("features", (Feature("cam", (3, 96, 96), "image"),), "features['cam'].shape must be (H, W, 3) for an image"),
    ("features", (Feature("s", (3,), "proprio"),), "features['s'].kind must be one of state, environment, image"),
    ("n_action_steps", 20, "PlannerSpec.n_action_steps must be at most horizon=16, got 20"),
    ("action_start", -1, "PlannerSpec.action_start must be an integer >= 0, got -1"),
    ("action_start", 16, "PlannerSpec.action_start must be such that action_start + n_action_steps <= horizon=16"),
])
def test_spec_fields_are_checked_at_load_naming_the_field(field, value, message):
    kwargs = dict(name="x", kind="plugin", scene="", obs_dim=4, action_dim=4, horizon=16)
    kwargs[field] = value
    if field == "obs_keys":
        kwargs["obs_dim"] = 4
    with pytest.raises(PlannerError) as err:
        check_spec(PlannerSpec(**kwargs), "mod:attr")
    assert str(err.value).startswith("policy 'mod:attr': ") and message in str(err.value)


@pytest.mark.parametrize("returned,message", [
    (np.zeros((4, 16, 4)), "planner 'p' returned a ndarray, not a PlanBatch"),
    (batch(n=3), "planner 'p' returned 3 plans, 4 were asked for"),
    (batch(h=8), "planner 'p' returned plans [4, 8, 4] with horizon 8, its spec says 16"),
    (batch(d=3), "planner 'p' returned plans [4, 16, 3] with action size 3, its spec says 4"),
])
def test_the_batch_check_refuses_in_one_line(returned, message):
    with pytest.raises(PlannerError) as err:
        check_plan_batch(returned, SPEC, 4)
    assert str(err.value) == message or message in str(err.value)
    assert "\n" not in str(err.value)


def test_the_batch_check_refuses_ranks_dtypes_and_mangled_chains():
    b = batch()
    b.plans = np.zeros((4, 64), np.float32)
    with pytest.raises(PlannerError, match=r"plans of shape \[4, 64\] \(rank 2\), expected \[N, H, D\] = \[4, 16, 4\]"):
        check_plan_batch(b, SPEC, 4)
    b = batch()
    b.plans = np.zeros((4, 16, 4), np.int64)
    with pytest.raises(PlannerError, match="plans of dtype int64"):
        check_plan_batch(b, SPEC, 4)
    b = batch()
    b.chain = b.chain[:2]
    with pytest.raises(PlannerError, match=r"chain of shape \[2, 4, 16, 4\], expected \[S\+1, N, H, D\] = \[3, 4, 16, 4\]"):
        check_plan_batch(b, SPEC, 4)
    b = batch()
    b.timesteps = np.arange(5)
    with pytest.raises(PlannerError, match=r"timesteps of shape \[5\], expected \[S\] = \[2\]"):
        check_plan_batch(b, SPEC, 4)


def test_the_batch_check_flags_nonfinite_and_casts_to_float32():
    b = batch(meta={"nonfinite_count": 0})
    b.plans = np.zeros((4, 16, 4), np.float64)
    b.plans[1, 3, 2] = np.nan
    checked = check_plan_batch(b, SPEC, 4)
    assert checked.plans.dtype == np.float32 and checked.meta["nonfinite_count"] == 1
    assert checked.nonfinite_samples.tolist() == [False, True, False, False]
    assert check_plan_batch(PlanBatch.without_chain(np.zeros((4, 16, 4)), solver="x", seed=0), SPEC, 4).num_steps == 0


class Scripted:
    """A user's planner (this protocol) doing whatever `behaviour` says."""

    def __init__(self, behaviour):
        self.spec = PlannerSpec(name="scripted", kind="plugin", action_dim=4, horizon=16,
                                features=(Feature("ee_pos", (3,)), Feature("gripper", (1,))))
        self.behaviour = behaviour
        self.seen = None

    def plan(self, obs, num_samples, *, seed, solver="x", steps=0, temperature=1.0, initial_noise=None,
             step_noise=None, on_step=None, cancel=None):
        self.seen = obs
        return self.behaviour(num_samples, on_step)


def test_an_exception_inside_a_planner_is_one_line_naming_it():
    with pytest.raises(PlannerError) as err:
        run_planner(Scripted(lambda n, cb: 1 / 0), None, 4, seed=0)
    assert str(err.value) == "planner 'scripted' failed: ZeroDivisionError: division by zero"
    with pytest.raises(PlannerError, match="planner 'scripted' returned 3 plans, 64 were asked for"):
        run_planner(Scripted(lambda n, cb: batch(n=3)), None, 64, seed=0)


def test_partial_batches_are_checked_and_the_callers_own_errors_pass_through():
    def streams_bad_partial(n, on_step):
        on_step(1, 2, batch(n=n, h=8))
        return batch(n=n)
    with pytest.raises(PlannerError, match="horizon 8"):
        run_planner(Scripted(streams_bad_partial), None, 4, seed=0, on_step=lambda *a: None)

    def streams(n, on_step):
        on_step(1, 2, batch(n=n))
        return batch(n=n)

    class Mine(Exception):
        pass

    def raise_mine(*_):
        raise Mine("the GUI's own bug")
    with pytest.raises(Mine):
        run_planner(Scripted(streams), None, 4, seed=0, on_step=raise_mine)


def test_a_flat_vector_reaches_a_dict_planner_as_its_features():
    planner = Scripted(lambda n, cb: batch(n=n))
    run_planner(planner, np.array([1, 2, 3, 0.5], np.float32), 4, seed=0)
    assert {k: v.tolist() for k, v in planner.seen.items()} == {"ee_pos": [[1, 2, 3]], "gripper": [[0.5]]}
    with pytest.raises(PlannerError, match="expects observations of size 4, got 5"):
        run_planner(planner, np.zeros(5), 4, seed=0)


def test_check_compatible_names_both_sides_for_features():
    with pytest.raises(PlannerError) as err:
        check_compatible(SPEC, "mug_grasp", (("ee_pos", 3), ("gripper", 1)))
    assert str(err.value) == ("policy 'p' needs state feature 'observation.state' [3]; scene 'mug_grasp' "
                              "provides ee_pos[3], gripper[1]")
    check_compatible(SPEC, "s", (("observation.state", 3), ("observation.environment_state", 2)), cameras=("observation.images.top",))


def test_load_refuses_a_plugin_whose_spec_breaks_the_types(monkeypatch):
    class StringKeys:
        spec = PlannerSpec(name="sk", kind="plugin", scene="", obs_dim=4, action_dim=4, horizon=16,
                           obs_keys=("ee_pos", "gripper"))

        def plan(self, obs, num_samples, *, seed, **kw):
            raise AssertionError("never called")

    class SpecIsADict:
        spec = {"name": "d"}
        plan = StringKeys.plan

    module = types.ModuleType("broken_specs")
    module.StringKeys, module.SpecIsADict = StringKeys, SpecIsADict
    monkeypatch.setitem(sys.modules, "broken_specs", module)
    with pytest.raises(PlannerError, match=r"policy 'broken_specs:StringKeys': PlannerSpec.obs_keys must be \(name, size\) pairs"):
        load_planner("broken_specs:StringKeys")
    with pytest.raises(PlannerError, match="spec is a dict, not a planners.protocol.PlannerSpec"):
        load_planner("broken_specs:SpecIsADict")
