"""Where planscope meets a planner: the observation it is given and the PlanBatch it returns.

Import these from planners.protocol (the documented path):
    check_observation(spec, obs)        dict observation -> checked dict ([To, d] float32, [To, H, W, 3] uint8)
    flat_observation(spec, obs)         dict (or the older form's flat vector) -> [To * obs_dim] float32
    observation_from_frames(spec, frames)  per-frame dicts (oldest first) -> the dict with history first
    check_plan_batch(batch, spec, n)    the ONE check of a returned batch (shapes, dtype, finite flags)
    run_planner(planner, obs, n, ...)   the guarded call: converts obs for the older form, one
                                        PlannerError line for an exception inside the planner,
                                        every partial and the final batch checked
Every refusal is a PlannerError of one line that names the planner.
"""
from __future__ import annotations

import inspect
from typing import Any, Mapping, Sequence

import numpy as np

from planners.protocol import CancelCheck, PlannerError, PlannerSpec, StepCallback, _is_int
from recordings.errors import UserFacingError
from recordings.plan_batch import PlanBatch


def check_observation(spec: PlannerSpec, obs: Any, *, planner: str | None = None) -> dict[str, np.ndarray]:
    """The features `spec` lists, checked: state/environment [To, d] -> float32 (finite),
    images [To, H, W, 3] uint8. Extra keys are ignored. PlannerError naming the feature."""
    name = planner or spec.name
    if not isinstance(obs, Mapping):
        raise PlannerError(f"planner {name!r} takes a dict observation (feature name -> [To, ...] array), "
                           f"got {type(obs).__name__}")
    to = spec.n_obs_steps
    out: dict[str, np.ndarray] = {}
    for feature in spec.features:
        if feature.name not in obs:
            needed = ", ".join(f"{f.name}{list(f.shape)}" for f in spec.features)
            raise PlannerError(f"observation has no {feature.kind} feature {feature.name!r} "
                               f"(planner {name!r} needs {needed})")
        value = np.asarray(obs[feature.name])
        expected = (to, *feature.shape)
        if value.shape != expected:
            raise PlannerError(f"observation {feature.name!r} has shape {list(value.shape)}, expected "
                               f"[To={to}, {', '.join(str(s) for s in feature.shape)}] (history first)")
        if feature.kind == "image":
            if value.dtype != np.uint8:
                raise PlannerError(f"observation {feature.name!r} has dtype {value.dtype}, expected uint8 RGB")
        else:
            if value.dtype.kind not in "fiub":
                raise PlannerError(f"observation {feature.name!r} has dtype {value.dtype}, expected float32")
            value = value.astype(np.float32, copy=False)
            if not np.isfinite(value).all():
                raise PlannerError(f"observation {feature.name!r} holds NaN or inf values")
        out[feature.name] = value
    return out


