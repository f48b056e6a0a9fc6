"""The solver sweep at a recorded frame (issue 15): the recorded observation, the frame's own
noise, and the local data modes the Modes dock reads — the sweep's point at the sampling panel's
solver and steps IS the inspector's reading there."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from app.core.inspector.frame_source import FrameSampler, mode_names
from app.core.inspector.state import DataFrameSource
from app.core.inspector.sweep import run_frame_sweep


def test_frame_sweep_reads_against_the_local_data_modes(bimodal_h5, bimodal_planner):
    sampler = FrameSampler()
    settings = SimpleNamespace(num_samples=16, seed=3, solver="ddim", steps=8, temperature=1.0)
    outcome = sampler.sample(bimodal_planner, DataFrameSource(bimodal_h5, 2, 0), settings)
    inspection = outcome.inspection
    seen = []
    result = run_frame_sweep(bimodal_planner, inspection, num_samples=16, seed=3,
                             solvers=("ddim", "dpmpp"), steps=(2, 8),
                             progress=lambda done, total, partial: seen.append((done, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert result.names == mode_names(inspection) and len(result.points) == 4
    at = next(p for p in result.points if (p.solver, p.steps) == ("ddim", 8))
    want = [inspection.shares[m] for m in inspection.data_shares]
    np.testing.assert_allclose(at.shares, want)              # the Modes dock's reading, exactly
    assert abs(at.none_share - (1 - sum(want))) < 1e-9
    assert all(np.isnan(p.feasible) for p in result.points)  # no scene: nothing to check
    assert result.reference == ("all solvers", 8) and set(result.fewest) == {"ddim", "dpmpp"}
    cancelled = run_frame_sweep(bimodal_planner, inspection, num_samples=16, seed=3,
                                solvers=("ddim",), steps=(2, 8), cancelled=lambda: True)
    assert cancelled.cancelled and not cancelled.points
    sampler.close()
