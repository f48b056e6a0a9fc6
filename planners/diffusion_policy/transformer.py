"""diffusion_policy's TransformerForDiffusion, re-written with torch.nn's transformer layers and its
module names (state dicts load with strict=True); written from
diffusion_policy/model/diffusion/transformer_for_diffusion.py.

Keys: _dummy_variable, input_emb (Linear input_dim -> n_emb), pos_emb [1, T, n_emb],
cond_obs_emb (Linear cond_dim -> n_emb, when conditioned on observations), cond_pos_emb
[1, T_cond, n_emb], encoder (an MLP `0`/`2`, or nn.TransformerEncoder when n_cond_layers > 0, or
the whole network when time is a token: encoder-only), decoder (nn.TransformerDecoder, pre-norm,
GELU, 4 n_emb feed-forward), mask / memory_mask (causal attention, saved buffers), ln_f, head.

forward(sample [B, T, input_dim], timestep [B] | scalar, cond [B, To, cond_dim] | None)
    -> [B, T, output_dim]. With time_as_cond the memory is [time token, To observation tokens].
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from planners.nets.unet1d import SinusoidalPosEmb


class TransformerForDiffusion(nn.Module):
    """See the module doc; arguments as diffusion_policy's (dropout is inactive at eval)."""

    def __init__(self, input_dim: int, output_dim: int, horizon: int, n_obs_steps: int | None = None,
                 cond_dim: int = 0, n_layer: int = 12, n_head: int = 12, n_emb: int = 768,
                 p_drop_emb: float = 0.1, p_drop_attn: float = 0.1, causal_attn: bool = False,
                 time_as_cond: bool = True, obs_as_cond: bool = False, n_cond_layers: int = 0) -> None:
        super().__init__()
        self._dummy_variable = nn.Parameter(torch.empty(0))
        n_obs_steps = horizon if n_obs_steps is None else n_obs_steps
        t, t_cond = horizon, 1
        if not time_as_cond:
            t, t_cond = t + 1, t_cond - 1
        obs_as_cond = cond_dim > 0          # as the source: the flag follows cond_dim
        if obs_as_cond:
            t_cond += n_obs_steps
        self.input_emb = nn.Linear(input_dim, n_emb)
        self.pos_emb = nn.Parameter(torch.zeros(1, t, n_emb))
        self.drop = nn.Dropout(p_drop_emb)
        self.time_emb = SinusoidalPosEmb(n_emb)
        self.cond_obs_emb = nn.Linear(cond_dim, n_emb) if obs_as_cond else None
        self.cond_pos_emb = None
        self.decoder = None

        def encoder_stack(layers: int) -> nn.TransformerEncoder:
            layer = nn.TransformerEncoderLayer(d_model=n_emb, nhead=n_head, dim_feedforward=4 * n_emb,
                                               dropout=p_drop_attn, activation="gelu", batch_first=True,
                                               norm_first=True)
            return nn.TransformerEncoder(encoder_layer=layer, num_layers=layers, enable_nested_tensor=False)

        if t_cond > 0:
            self.cond_pos_emb = nn.Parameter(torch.zeros(1, t_cond, n_emb))
            self.encoder = encoder_stack(n_cond_layers) if n_cond_layers > 0 else \
                nn.Sequential(nn.Linear(n_emb, 4 * n_emb), nn.Mish(), nn.Linear(4 * n_emb, n_emb))
            layer = nn.TransformerDecoderLayer(d_model=n_emb, nhead=n_head, dim_feedforward=4 * n_emb,
                                               dropout=p_drop_attn, activation="gelu", batch_first=True,
                                               norm_first=True)
            self.decoder = nn.TransformerDecoder(decoder_layer=layer, num_layers=n_layer)
            self.encoder_only = False
        else:
            self.encoder = encoder_stack(n_layer)
            self.encoder_only = True
        # saved buffers when causal (as the source registers them), plain None otherwise
        mask = memory_mask = None
        if causal_attn:
            mask = _additive((torch.triu(torch.ones(t, t)) == 1).transpose(0, 1))
            if time_as_cond and obs_as_cond:
                rows, cols = torch.meshgrid(torch.arange(t), torch.arange(t_cond), indexing="ij")
                memory_mask = _additive(rows >= (cols - 1))
        self.register_buffer("mask", mask)
        self.register_buffer("memory_mask", memory_mask)
        self.ln_f = nn.LayerNorm(n_emb)
        self.head = nn.Linear(n_emb, output_dim)
        self.time_as_cond = time_as_cond
        self.obs_as_cond = obs_as_cond

    def forward(self, sample: Tensor, timestep: Tensor | float | int, cond: Tensor | None = None) -> Tensor:
        timesteps = timestep
        if not torch.is_tensor(timesteps):
            timesteps = torch.tensor([timesteps], dtype=torch.long, device=sample.device)
        elif timesteps.dim() == 0:
            timesteps = timesteps[None].to(sample.device)
        timesteps = timesteps.expand(sample.shape[0])
        time_emb = self.time_emb(timesteps).unsqueeze(1)                 # [B, 1, n_emb]
        input_emb = self.input_emb(sample)                               # [B, T, n_emb]
        if self.encoder_only:
            tokens = torch.cat([time_emb, input_emb], dim=1)
            x = self.drop(tokens + self.pos_emb[:, :tokens.shape[1], :])
            x = self.encoder(src=x, mask=self.mask)[:, 1:, :]
        else:
            cond_embeddings = time_emb
            if self.obs_as_cond:
                cond_embeddings = torch.cat([cond_embeddings, self.cond_obs_emb(cond)], dim=1)
            memory = self.encoder(self.drop(cond_embeddings + self.cond_pos_emb[:, :cond_embeddings.shape[1], :]))
            x = self.drop(input_emb + self.pos_emb[:, :input_emb.shape[1], :])
            x = self.decoder(tgt=x, memory=memory, tgt_mask=self.mask, memory_mask=self.memory_mask)
        return self.head(self.ln_f(x))


def _additive(allowed: Tensor) -> Tensor:
    """Boolean "may attend" -> the additive float mask the source registers (0 or -inf)."""
    return allowed.float().masked_fill(~allowed, float("-inf")).masked_fill(allowed, 0.0)