def flat_observation(spec: PlannerSpec, obs: Any, *, planner: str | None = None) -> np.ndarray:
    """The state + environment features as one float32 vector [To * obs_dim], time-major
    (frame 0's features in spec order, then frame 1's, ...; diffusion_policy's global condition).

    obs: the dict observation, or (the older form, and callers not yet moved) the flat vector."""
    name = planner or spec.name
    to = spec.n_obs_steps
    if not isinstance(obs, Mapping):
        try:
            flat = np.asarray(obs, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise PlannerError(f"planner {name!r}: observation is not numeric ({exc})") from None
        if spec.obs_dim and flat.size != to * spec.obs_dim:
            raise PlannerError(f"policy {name!r} expects observations of size {to * spec.obs_dim}, got {flat.size}")
        return flat
    if spec.features:
        checked = check_observation(spec, obs, planner=name)
        parts = [checked[f.name].reshape(to, -1) for f in spec.features if f.kind != "image"]
        return np.concatenate(parts, axis=1).reshape(-1) if parts else np.zeros(0, np.float32)
    # The older form: the flat vector of obs_keys (or of every non-image entry, in the dict's order,
    # which is the scene's obs_spec order), from the last frame of each.
    keys = spec.obs_keys or tuple((k, None) for k, v in obs.items() if not _is_image(v))
    parts = []
    for key, size in keys:
        if key not in obs:
            raise PlannerError(f"observation has no feature {key!r} (planner {name!r} needs "
                               f"{', '.join(k for k, _ in keys)})")
        value = np.asarray(obs[key], dtype=np.float32)
        value = (value[-1] if value.ndim >= 2 else value).reshape(-1)
        if size is not None and value.size != size:
            raise PlannerError(f"observation {key!r} has {value.size} values per frame, "
                               f"planner {name!r} expects {size}")
        parts.append(value)
    flat = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    if spec.obs_dim and flat.size != spec.obs_dim:
        raise PlannerError(f"policy {name!r} expects observations of size {spec.obs_dim}, got {flat.size}")
    return flat


def observation_from_frames(spec: PlannerSpec, frames: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Per-frame dicts (oldest first; state [d], image [H, W, 3]) -> the observation with history
    first, [To, ...], from the last To frames. Fewer frames than To (the start of a rollout) repeat
    the oldest one, as LeRobot's and diffusion_policy's environment wrappers do at reset."""
    if not frames:
        raise PlannerError(f"planner {spec.name!r}: no observation frame to build its input from")
    to = spec.n_obs_steps
    window = list(frames[-to:])
    window = [window[0]] * (to - len(window)) + window
    names = [f.name for f in spec.features] or [k for k in window[-1]]
    out = {}
    for key in names:
        missing = [i for i, frame in enumerate(window) if key not in frame]
        if missing:
            raise PlannerError(f"observation frame has no feature {key!r} (planner {spec.name!r} needs it); "
                               f"frame keys: {', '.join(window[missing[0]])}")
        stacked = np.stack([np.asarray(frame[key]) for frame in window])
        out[key] = stacked if _is_image(stacked) else stacked.astype(np.float32, copy=False)
    return out


def check_plan_batch(batch: Any, spec: PlannerSpec, num_samples: int | None = None, *,
                     planner: str | None = None) -> PlanBatch:
    """The check of every PlanBatch planscope receives (final or partial): a PlanBatch whose plans
    are a float array [N, H, D] with N = num_samples (when given), H = spec.horizon,
    D = spec.action_dim; chain [S+1 or 0, N, H, D], x0_estimates [S, N, H, D], timesteps and
    step_ms [S]; replay noise, when present, of its documented shapes. Plans become float32 and
    meta["nonfinite_count"] is (re)counted: non-finite values are flagged, not refused.
    Returns the batch; PlannerError of one line naming the planner otherwise."""
    name = planner or spec.name

    def fail(text: str) -> PlannerError:
        return PlannerError(f"planner {name!r} {text}")

    if not isinstance(batch, PlanBatch):
        raise fail(f"returned a {type(batch).__name__}, not a PlanBatch "
                   f"(wrap plans [N, H, D] with recordings.plan_batch.PlanBatch.without_chain)")
    want = f"[N, H, D] = [{num_samples if num_samples is not None else 'N'}, {spec.horizon}, {spec.action_dim}]"
    plans = batch.plans
    if not isinstance(plans, np.ndarray):
        raise fail(f"returned plans as a {type(plans).__name__}, expected a numpy array {want}")
    if plans.dtype.kind != "f":
        raise fail(f"returned plans of dtype {plans.dtype}, expected float32 {want}")
    if plans.ndim != 3:
        raise fail(f"returned plans of shape {list(plans.shape)} (rank {plans.ndim}), expected {want}")
    n, h, d = plans.shape
    if num_samples is not None and n != num_samples:
        raise fail(f"returned {n} plans, {num_samples} were asked for")
    if h != spec.horizon:
        raise fail(f"returned plans {list(plans.shape)} with horizon {h}, its spec says {spec.horizon}")
    if d != spec.action_dim:
        raise fail(f"returned plans {list(plans.shape)} with action size {d}, its spec says {spec.action_dim}")
    arrays = {key: getattr(batch, key) for key in ("chain", "x0_estimates", "timesteps", "step_ms")}
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):
            raise fail(f"returned {key} as a {type(value).__name__}, expected a numpy array")
    x0, chain = arrays["x0_estimates"], arrays["chain"]
    if x0.ndim != 4 or x0.shape[1:] != (n, h, d):
        raise fail(f"returned x0_estimates of shape {list(x0.shape)}, expected [S, {n}, {h}, {d}]")
    s = x0.shape[0]
    if chain.shape != (s + 1, n, h, d) and not (s == 0 and chain.shape == (0, n, h, d)):
        raise fail(f"returned chain of shape {list(chain.shape)}, expected [S+1, N, H, D] = [{s + 1}, {n}, {h}, {d}]")
    for key in ("timesteps", "step_ms"):
        if arrays[key].shape != (s,):
            raise fail(f"returned {key} of shape {list(arrays[key].shape)}, expected [S] = [{s}]")
    for key in ("chain", "x0_estimates"):
        if arrays[key].dtype.kind != "f":
            raise fail(f"returned {key} of dtype {arrays[key].dtype}, expected float32 or float16")
    _check_noise(batch, n, h, d, fail)
    if not isinstance(batch.solver, str) or not _is_int(batch.seed, -(2 ** 63)) or \
            not isinstance(batch.cancelled, (bool, np.bool_)) or not isinstance(batch.meta, dict):
        raise fail("returned a PlanBatch with solver/seed/cancelled/meta not str/int/bool/dict")
    if plans.dtype != np.float32:
        batch.plans = plans.astype(np.float32)
    batch.meta["nonfinite_count"] = batch.nonfinite_count
    return batch


def _check_noise(batch: PlanBatch, n: int, h: int, d: int, fail) -> None:
    for key, rank in (("initial_noise", 3), ("step_noise", 4)):
        value = getattr(batch, key, None)
        if value is None:
            continue
        if not isinstance(value, np.ndarray) or value.ndim != rank or value.shape[-3:] != (n, h, d):
            raise fail(f"returned {key} of shape {list(np.shape(value))}, expected "
                       f"{['K', n, h, d] if rank == 4 else [n, h, d]}")


def run_planner(planner: Any, obs: Any, num_samples: int, *, seed: int, solver: str | None = None,
                steps: int | None = None, temperature: float = 1.0, initial_noise=None, step_noise=None,
                on_step: StepCallback | None = None, cancel: CancelCheck | None = None, **extra) -> PlanBatch:
    """Call `planner.plan` as planscope does everywhere it samples, and check what comes back.

    obs: the dict observation (or, until every caller has moved, the flat vector; None for a
    planner without features such as the probe). The older form gets its flat vector; a dict-form
    planner given a flat vector gets it split by its features (To = 1, no images). solver/steps
    None = the planner's own default. An exception inside plan() becomes PlannerError
    "planner 'name' failed: Type: message"; errors of the caller's own on_step pass through."""
    spec = planner.spec
    name = spec.name
    if not _is_int(num_samples, 1):
        raise PlannerError(f"num_samples must be a positive integer, got {num_samples!r}")
    obs = _observation_for(spec, obs)
    kwargs: dict[str, Any] = {"seed": seed, "temperature": temperature, **extra}
    for key, value in (("solver", solver), ("steps", steps), ("cancel", cancel),
                       ("initial_noise", initial_noise), ("step_noise", step_noise)):
        if value is not None:
            kwargs[key] = value
    for key in ("initial_noise", "step_noise"):
        if key in kwargs and not _takes(planner.plan, key):
            raise PlannerError(f"planner {name!r} cannot replay given noise: its plan() has no {key} "
                               f"parameter (the older protocol)")
    caller_errors: list[BaseException] = []
    if on_step is not None:
        def checked_step(k: int, total: int, partial: PlanBatch) -> None:
            check_plan_batch(partial, spec, num_samples, planner=name)
            try:
                on_step(k, total, partial)
            except BaseException as exc:   # the caller's own error: re-raised as it is, below
                caller_errors.append(exc)
                raise
        kwargs["on_step"] = checked_step
    try:
        batch = planner.plan(obs, num_samples, **kwargs)
    except UserFacingError:
        raise
    except Exception as exc:
        if caller_errors and exc is caller_errors[-1]:
            raise
        text = str(exc).strip().splitlines()
        raise PlannerError(f"planner {name!r} failed: {type(exc).__name__}: "
                           f"{text[0][:300] if text else '(no message)'}") from exc
    return check_plan_batch(batch, spec, num_samples, planner=name)


def _observation_for(spec: PlannerSpec, obs: Any) -> Any:
    if spec.older_form:
        return flat_observation(spec, obs) if isinstance(obs, Mapping) else obs
    if obs is None or isinstance(obs, Mapping) or not spec.features:
        return obs
    images = [f.name for f in spec.features if f.kind == "image"]
    if spec.n_obs_steps != 1 or images:
        raise PlannerError(f"planner {spec.name!r} takes a dict observation (To={spec.n_obs_steps}"
                           f"{', images ' + ', '.join(images) if images else ''}), got a flat vector")
    flat = flat_observation(spec, obs)
    out, start = {}, 0
    for feature in spec.features:
        out[feature.name] = flat[start:start + feature.size].reshape(1, feature.size)
        start += feature.size
    return out


def _takes(fn: Any, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _is_image(value: Any) -> bool:
    array = np.asarray(value)
    return array.dtype == np.uint8 and array.ndim >= 3 and array.shape[-1] == 3
