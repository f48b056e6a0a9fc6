"""A diffusion_policy checkpoint's configuration, read as data.

The `.ckpt` holds the hydra config the workspace was built from (`cfg`, rebuilt by
planners.safe_pickle as plain dicts). This module reads the parts planscope needs from
`cfg["policy"]` (and `cfg["training"]["use_ema"]`) into a validated dataclass; hydra `_target_`
strings are only compared with the class names planscope re-implements, never imported.

Supported policies (`cfg.policy._target_`):
    diffusion_policy.policy.diffusion_unet_lowdim_policy.DiffusionUnetLowdimPolicy
        obs [To, obs_dim] as global condition (obs_as_global_cond, optionally
        pred_action_steps_only) or as local condition (obs_as_local_cond)
    diffusion_policy.policy.diffusion_unet_image_policy.DiffusionUnetImagePolicy
        shape_meta's rgb keys through MultiImageObsEncoder (ResNet-18, crop, GroupNorm, shared or
        per-camera), low_dim keys appended; obs_as_global_cond
    diffusion_policy.policy.diffusion_transformer_lowdim_policy.DiffusionTransformerLowdimPolicy
        obs [To, obs_dim] as the transformer's condition tokens (obs_as_cond)
Schedulers (`cfg.policy.noise_scheduler._target_`): diffusers DDPMScheduler / DDIMScheduler with
their 0.11.1 defaults (the diffusers diffusion_policy pins), timesteps spaced "leading" as 0.11.1 does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from planners.sampling import SchedulerSettings

PolicyKind = Literal["lowdim", "image", "transformer"]
POLICY_CLASSES: dict[str, str] = {"DiffusionUnetLowdimPolicy": "lowdim", "DiffusionUnetImagePolicy": "image",
                                  "DiffusionTransformerLowdimPolicy": "transformer"}
SCHEDULER_CLASSES: dict[str, str] = {"DDPMScheduler": "ddpm", "DDIMScheduler": "ddim"}
# diffusers 0.11.1 defaults for the fields a config may leave out
_DDPM_DEFAULTS = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                      variance_type="fixed_small", clip_sample=True, prediction_type="epsilon")
_DDIM_DEFAULTS = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                      clip_sample=True, set_alpha_to_one=True, steps_offset=0, prediction_type="epsilon")
RESNET_FEATURE_DIM = 512


class ConfigError(ValueError):
    """The checkpoint's config is not one planscope can run (message names the field)."""


@dataclass(frozen=True)
class UnetArgs:
    """ConditionalUnet1D's constructor arguments (planners.nets.unet1d)."""
    input_dim: int
    local_cond_dim: int | None
    global_cond_dim: int | None
    diffusion_step_embed_dim: int
    down_dims: tuple[int, ...]
    kernel_size: int
    n_groups: int
    cond_predict_scale: bool


@dataclass(frozen=True)
class EncoderConfig:
    """MultiImageObsEncoder's settings. rgb_keys / low_dim_keys sorted as the encoder sorts them;
    shapes are shape_meta's ([3, H, W] for rgb, [d] for low_dim)."""
    rgb_keys: tuple[str, ...]
    low_dim_keys: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]]
    crop_shape: dict[str, tuple[int, int]] | None
    resize_shape: dict[str, tuple[int, int]] | None
    random_crop: bool
    use_group_norm: bool
    share_rgb_model: bool
    imagenet_norm: bool

    @property
    def feature_dim(self) -> int:
        """Per-frame feature size: 512 per camera + the low-dim sizes."""
        return RESNET_FEATURE_DIM * len(self.rgb_keys) + sum(self.shapes[k][0] for k in self.low_dim_keys)


