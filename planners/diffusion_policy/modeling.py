"""diffusion_policy's policy modules in plain torch, key-compatible with its state dicts.

A checkpoint's `state_dicts["model"]` / `["ema_model"]` is the whole policy module's state dict:

    _dummy_variable                               ModuleAttrMixin's empty parameter
    model.*                                       ConditionalUnet1D (planners.nets.unet1d)
    mask_generator._dummy_variable                LowdimMaskGenerator (no weights)
    normalizer.params_dict.<key>.{scale,offset}   LinearNormalizer: x_norm = x * scale + offset over
    normalizer.params_dict.<key>.input_stats.{min,max,mean,std}     the last dim (scale [d] or [1])
  image policies add
    obs_encoder._dummy_variable
    obs_encoder.key_model_map.<camera | "rgb">.*  torchvision ResNet-18 without fc (planners.nets.resnet)

`DPPolicyModule` mirrors exactly that layout, so `load_state_dict(..., strict=True)` proves every key
and shape matches. Shapes in the docstrings below: To = n_obs_steps, H = horizon.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from planners.diffusion_policy.config import DPConfig, EncoderConfig
from planners.nets.unet1d import ConditionalUnet1D

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_FIELD_PARAMS = ("offset", "scale")
_STATS = ("max", "mean", "min", "std")


class LinearNormalizer(nn.Module):
    """diffusion_policy's LinearNormalizer: per key a scale and offset over the last dimension."""

    def __init__(self, shapes: dict[str, dict[str, tuple[int, ...]]]) -> None:
        """shapes: key -> {"offset": shape, "scale": shape, "input_stats.min": shape, ...}."""
        super().__init__()
        self.params_dict = nn.ParameterDict()
        for key, fields in shapes.items():
            entry = nn.ParameterDict()
            stats = nn.ParameterDict()
            for name, shape in fields.items():
                param = nn.Parameter(torch.zeros(shape), requires_grad=False)
                if name.startswith("input_stats."):
                    stats[name.split(".", 1)[1]] = param
                else:
                    entry[name] = param
            if len(stats):
                entry["input_stats"] = stats
            self.params_dict[key] = entry

    @staticmethod
    def shapes_from_state_dict(state: dict[str, Tensor], prefix: str = "normalizer.params_dict.") -> dict:
        """The normalizer entries present in a policy state dict: key -> field -> shape."""
        shapes: dict[str, dict[str, tuple[int, ...]]] = {}
        for name, tensor in state.items():
            if name.startswith(prefix):
                key, _, field_name = name[len(prefix):].partition(".")
                shapes.setdefault(key, {})[field_name] = tuple(tensor.shape)
        return shapes

    def has(self, key: str) -> bool:
        return key in self.params_dict and all(f in self.params_dict[key] for f in _FIELD_PARAMS)

    def normalize(self, key: str, x: Tensor) -> Tensor:
        """x [..., d] (or images [..., C, H, W] with a scale of size 1) -> x * scale + offset."""
        scale, offset = self.params_dict[key]["scale"], self.params_dict[key]["offset"]
        shape = x.shape
        return (x.reshape(-1, scale.shape[0]) * scale + offset).reshape(shape)

    def unnormalize(self, key: str, x: Tensor) -> Tensor:
        """Inverse of normalize: (x - offset) / scale."""
        scale, offset = self.params_dict[key]["scale"], self.params_dict[key]["offset"]
        shape = x.shape
        return ((x.reshape(-1, scale.shape[0]) - offset) / scale).reshape(shape)


class _AttrModule(nn.Module):
    """A module holding only ModuleAttrMixin's `_dummy_variable` (e.g. LowdimMaskGenerator)."""

    def __init__(self) -> None:
        super().__init__()
        self._dummy_variable = nn.Parameter(torch.empty(0))


