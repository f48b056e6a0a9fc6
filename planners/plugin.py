"""PluginPlanner: how planscope holds a user's planner loaded by `module:attr`.

A plugin may be written for this protocol (a spec with `features`, plan(obs_dict, ...)) or for
the older form (a spec with obs_dim/obs_keys and no features, plan(flat_vector, ...)): both load
unchanged. The wrapper
  - keeps the plugin's own `spec` (checked at load by planners.protocol.check_spec),
  - gives the older form its flat vector [obs_dim] from a dict observation (obs_keys order, or the
    dict's own order, the scene's, when the spec lists no keys; the last frame of the history),
  - passes initial_noise / step_noise only to a plan() that names them (refused otherwise),
  - turns any exception inside the plugin into one PlannerError line naming it, and
  - checks every batch it returns, partial and final (planners.protocol.check_plan_batch).
Every other attribute is the plugin's own (`wrapper.mixture` is `plugin.mixture`).
"""
from __future__ import annotations

from typing import Any

from planners.boundary import run_planner
from planners.protocol import PlannerSpec, check_spec
from recordings.plan_batch import PlanBatch


class PluginPlanner:
    def __init__(self, inner: Any, source: str) -> None:
        self.inner = inner
        self.source = source
        self.spec: PlannerSpec = check_spec(getattr(inner, "spec", None), source)

    def plan(self, obs: Any, num_samples: int, *, seed: int, solver: str | None = None,
             steps: int | None = None, temperature: float = 1.0, initial_noise=None, step_noise=None,
             on_step=None, cancel=None, **extra) -> PlanBatch:
        """The plugin's plan(), guarded (see module doc)."""
        return run_planner(self.inner, obs, num_samples, seed=seed, solver=solver, steps=steps,
                           temperature=temperature, initial_noise=initial_noise, step_noise=step_noise,
                           on_step=on_step, cancel=cancel, **extra)

    def __getattr__(self, name: str) -> Any:
        if name == "inner":          # not set yet (during unpickling or a failed __init__)
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"PluginPlanner({self.source!r}, {type(self.inner).__name__})"