@dataclass(frozen=True)
class DPConfig:
    """What planscope needs to run one diffusion_policy checkpoint (see module doc)."""
    policy_class: str
    kind: str
    horizon: int
    n_obs_steps: int
    n_action_steps: int
    num_inference_steps: int
    solver: str
    scheduler: SchedulerSettings
    unet: UnetArgs | None
    action_dim: int
    obs_dim: int = 0
    obs_as_global_cond: bool = True
    obs_as_local_cond: bool = False
    pred_action_steps_only: bool = False
    oa_step_convention: bool = True
    use_ema: bool = False
    encoder: EncoderConfig | None = None
    obs_shape_meta: dict = field(default_factory=dict)
    transformer: dict | None = None    # TransformerForDiffusion's arguments (transformer policies)

    @property
    def sample_horizon(self) -> int:
        """H of the denoised trajectory: n_action_steps when pred_action_steps_only, else horizon."""
        return self.n_action_steps if self.pred_action_steps_only else self.horizon

    @property
    def action_start(self) -> int:
        """Index of the first executed action in a plan (diffusion_policy's `action` slice)."""
        if self.pred_action_steps_only:
            return 0
        return self.n_obs_steps - 1 if (self.oa_step_convention or self.kind != "lowdim") else self.n_obs_steps