class MultiImageObsEncoder(nn.Module):
    """diffusion_policy's MultiImageObsEncoder at eval time.

    forward(obs): obs maps each rgb key to normalised images [B, 3, H, W] and each low_dim key to
    [B, d] -> features [B, 512 * cameras + sum(d)]: cameras in sorted key order, then low-dim keys
    in sorted order. Per camera: resize (bilinear, antialiased, as torchvision's Resize on
    tensors), centre crop (only when random_crop is set: the source's CenterCrop for
    random_crop=False is discarded, so no crop happens then), ImageNet normalisation, ResNet-18.
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        from planners.nets.resnet import ResNet18   # the shared torchvision-compatible backbone

        self.config = config
        self._dummy_variable = nn.Parameter(torch.empty(0))
        norm = "group" if config.use_group_norm else "batch"
        names = ["rgb"] if config.share_rgb_model else list(config.rgb_keys)
        self.key_model_map = nn.ModuleDict({name: ResNet18(num_classes=None, norm=norm) for name in names})
        self.register_buffer("imagenet_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("imagenet_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def transform(self, key: str, images: Tensor) -> Tensor:
        """[B, 3, H, W] -> resized, cropped, ImageNet-normalised [B, 3, h, w]."""
        cfg = self.config
        if cfg.resize_shape is not None:
            images = F.interpolate(images, size=cfg.resize_shape[key], mode="bilinear",
                                   align_corners=False, antialias=True)
        if cfg.crop_shape is not None and cfg.random_crop:
            images = center_crop(images, cfg.crop_shape[key])
        if cfg.imagenet_norm:
            images = (images - self.imagenet_mean) / self.imagenet_std
        return images

    def forward(self, obs: dict[str, Tensor]) -> Tensor:
        cfg = self.config
        features = []
        if cfg.share_rgb_model and cfg.rgb_keys:
            batch = obs[cfg.rgb_keys[0]].shape[0]
            images = torch.cat([self.transform(k, obs[k]) for k in cfg.rgb_keys], dim=0)   # [K*B, 3, h, w]
            feature = self.key_model_map["rgb"](images).reshape(len(cfg.rgb_keys), batch, -1)
            features.append(feature.transpose(0, 1).reshape(batch, -1))                     # [B, K*512]
        else:
            for key in cfg.rgb_keys:
                features.append(self.key_model_map[key](self.transform(key, obs[key])))
        features.extend(obs[key] for key in cfg.low_dim_keys)
        return torch.cat(features, dim=-1)


def center_crop(images: Tensor, size: tuple[int, int]) -> Tensor:
    """torchvision.transforms.functional.center_crop for crops smaller than the image:
    [..., H, W] -> [..., h, w], top = round((H - h) / 2), left = round((W - w) / 2)."""
    height, width = images.shape[-2:]
    h, w = size
    top, left = int(round((height - h) / 2.0)), int(round((width - w) / 2.0))
    return images[..., top:top + h, left:left + w]


class DPPolicyModule(nn.Module):
    """The weights of one diffusion_policy U-Net policy (module doc), and its condition.

    condition(obs) turns the raw observation history into the U-Net's conditioning for one
    observation: (global_cond [1, G] or None, local_cond [1, H, obs_dim] or None).
    """

    def __init__(self, config: DPConfig, normalizer_shapes: dict) -> None:
        super().__init__()
        self.config = config
        self._dummy_variable = nn.Parameter(torch.empty(0))
        u = config.unet
        if u is None:    # DiffusionTransformerLowdimPolicy
            from planners.diffusion_policy.transformer import TransformerForDiffusion
            self.model = TransformerForDiffusion(**config.transformer)
        else:
            self.model = ConditionalUnet1D(u.input_dim, local_cond_dim=u.local_cond_dim,
                                           global_cond_dim=u.global_cond_dim,
                                           diffusion_step_embed_dim=u.diffusion_step_embed_dim,
                                           down_dims=u.down_dims, kernel_size=u.kernel_size, n_groups=u.n_groups,
                                           cond_predict_scale=u.cond_predict_scale)
        self.obs_encoder = MultiImageObsEncoder(config.encoder) if config.encoder is not None else None
        self.mask_generator = _AttrModule()
        self.normalizer = LinearNormalizer(normalizer_shapes)

    def normalizer_keys(self) -> tuple[str, ...]:
        """The normalizer entries this policy reads: action, and obs or every shape_meta key."""
        if self.config.encoder is None:
            return ("action", "obs")
        return ("action", *self.config.encoder.rgb_keys, *self.config.encoder.low_dim_keys)

    @torch.no_grad()
    def condition(self, obs: dict[str, Tensor]) -> tuple[Tensor | None, Tensor | None]:
        """obs: lowdim {"obs": [To, obs_dim]}; image {camera: [To, 3, H, W] float in [0, 1],
        low_dim key: [To, d]} (raw units) -> (global_cond [1, G] | None, local_cond [1, H, Do] | None);
        for the transformer the first is its condition tokens [1, To, obs_dim]."""
        cfg = self.config
        to = cfg.n_obs_steps
        if cfg.encoder is None:
            nobs = self.normalizer.normalize("obs", obs["obs"][:to])              # [To, Do]
            if cfg.transformer is not None:       # condition tokens [1, To, Do] (see denoise)
                return nobs[None], None
            if cfg.obs_as_local_cond:
                local = nobs.new_zeros((1, cfg.horizon, nobs.shape[-1]))
                local[0, :to] = nobs
                return None, local
            return nobs.reshape(1, -1), None
        nobs = {key: self.normalizer.normalize(key, value[:to]) for key, value in obs.items()}
        features = self.obs_encoder(nobs)                                        # [To, F]
        return features.reshape(1, -1), None

    def denoise(self, x: Tensor, t: Tensor, global_cond: Tensor | None, local_cond: Tensor | None) -> Tensor:
        """x [N, H, D] normalised, t 0-d step -> the U-Net's output [N, H, D]; the condition of one
        observation is repeated over the N samples."""
        n = x.shape[0]
        if self.config.transformer is not None:
            return self.model(x, t, global_cond.expand(n, -1, -1))
        g = None if global_cond is None else global_cond.expand(n, -1)
        loc = None if local_cond is None else local_cond.expand(n, -1, -1)
        return self.model(x, t, local_cond=loc, global_cond=g)
