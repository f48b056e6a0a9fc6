"""The fast U-Net executor: one lowered graph (lowering.py) run with a chosen kernel and precision.

    FastUnet(graph, conv="gemm" | "packed" | "conv2d" | "conv1d", dtype=torch.float32 | torch.bfloat16,
             jit=False)
    fast(x [B, H, D] float32, t scalar | [B], cond [1 | B, global_cond_dim] float32) -> [B, H, D] float32
    fast.body(x, films [1 | B, sum F])          # the same, FiLM given (fast(x, t, c) = body(x, films(t, c)))
    fast.films_for_steps(timesteps [S], cond)   # [S, 1 | B, sum F]: every step's FiLM in ONE product

Activations live as [B, L, C] contiguous tensors throughout, which is x's own layout ([B, H, D])
and, viewed as [B, C, 1, L], PyTorch's channels-last layout, so both kernels read the same memory:
  - "gemm": every convolution as ONE matrix product. The k taps are gathered side by side
    ([B*L, k*C], "im2col"; cheap, since L <= 16 while C reaches 2048) and multiplied by the weight
    reshaped once to [O, k*C]: at 256-2048 channels the product runs near the machine's GEMM rate,
    where oneDNN's direct 1-D convolution reaches a fraction of it. The stride-2 transposed
    convolution becomes one product too: even and odd outputs are two kernel-2 convolutions over
    (x[m-1], x[m], x[m+1]), written as one [2O, 3C] weight whose output [B, L, 2, O] IS the
    interleaved [B, 2L, O].
  - "packed": "gemm" with every float32 weight packed once by MKL (cblas_sgemm_pack, through
    torch.ops.mkl): a plain sgemm re-packs its weight operand on every call, which at small N
    (N = 1: 4-16 rows against a 5 MB-40 MB weight) costs as much as the product itself, so the
    step is bound by reading each weight once. float32 only; the packed layout does not depend on
    the number of rows, so one copy serves every N.
  - "conv2d": the (1, k) 2-D convolution on channels-last views (planscope's own U-Net's path,
    fastest at 48-96 channels).
  - "conv1d": torch's Conv1d kernels (oneDNN), as the model's own forward calls them, on [B, C, L]
    views: at N=1 they split a large layer's weights over threads better than MKL's small-M GEMM;
    what the executor adds is everything else (FiLM precomputed, in-place activations).
FiLM: the condition's half and the step's half of every block's FiLM Linear do not depend on x, and
the activation before the Linear is elementwise, so a sampler that knows its timesteps computes every
block's scale and bias for every step in one product before the loop (films_for_steps; the
Accelerator's DenoiserFn.prepare does it): a step runs only the x-dependent work, and at N=1 on a
large model the FiLM weights are read once per sampling instead of once per step.
jit=True: `body` is traced by TorchScript once per input shape (0.1-0.2 s at 0.56 M parameters;
up to MAX_TRACES kept) and the trace replayed: the same aten calls without the Python between them,
which is most of a call at small sizes (hundreds of ops on 48-96 channels). Bit-equal to jit=False.
In bfloat16 the weights are a bfloat16 copy made once and activations stay bfloat16 between layers
(GroupNorm accumulates in float32 internally); the step embedding and the FiLM products (one row
when every sample shares the condition, as in sampling) stay float32. Except "conv2d": its
convolutions run in bfloat16 and everything between them (GroupNorm, activation, FiLM, residual
adds) in float32, each product's input cast once. At 48-96 channels (planscope's own U-Net, N=128,
one thread) a bfloat16 convolution takes 0.25-0.4 of float32's on a CPU with AMX while bfloat16
GroupNorm takes 4-6x float32's, so this is faster than both plain precisions (per call: 7.4 ms
against 10.2 float32 and 12.6 all-bfloat16); at 256-2048 channels the all-bfloat16 "gemm" wins
(mixed is 3-5 % slower there), so the other kernels keep bfloat16 throughout.
"""
from __future__ import annotations

import threading
import warnings

import torch
import torch.nn.functional as F

from planners.acceleration.lowering import ConvBlock, Resample, ResidualBlock, UnetGraph

CONV_KERNELS = ("gemm", "packed", "conv2d", "conv1d")
MAX_TRACES = 8          # jit: traced bodies kept per executor (one per input shape)


def packing_available() -> bool:
    """Whether this torch build has MKL's packed sgemm (torch.ops.mkl._mkl_linear)."""
    return bool(torch.backends.mkl.is_available()) and hasattr(torch.ops.mkl, "_mkl_reorder_linear_weight")


