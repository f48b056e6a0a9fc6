"""load_dp_checkpoint(path): a diffusion_policy `.ckpt` -> DiffusionPolicyPlanner, running no code
from the file.

The file is `torch.save({"cfg", "state_dicts": {"model", "ema_model", "optimizer"}, "pickles"},
pickle_module=dill)` as diffusion_policy's BaseWorkspace.save_checkpoint writes it. It is read by
planners.safe_pickle (tensors, containers and the OmegaConf config as plain data; anything else is
refused); `pickles` (dill-pickled workspace attributes such as epoch) stay unread bytes. The EMA
weights are used when the config's training.use_ema says so, as diffusion_policy's eval.py does.
Every failure is one PlannerError line naming the file.
"""
from __future__ import annotations

from pathlib import Path

import torch

from planners.diffusion_policy.config import ConfigError, DPConfig, parse_config
from planners.diffusion_policy.modeling import DPPolicyModule, LinearNormalizer
from planners.diffusion_policy.planner import DiffusionPolicyPlanner
from planners.protocol import Feature, PlannerError, PlannerSpec, check_spec
from planners.safe_pickle import load_torch_archive


def load_dp_checkpoint(path: str | Path, *, device: str = "cpu", chain_dtype: str = "float32") -> DiffusionPolicyPlanner:
    """A diffusion_policy workspace checkpoint -> a planner (see module doc)."""
    source = Path(path)
    if not source.is_file():
        raise PlannerError(f"{source}: no such diffusion_policy checkpoint file")
    payload = load_torch_archive(source)
    if not isinstance(payload, dict) or not {"cfg", "state_dicts"} <= set(payload):
        found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise PlannerError(f"{source}: not a diffusion_policy workspace checkpoint "
                           f"(expected keys cfg, state_dicts; found {found})")
    try:
        config = parse_config(payload["cfg"])
    except ConfigError as exc:
        raise PlannerError(f"{source}: {exc}") from None
    state_dicts = payload["state_dicts"]
    weights_key = "ema_model" if config.use_ema else "model"
    state = state_dicts.get(weights_key) if isinstance(state_dicts, dict) else None
    if not isinstance(state, dict) or not state:
        raise PlannerError(f"{source}: state_dicts has no {weights_key!r} weights "
                           f"(training.use_ema={config.use_ema})")
    module = build_module(source, config, state)
    spec = make_spec(source, config, module, weights_key)
    return DiffusionPolicyPlanner(config, module, spec, device=device, chain_dtype=chain_dtype)


def build_module(source: Path, config: DPConfig, state: dict) -> DPPolicyModule:
    """DPPolicyModule with `state` loaded strictly; PlannerError naming the file and the keys."""
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise PlannerError(f"{source}: state dict entry {bad[0]!r} is not a tensor")
    module = DPPolicyModule(config, LinearNormalizer.shapes_from_state_dict(state))
    missing_norm = [k for k in module.normalizer_keys() if not module.normalizer.has(k)]
    if missing_norm:
        raise PlannerError(f"{source}: the normalizer has no scale/offset for {missing_norm} "
                           f"(normalizer.params_dict.<key>.scale/offset)")
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys {_few(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_few(unexpected)}")
        raise PlannerError(f"{source}: weights do not match a {config.policy_class} built from its "
                           f"config: {'; '.join(parts)}")
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise PlannerError(f"{source}: weight {key} has shape {list(state[key].shape)}, the config "
                               f"gives {list(tensor.shape)}")
    module.load_state_dict(state, strict=True)
    _check_normalizer(source, module)
    return module.eval()


def _check_normalizer(source: Path, module: DPPolicyModule) -> None:
    for key in module.normalizer_keys():
        scale = module.normalizer.params_dict[key]["scale"]
        offset = module.normalizer.params_dict[key]["offset"]
        if not (torch.isfinite(scale).all() and torch.isfinite(offset).all()) or bool((scale == 0).any()):
            raise PlannerError(f"{source}: normalizer {key!r} has a zero or non-finite scale/offset")
    config = module.config
    size = module.normalizer.params_dict["action"]["scale"].shape[0]
    if size not in (1, config.action_dim):
        raise PlannerError(f"{source}: normalizer 'action' has {size} entries, action_dim is {config.action_dim}")


def make_spec(source: Path, config: DPConfig, module: DPPolicyModule, weights_key: str) -> PlannerSpec:
    """The PlannerSpec: features, horizons, the checkpoint's scheduler as the default solver."""
    if config.encoder is None:
        features = (Feature("obs", (config.obs_dim,), "state"),)
    else:
        features = tuple(
            Feature(key, (shape[1], shape[2], 3), "image") if len(shape) == 3 else Feature(key, tuple(shape), "state")
            for key, shape in config.encoder.shapes.items())
    num_parameters = sum(p.numel() for p in module.parameters())
    normalizer = {key: {"scale": module.normalizer.params_dict[key]["scale"].tolist()
                        if module.normalizer.params_dict[key]["scale"].numel() <= 64 else "...",
                        "offset": module.normalizer.params_dict[key]["offset"].tolist()
                        if module.normalizer.params_dict[key]["offset"].numel() <= 64 else "..."}
                  for key in module.normalizer_keys()}
    spec = PlannerSpec(
        name=source.stem, kind="diffusion", action_dim=config.action_dim, horizon=config.sample_horizon,
        default_solver=config.solver, default_steps=config.num_inference_steps,
        control_solver=config.solver, control_steps=config.num_inference_steps,
        num_parameters=num_parameters, features=features, n_obs_steps=config.n_obs_steps,
        n_action_steps=config.n_action_steps, action_start=config.action_start, library="diffusion_policy",
        extra={"checkpoint": str(source.resolve()), "policy_class": config.policy_class,
               "weights": weights_key,
               "scheduler": {"solver": config.solver, **config.scheduler.to_json()},
               "num_inference_steps": config.num_inference_steps, "normalization": normalizer,
               "conditioning": ("tokens" if config.transformer is not None else
                                "local" if config.obs_as_local_cond else "global"),
               "pred_action_steps_only": config.pred_action_steps_only})
    return check_spec(spec, str(source))


def _few(keys: list[str], limit: int = 3) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")
