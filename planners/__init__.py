"""Planners: diffusion policy, regression baseline, teaching probe, mode analysis. torch + numpy; no Qt, no pybullet.

Public entry points (torch is imported lazily, only when a checkpoint is loaded):
    load_planner(source, device="cpu")   checkpoint dir | "probe" | "module:attr"  -> Planner
    analyze_modes(...)                   planners.modes: clusters, entropy, coverage, verdict
"""
from __future__ import annotations

from planners.protocol import SOLVERS, Planner, PlannerError, PlannerSpec, check_compatible

__all__ = ["SOLVERS", "Planner", "PlannerError", "PlannerSpec", "check_compatible", "load_planner"]


def load_planner(source, *, device: str = "cpu", chain_dtype: str = "float32"):
    """See planners.loading.load_planner."""
    from planners.loading import load_planner as _load
    return _load(source, device=device, chain_dtype=chain_dtype)