class _Packed:
    """A float32 [O, K] weight packed by MKL once, with its bias: packed(x [..., K]) -> [..., O]."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor) -> None:
        self.packed = torch.ops.mkl._mkl_reorder_linear_weight(w.contiguous(), 1)
        self.bias = b.contiguous()
        # _mkl_linear reads only the shape of its plain weight argument when the row count matches
        # the one passed (always, below): a zero-stride stand-in keeps one copy of the weights, not two
        self.shape_only = w.new_zeros(()).expand(w.shape)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.numel() // x.shape[-1]
        # prepack_batch_size == rows: MKL computes with the packed copy (any other value falls back)
        return torch.ops.mkl._mkl_linear(x, self.packed, self.shape_only, self.bias, rows)


class FastUnet:
    """A callable U-Net over prepared weights (see the module doc). Holds no autograd state: use
    it under torch.inference_mode()/no_grad for sampling only."""

    def __init__(self, graph: UnetGraph, *, conv: str = "gemm", dtype: torch.dtype = torch.float32,
                 jit: bool = False) -> None:
        if conv not in CONV_KERNELS:
            raise ValueError(f"conv kernel {conv!r} is not one of {', '.join(CONV_KERNELS)}")
        if conv == "packed" and (dtype != torch.float32 or not packing_available()):
            raise ValueError("the packed kernel needs float32 and a torch built with MKL")
        self.graph, self.conv, self.dtype, self.jit = graph, conv, dtype, bool(jit)
        # what flows between the products (GroupNorm, activation, FiLM, adds): the products' dtype,
        # except conv2d in reduced precision, whose products run in bfloat16 and everything between
        # them in float32 (see the module doc: at 48-96 channels that is faster than either)
        self.act = torch.float32 if conv == "conv2d" else dtype
        self._traces: dict[tuple, object] = {}
        self._trace_lock = threading.Lock()
        self._act = F.silu if graph.activation == "silu" else F.mish
        with torch.no_grad():
            self._prepared = {id(b): self._prepare_block(b) for b in graph.blocks}
            self._down = [self._prepare_resample(r, transposed=False) for _, _, r in graph.down]
            self._up = [self._prepare_resample(r, transposed=True) for _, _, r in graph.up]
            self._final = self._prepare_conv(graph.final_block)
            self._final_proj = self._linear_weights(graph.final_weight, graph.final_bias)
            # every block's FiLM layer as one [sum F, cond_dim] product
            self._film_w = torch.cat([b.film_weight.detach() for b in graph.blocks]).float()
            self._film_b = torch.cat([b.film_bias.detach() for b in graph.blocks]).float()
            self._film_sizes = [int(b.film_weight.shape[0]) for b in graph.blocks]
            self.film_width = sum(self._film_sizes)     # sum F: one row of films()

    # -- weight preparation (once) --------------------------------------------------------------

    def _conv_weight(self, w: torch.Tensor) -> torch.Tensor:
        """[O, I, k] -> gemm: [O, k*I] (tap-major, matching the gathered columns);
        conv2d: [O, I, 1, k] channels-last."""
        w = w.detach().to(self.dtype)
        if self.conv == "conv1d":
            return w.contiguous()
        if self.conv != "conv2d":
            return w.permute(0, 2, 1).reshape(w.shape[0], -1).contiguous()
        return w.unsqueeze(2).contiguous(memory_format=torch.channels_last)

    def _linear_weights(self, w: torch.Tensor, b: torch.Tensor) -> tuple:
        """(w [O, K], b [O]) as what _linear takes: the pair, or (_Packed,) for the packed kernel."""
        w, b = w.detach().to(self.dtype).contiguous(), b.detach().to(self.dtype)
        return (_Packed(w, b),) if self.conv == "packed" else (w, b)

    def _prepare_conv(self, c: ConvBlock) -> tuple:
        k = int(c.weight.shape[-1])
        if self.conv == "packed":
            return (self._linear_weights(self._conv_weight(c.weight), c.bias), None, k,
                    c.norm_weight.detach().to(self.act), c.norm_bias.detach().to(self.act), c.groups, c.eps)
        return (self._conv_weight(c.weight), c.bias.detach().to(self.dtype), k,
                c.norm_weight.detach().to(self.act), c.norm_bias.detach().to(self.act), c.groups, c.eps)

    def _prepare_block(self, b: ResidualBlock) -> tuple:
        res = None
        if b.residual_weight is not None:
            res = self._linear_weights(b.residual_weight, b.residual_bias)
        # plain ints: a traced body must not read a parameter's shape (it would become a constant)
        return self._prepare_conv(b.conv1), self._prepare_conv(b.conv2), res, b.out_channels, bool(b.predict_scale)

    def _prepare_resample(self, r: Resample | None, transposed: bool):
        if r is None:
            return None
        w, b = r.weight.detach().to(self.dtype), r.bias.detach().to(self.dtype)
        if self.conv == "conv2d":
            return w.unsqueeze(2).contiguous(memory_format=torch.channels_last), b
        if self.conv == "conv1d":
            return w.contiguous(), b
        if not transposed:   # [O, I, 3] -> [O, 3I]
            return self._linear_weights(w.permute(0, 2, 1).reshape(w.shape[0], -1), b)
        # ConvTranspose1d weight [I, O, 4]: out[2m] = x[m-1] W3 + x[m] W1, out[2m+1] = x[m] W2 + x[m+1] W0
        zero = torch.zeros_like(w[:, :, 0].T)
        even = torch.cat([w[:, :, 3].T, w[:, :, 1].T, zero], dim=1)
        odd = torch.cat([zero, w[:, :, 2].T, w[:, :, 0].T], dim=1)
        return self._linear_weights(torch.cat([even, odd]), torch.cat([b, b]))

    # -- forward ---------------------------------------------------------------------------------

    def __call__(self, x: torch.Tensor, t: torch.Tensor | float | int, cond: torch.Tensor | None) -> torch.Tensor:
        """x [B, H, D] float32, t scalar or [B], cond [1 | B, global_cond_dim] (None: no global
        condition) -> [B, H, D] float32. Rows of t / cond broadcast over the batch when 1."""
        return self.body(x, self.films(t, cond))

    def films(self, t: torch.Tensor | float | int, cond: torch.Tensor | None) -> torch.Tensor:
        """Every block's FiLM scale and bias for step(s) t: [R, sum F] in the executor's dtype,
        R = max(rows of t, rows of cond). It does not depend on x, so a sampler that knows its
        timesteps computes all of them before the loop (films_for_steps)."""
        g = self.graph
        t = torch.as_tensor(t, device=self._film_w.device)
        rows = max(t.numel(), 1 if cond is None else cond.shape[0])
        steps = t.reshape(-1).expand(rows) if t.numel() == 1 else t.reshape(-1)
        feature = g.step_encoder(steps).float()
        if cond is not None and cond.shape[-1]:
            feature = torch.cat([feature, cond.float().expand(rows, -1)], dim=-1)
        feature = F.silu(feature) if g.activation == "silu" else F.mish(feature)
        return F.linear(feature, self._film_w, self._film_b).to(self.act)

    def films_for_steps(self, timesteps: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """films() for every step of a sampling call at once: timesteps [S] (the scheduler's), cond
        [1 | B, G] -> [S, 1 | B, sum F]. The activation precedes the FiLM Linear elementwise, so
        the S x rows feature rows go through ONE matrix product (at N=1 on a 250 M model the FiLM
        weights are then read once per sampling, not once per step)."""
        timesteps = timesteps.reshape(-1)
        steps = timesteps.numel()
        rows = 1 if cond is None else cond.shape[0]
        t = timesteps.repeat_interleave(rows)                              # [S * rows]
        c = None if cond is None else cond.repeat(steps, 1)                # [S * rows, G]
        return self.films(t, c).reshape(steps, rows, -1)

    def body(self, x: torch.Tensor, films: torch.Tensor) -> torch.Tensor:
        """The U-Net on x [B, H, D] float32 given films [1 | B, sum F] -> [B, H, D] float32; with
        jit=True, a TorchScript trace of this function per input shape (see the module doc)."""
        if not self.jit:
            return self._body(x, films)
        key = (tuple(x.shape), tuple(films.shape))
        traced = self._traces.get(key)
        if traced is None:
            traced = self._trace(key, x, films)
        return traced(x, films)

    def _trace(self, key: tuple, x: torch.Tensor, films: torch.Tensor):
        with self._trace_lock:
            traced = self._traces.get(key)
            if traced is None:
                with torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")   # TorchScript's deprecation notice
                    traced = torch.jit.trace(self._body, (x, films), check_trace=False)
                while len(self._traces) >= MAX_TRACES:   # a long session's many N: keep the newest
                    self._traces.pop(next(iter(self._traces)))
                self._traces[key] = traced
        return traced

    def _body(self, x: torch.Tensor, films: torch.Tensor) -> torch.Tensor:
        g = self.graph
        split = iter(films.split(self._film_sizes, dim=1))
        blocks = iter(g.blocks)
        h = x.to(self.act).contiguous()
        skips = []
        for down in self._down:
            for _ in range(2):
                h = self._residual(h, next(blocks), next(split))
            skips.append(h)
            if down is not None:
                h = self._downsample(h.to(self.dtype), *down).to(self.act)
        for _ in g.mid:
            h = self._residual(h, next(blocks), next(split))
        for up in self._up:
            h = torch.cat([h, skips.pop()], dim=-1)
            for _ in range(2):
                h = self._residual(h, next(blocks), next(split))
            if up is not None:
                h = self._upsample(h.to(self.dtype), *up).to(self.act)
        h = self._conv_block(h, self._final)
        return _linear(h.to(self.dtype), self._final_proj).float()

    def _residual(self, h: torch.Tensor, block: ResidualBlock, film: torch.Tensor) -> torch.Tensor:
        conv1, conv2, res, c, predict_scale = self._prepared[id(block)]
        low = h.to(self.dtype)           # h itself unless activations and products differ in dtype
        out = self._conv_block(low, conv1)
        if predict_scale:
            out = torch.addcmul(film[:, None, c:], out, film[:, None, :c])
        else:
            out = out.add_(film[:, None, :])
        out = self._conv_block(out, conv2)
        return out.add_(_linear(low, res) if res is not None else h)

    def _conv_block(self, h: torch.Tensor, prepared: tuple) -> torch.Tensor:
        """conv -> GroupNorm -> activation: h [B, L, C] in any dtype -> [B, L, O] in self.act."""
        w, b, k, nw, nb, groups, eps = prepared
        out = self._conv(h.to(self.dtype), w, b, k).to(self.act)
        # [B, L, C] contiguous is [B, C, 1, L] channels-last: GroupNorm's channels-last kernel
        normed = F.group_norm(_as_nchw(out), groups, nw, nb, eps)
        out = _as_nlc(normed)
        return self._act(out, inplace=True)

    def _conv(self, h: torch.Tensor, w: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
        if self.conv == "conv2d":
            return _as_nlc(F.conv2d(_as_nchw(h), w, b, padding=(0, k // 2)))
        if self.conv == "conv1d":
            return F.conv1d(h.transpose(1, 2), w, b, padding=k // 2).transpose(1, 2).contiguous()
        p = k // 2
        length = h.shape[1]
        padded = F.pad(h, (0, 0, p, p))
        cols = torch.cat([padded[:, j:j + length] for j in range(k)], dim=-1) if k > 1 else h
        return _linear(cols, w) if b is None else F.linear(cols, w, b)

    def _downsample(self, h: torch.Tensor, *weights) -> torch.Tensor:
        if self.conv == "conv2d":
            return _as_nlc(F.conv2d(_as_nchw(h), *weights, stride=(1, 2), padding=(0, 1)))
        if self.conv == "conv1d":
            return F.conv1d(h.transpose(1, 2), *weights, stride=2, padding=1).transpose(1, 2).contiguous()
        length = h.shape[1]
        padded = F.pad(h, (0, 0, 1, 1))
        cols = torch.cat([padded[:, j:j + length:2] for j in range(3)], dim=-1)
        return _linear(cols, weights)

    def _upsample(self, h: torch.Tensor, *weights) -> torch.Tensor:
        if self.conv == "conv2d":
            return _as_nlc(F.conv_transpose2d(_as_nchw(h), *weights, stride=(1, 2), padding=(0, 1)))
        if self.conv == "conv1d":
            return F.conv_transpose1d(h.transpose(1, 2), *weights, stride=2, padding=1).transpose(1, 2).contiguous()
        bsz, length, _ = h.shape
        padded = F.pad(h, (0, 0, 1, 1))
        cols = torch.cat([padded[:, j:j + length] for j in range(3)], dim=-1)
        out = _linear(cols, weights)                                   # [B, L, 2 * O]: (even, odd)
        return out.reshape(bsz, 2 * length, -1)


def _linear(x: torch.Tensor, weights: tuple) -> torch.Tensor:
    """x [..., K] @ w.T + b for weights (w [O, K], b [O]) or (_Packed,)."""
    return weights[0](x) if len(weights) == 1 else F.linear(x, *weights)


def _as_nchw(h: torch.Tensor) -> torch.Tensor:
    """[B, L, C] contiguous -> the same memory as [B, C, 1, L] channels-last (a view)."""
    return h.permute(0, 2, 1).unsqueeze(2)


def _as_nlc(h: torch.Tensor) -> torch.Tensor:
    """[B, C, 1, L] -> [B, L, C] contiguous (a view when h is channels-last, else a copy)."""
    return h.squeeze(2).permute(0, 2, 1).contiguous()
