"""A denoiser call captured in a CUDA graph for fixed shapes (the Accelerator's "+graph" variants).

Inputs are copied into static buffers and the graph replayed: kernel-launch overhead, which
dominates small batches on a GPU, is gone. Unmeasured: written without a GPU (none was lent);
tests/planners/test_acceleration.py covers the CPU-side logic with a fake.
"""
from __future__ import annotations

from typing import Callable

import torch


class CudaGraphCall:
    """One variant captured in a CUDA graph for fixed shapes: inputs are copied into static
    buffers and the graph replayed (launch overhead gone). Unmeasured (no GPU where written)."""

    def __init__(self, fn: Callable, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None) -> None:
        self.x, self.t = x.clone(), t.clone()
        self.cond = None if cond is None else cond.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):   # warm-up outside the graph (allocator, cuBLAS handles)
                fn(self.x, self.t, self.cond)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = fn(self.x, self.t, self.cond)

    def __call__(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        self.x.copy_(x)
        self.t.copy_(t)
        if cond is not None:
            self.cond.copy_(cond)
        self.graph.replay()
        return self.out.clone()
