"""Planners: diffusion policy, regression baseline, teaching probe, mode analysis. torch + numpy; no Qt, no pybullet."""
