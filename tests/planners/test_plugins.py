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


MUG_FRAME = {"ee_pos": MUG_OBS[:3], "gripper": MUG_OBS[3:4], "mug_pos": MUG_OBS[4:7], "mug_yaw": MUG_OBS[7:]}


def test_older_form_plugin_gets_its_flat_vector_from_the_dict_observation():
    """examples/gmm_policy.py is written for the older protocol (flat vector, obs_keys): it works
    unchanged with the dict observation, history first, keys in any order."""
    from planners.protocol import observation_from_frames

    planner = load_planner("examples.gmm_policy:make_planner")
    assert planner.spec.older_form and planner.mixture is planner.inner.mixture
    shuffled = dict(reversed(list(MUG_FRAME.items())))
    obs = observation_from_frames(planner.spec, [shuffled])
    assert obs["ee_pos"].shape == (1, 3)
    from_dict = planner.plan(obs, 50, seed=3)
    from_flat = planner.plan(MUG_OBS, 50, seed=3)
    assert np.array_equal(from_dict.plans, from_flat.plans)
    with pytest.raises(PlannerError, match="cannot replay given noise: its plan\\(\\) has no initial_noise"):
        planner.plan(obs, 4, seed=0, initial_noise=np.zeros((4, 16, 4)))


def test_older_form_plugin_without_obs_keys_takes_the_scene_order(monkeypatch):
    seen = []

    class Echo:
        spec = PlannerSpec(name="echo", kind="plugin", scene="", obs_dim=4, action_dim=4, horizon=16)

        def plan(self, obs, num_samples, *, seed, **kw):
            seen.append(np.asarray(obs))
            from recordings.plan_batch import PlanBatch
            return PlanBatch.without_chain(np.zeros((num_samples, 16, 4)), solver="none", seed=seed)

    module = types.ModuleType("echo_policy")
    module.Echo = Echo
    monkeypatch.setitem(sys.modules, "echo_policy", module)
    planner = load_planner("echo_policy:Echo")
    image = np.zeros((1, 4, 4, 3), np.uint8)
    planner.plan({"a": np.array([[1.0, 2.0, 3.0]]), "image": image, "b": np.array([[4.0]])}, 2, seed=0)
    assert seen[-1].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_a_plugin_that_breaks_the_protocol_is_refused_in_one_line(monkeypatch):
    from recordings.plan_batch import PlanBatch

    class Wrong:
        spec = PlannerSpec(name="wrong", kind="plugin", scene="", obs_dim=2, action_dim=4, horizon=16)

        def __init__(self, returns):
            self.returns = returns

        def plan(self, obs, num_samples, *, seed, **kw):
            return self.returns(num_samples)

    module = types.ModuleType("wrong_policies")
    module.raises = lambda: Wrong(lambda n: {}["missing"])
    module.ndarray = lambda: Wrong(lambda n: np.zeros((n, 16, 4)))
    module.three = lambda: Wrong(lambda n: PlanBatch.without_chain(np.zeros((3, 16, 4)), solver="x", seed=0))
    module.rank2 = lambda: Wrong(lambda n: PlanBatch(plans=np.zeros((n, 64)), chain=np.zeros((0, n, 64, 1)),
                                                     x0_estimates=np.zeros((0, n, 64, 1)), timesteps=np.zeros(0),
                                                     step_ms=np.zeros(0), solver="x", seed=0))
    module.d3 = lambda: Wrong(lambda n: PlanBatch.without_chain(np.zeros((n, 16, 3)), solver="x", seed=0))
    monkeypatch.setitem(sys.modules, "wrong_policies", module)
    expected = {"raises": "planner 'wrong' failed: KeyError: 'missing'",
                "ndarray": "planner 'wrong' returned a ndarray, not a PlanBatch",
                "three": "planner 'wrong' returned 3 plans, 64 were asked for",
                "rank2": "planner 'wrong' failed: ValueError: plans must be [N,H,D], got shape (64, 64)",
                "d3": "planner 'wrong' returned plans [64, 16, 3] with action size 3, its spec says 4"}
    for attr, message in expected.items():
        with pytest.raises(PlannerError) as err:
            load_planner(f"wrong_policies:{attr}").plan(np.zeros(2), 64, seed=0)
        assert message in str(err.value) and "\n" not in str(err.value), attr


@pytest.mark.parametrize("solver,steps", [("ddpm", 100), ("ddim", 16), ("dpmpp", 12)])
def test_a_plugin_diffusion_planner_gets_the_chain_and_replay_from_the_shared_sampler(solver, steps):
    """examples/mixture_diffusion_policy.py: the exact denoiser of a two-mode mixture, sampled by
    planners.sampling. Every solver keeps both modes (final y at +-3.7 cm from the mug) and the
    recorded noise replays the batch exactly through the plugin wrapper."""
    planner = load_planner("examples.mixture_diffusion_policy:make_planner")
    obs = {"ee_pos": MUG_OBS[None, :3], "mug_pos": MUG_OBS[None, 4:7]}
    seen = []
    batch = planner.plan(obs, 64, seed=1, solver=solver, steps=steps, on_step=lambda k, s, p: seen.append(k))
    assert batch.chain.shape == (steps + 1, 64, 16, 4) and seen == list(range(1, steps + 1))
    y = batch.plans[:, -1, 1] - MUG_OBS[5]
    assert 0.3 < np.mean(y > 0) < 0.7 and np.all(np.abs(np.abs(y) - 0.037) < 0.01)
    assert np.abs(batch.chain[0][:, -1, 1] - MUG_OBS[5]).std() > 5 * np.abs(y).std()   # starts as noise
    replay = planner.plan(obs, **batch.replay_args())
    assert np.array_equal(replay.chain, batch.chain)