def parse_config(cfg: Any) -> DPConfig:
    """cfg (plain dicts, as planners.safe_pickle rebuilt it) -> DPConfig. ConfigError otherwise."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"cfg is a {type(cfg).__name__}, not a configuration mapping")
    policy = _get(cfg, "policy", dict)
    policy_class = _class_name(_get(policy, "_target_", str, "policy."))
    if policy_class not in POLICY_CLASSES:
        raise ConfigError(f"unsupported policy class {policy_class!r} (supported: {', '.join(POLICY_CLASSES)})")
    kind = POLICY_CLASSES[policy_class]
    solver, settings = _scheduler(_get(policy, "noise_scheduler", dict, "policy."))
    training = cfg.get("training") if isinstance(cfg.get("training"), dict) else {}
    use_ema = bool(training.get("use_ema", False))
    horizon = _int(policy, "horizon")
    n_obs_steps = _int(policy, "n_obs_steps")
    n_action_steps = _int(policy, "n_action_steps")
    steps = policy.get("num_inference_steps")
    steps = settings.num_train_timesteps if steps is None else _int(policy, "num_inference_steps")
    common = dict(policy_class=policy_class, kind=kind, horizon=horizon, n_obs_steps=n_obs_steps,
                  n_action_steps=n_action_steps, num_inference_steps=steps, solver=solver,
                  scheduler=settings, use_ema=use_ema)
    if kind == "lowdim":
        return _lowdim(policy, common)
    if kind == "transformer":
        return _transformer(policy, common)
    return _image(policy, common)


_TRANSFORMER_INTS = ("input_dim", "output_dim", "horizon", "n_obs_steps", "n_layer", "n_head", "n_emb")


def _transformer(policy: dict, common: dict) -> DPConfig:
    if not _bool(policy, "obs_as_cond", False):
        raise ConfigError("policy conditions on observations by inpainting (obs_as_cond false), which "
                          "planscope does not run yet")
    model = _get(policy, "model", dict, "policy.")
    args = {name: _int(model, name, "policy.model.") for name in _TRANSFORMER_INTS}
    args["cond_dim"] = _int(model, "cond_dim", "policy.model.")
    args["n_cond_layers"] = model.get("n_cond_layers", 0)
    if isinstance(args["n_cond_layers"], bool) or not isinstance(args["n_cond_layers"], int) or args["n_cond_layers"] < 0:
        raise ConfigError(f"policy.model.n_cond_layers must be an integer >= 0, got {args['n_cond_layers']!r}")
    for name in ("causal_attn", "time_as_cond", "obs_as_cond"):
        args[name] = _bool(model, name, name == "time_as_cond", "policy.model.")
    if not args["time_as_cond"]:
        raise ConfigError("policy.model.time_as_cond is false (time as an input token), which "
                          "planscope does not run yet")
    obs_dim, action_dim = _int(policy, "obs_dim"), _int(policy, "action_dim")
    steps_only = _bool(policy, "pred_action_steps_only", False)
    if args["input_dim"] != action_dim or args["output_dim"] != action_dim or args["cond_dim"] != obs_dim:
        raise ConfigError(f"policy.model input_dim/output_dim/cond_dim = {args['input_dim']}/{args['output_dim']}/"
                          f"{args['cond_dim']} do not match action_dim={action_dim}, obs_dim={obs_dim}")
    config = DPConfig(**common, unet=None, transformer=args, action_dim=action_dim, obs_dim=obs_dim,
                      obs_as_global_cond=False, pred_action_steps_only=steps_only)
    if args["horizon"] != config.sample_horizon:
        raise ConfigError(f"policy.model.horizon={args['horizon']} differs from the sampled horizon "
                          f"{config.sample_horizon}")
    if config.action_start + config.n_action_steps > config.sample_horizon:
        raise ConfigError(f"n_action_steps={config.n_action_steps} from step {config.action_start} "
                          f"runs past horizon={config.sample_horizon}")
    return config


def _lowdim(policy: dict, common: dict) -> DPConfig:
    local, glob = _bool(policy, "obs_as_local_cond", False), _bool(policy, "obs_as_global_cond", False)
    steps_only = _bool(policy, "pred_action_steps_only", False)
    if local and glob:
        raise ConfigError("policy.obs_as_local_cond and obs_as_global_cond are both true")
    if not (local or glob):
        raise ConfigError("policy conditions on observations by inpainting (obs_as_local_cond and "
                          "obs_as_global_cond both false), which planscope does not run yet")
    if steps_only and not glob:
        raise ConfigError("policy.pred_action_steps_only needs obs_as_global_cond")
    model = _get(policy, "model", dict, "policy.")
    obs_dim, action_dim = _int(policy, "obs_dim"), _int(policy, "action_dim")
    unet = UnetArgs(
        input_dim=_int(model, "input_dim", "policy.model."),
        local_cond_dim=None if model.get("local_cond_dim") is None else _int(model, "local_cond_dim", "policy.model."),
        global_cond_dim=None if model.get("global_cond_dim") is None else _int(model, "global_cond_dim", "policy.model."),
        diffusion_step_embed_dim=_int(model, "diffusion_step_embed_dim", "policy.model.", 256),
        down_dims=_ints(model, "down_dims", "policy.model.", (256, 512, 1024)),
        kernel_size=_int(model, "kernel_size", "policy.model.", 3),
        n_groups=_int(model, "n_groups", "policy.model.", 8),
        cond_predict_scale=_bool(model, "cond_predict_scale", False, "policy.model."))
    if unet.input_dim != action_dim:
        raise ConfigError(f"policy.model.input_dim={unet.input_dim} differs from action_dim={action_dim}")
    if glob and unet.global_cond_dim != obs_dim * common["n_obs_steps"]:
        raise ConfigError(f"policy.model.global_cond_dim={unet.global_cond_dim} is not obs_dim x n_obs_steps "
                          f"= {obs_dim * common['n_obs_steps']}")
    if local and unet.local_cond_dim != obs_dim:
        raise ConfigError(f"policy.model.local_cond_dim={unet.local_cond_dim} is not obs_dim={obs_dim}")
    config = DPConfig(**common, unet=unet, action_dim=action_dim, obs_dim=obs_dim, obs_as_global_cond=glob,
                      obs_as_local_cond=local, pred_action_steps_only=steps_only,
                      oa_step_convention=_bool(policy, "oa_step_convention", False))
    _check_horizon(config)
    return config


def _image(policy: dict, common: dict) -> DPConfig:
    if not _bool(policy, "obs_as_global_cond", True):
        raise ConfigError("policy.obs_as_global_cond is false (observation-feature inpainting), which "
                          "planscope does not run yet")
    shape_meta = _get(policy, "shape_meta", dict, "policy.")
    action_shape = _ints(_get(shape_meta, "action", dict, "policy.shape_meta."), "shape", "policy.shape_meta.action.")
    if len(action_shape) != 1:
        raise ConfigError(f"policy.shape_meta.action.shape must be [action_dim], got {list(action_shape)}")
    encoder_cfg = _get(policy, "obs_encoder", dict, "policy.")
    encoder_class = _class_name(str(encoder_cfg.get("_target_", "")))
    if encoder_class != "MultiImageObsEncoder":
        raise ConfigError(f"unsupported observation encoder {encoder_class!r} (supported: MultiImageObsEncoder)")
    rgb_model = encoder_cfg.get("rgb_model")
    if not (isinstance(rgb_model, dict) and _class_name(str(rgb_model.get("_target_", ""))) == "get_resnet"
            and rgb_model.get("name") == "resnet18"):
        raise ConfigError("policy.obs_encoder.rgb_model must be get_resnet(name=resnet18) "
                          f"(got {rgb_model!r:.120})")
    obs_meta = _get(shape_meta, "obs", dict, "policy.shape_meta.")
    shapes: dict[str, tuple[int, ...]] = {}
    rgb, low = [], []
    for key, attr in obs_meta.items():
        where = f"policy.shape_meta.obs.{key}."
        if not isinstance(attr, dict):
            raise ConfigError(f"{where[:-1]} is not a mapping")
        shape = _ints(attr, "shape", where)
        kind = attr.get("type", "low_dim")
        if kind == "rgb":
            if len(shape) != 3 or shape[0] != 3:
                raise ConfigError(f"{where}shape must be [3, H, W] for an rgb key, got {list(shape)}")
            rgb.append(key)
        elif kind == "low_dim":
            if len(shape) != 1:
                raise ConfigError(f"{where}shape must be [d] for a low_dim key, got {list(shape)}")
            low.append(key)
        else:
            raise ConfigError(f"{where}type {kind!r} is not rgb or low_dim")
        shapes[key] = shape
    encoder = EncoderConfig(
        rgb_keys=tuple(sorted(rgb)), low_dim_keys=tuple(sorted(low)), shapes=shapes,
        crop_shape=_per_key(encoder_cfg.get("crop_shape"), rgb, "crop_shape"),
        resize_shape=_per_key(encoder_cfg.get("resize_shape"), rgb, "resize_shape"),
        random_crop=_bool(encoder_cfg, "random_crop", True, "policy.obs_encoder."),
        use_group_norm=_bool(encoder_cfg, "use_group_norm", False, "policy.obs_encoder."),
        share_rgb_model=_bool(encoder_cfg, "share_rgb_model", False, "policy.obs_encoder."),
        imagenet_norm=_bool(encoder_cfg, "imagenet_norm", False, "policy.obs_encoder."))
    action_dim = action_shape[0]
    unet = UnetArgs(input_dim=action_dim, local_cond_dim=None,
                    global_cond_dim=encoder.feature_dim * common["n_obs_steps"],
                    diffusion_step_embed_dim=_int(policy, "diffusion_step_embed_dim", "policy.", 256),
                    down_dims=_ints(policy, "down_dims", "policy.", (256, 512, 1024)),
                    kernel_size=_int(policy, "kernel_size", "policy.", 5),
                    n_groups=_int(policy, "n_groups", "policy.", 8),
                    cond_predict_scale=_bool(policy, "cond_predict_scale", True))
    config = DPConfig(**common, unet=unet, action_dim=action_dim, obs_dim=sum(shapes[k][0] for k in low),
                      encoder=encoder, obs_shape_meta={k: list(v) for k, v in shapes.items()})
    _check_horizon(config)
    return config


def _scheduler(ns: dict) -> tuple[str, SchedulerSettings]:
    name = _class_name(_get(ns, "_target_", str, "policy.noise_scheduler."))
    if name not in SCHEDULER_CLASSES:
        raise ConfigError(f"unsupported noise scheduler {name!r} (supported: {', '.join(SCHEDULER_CLASSES)})")
    solver = SCHEDULER_CLASSES[name]
    values = {**(_DDPM_DEFAULTS if solver == "ddpm" else _DDIM_DEFAULTS),
              **{k: v for k, v in ns.items() if k != "_target_"}}
    if values.get("trained_betas") is not None:
        raise ConfigError("policy.noise_scheduler.trained_betas is not supported")
    values.pop("trained_betas", None)
    known = {"num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "variance_type", "clip_sample",
             "prediction_type", "set_alpha_to_one", "steps_offset"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"policy.noise_scheduler has fields planscope does not know: {unknown}")
    try:
        settings = SchedulerSettings(
            num_train_timesteps=values["num_train_timesteps"], beta_start=float(values["beta_start"]),
            beta_end=float(values["beta_end"]), beta_schedule=values["beta_schedule"],
            prediction_type=values["prediction_type"], clip_sample=values["clip_sample"],
            variance_type=values.get("variance_type", "fixed_small"), timestep_spacing="leading",
            set_alpha_to_one=values.get("set_alpha_to_one", True), steps_offset=values.get("steps_offset", 0))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"policy.noise_scheduler: {exc}") from None
    return solver, settings


def _check_horizon(config: DPConfig) -> None:
    levels = len(config.unet.down_dims)
    factor = 2 ** (levels - 1)
    if config.sample_horizon % factor:
        raise ConfigError(f"horizon {config.sample_horizon} is not divisible by {factor} "
                          f"({levels} U-Net levels)")
    if config.action_start + config.n_action_steps > config.sample_horizon:
        raise ConfigError(f"n_action_steps={config.n_action_steps} from step {config.action_start} "
                          f"runs past horizon={config.sample_horizon}")


def _class_name(target: str) -> str:
    return target.rsplit(".", 1)[-1]


def _get(mapping: dict, key: str, kind: type, where: str = "") -> Any:
    value = mapping.get(key)
    if not isinstance(value, kind):
        what = "missing" if value is None else f"a {type(value).__name__}"
        if isinstance(value, str) and value.startswith("${"):
            what = f"an unresolved interpolation {value!r}"
        raise ConfigError(f"{where}{key} is {what}, expected a {kind.__name__}")
    return value


def _int(mapping: dict, key: str, where: str = "policy.", default: int | None = None) -> int:
    value = mapping.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        if isinstance(value, str) and value.startswith("${"):
            raise ConfigError(f"{where}{key} is an unresolved interpolation {value!r}")
        raise ConfigError(f"{where}{key} must be a positive integer, got {value!r}")
    return value


def _ints(mapping: dict, key: str, where: str, default: tuple[int, ...] | None = None) -> tuple[int, ...]:
    value = mapping.get(key, default)
    if not isinstance(value, (list, tuple)) or not value or \
            not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise ConfigError(f"{where}{key} must be a list of positive integers, got {value!r}")
    return tuple(value)


def _bool(mapping: dict, key: str, default: bool, where: str = "policy.") -> bool:
    value = mapping.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}{key} must be true or false, got {value!r}")
    return value


def _per_key(value: Any, keys: list[str], name: str) -> dict[str, tuple[int, int]] | None:
    """crop_shape / resize_shape: None, [h, w] for every camera, or {camera: [h, w]}."""
    if value is None:
        return None
    if isinstance(value, dict):
        missing = [k for k in keys if k not in value]
        if missing:
            raise ConfigError(f"policy.obs_encoder.{name} has no entry for {missing}")
        return {k: _pair(value[k], name) for k in keys}
    return {k: _pair(value, name) for k in keys}


def _pair(value: Any, name: str) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2 or \
            not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise ConfigError(f"policy.obs_encoder.{name} must be [height, width], got {value!r}")
    return int(value[0]), int(value[1])
