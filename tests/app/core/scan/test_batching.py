"""The frames-per-call rule (app/core/scan/batching.py): CPU rows per call, the CUDA memory bound
measured on the first call (torch.cuda's counters replaced: no GPU on the test machine)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.core.scan import batching
from app.core.scan.batching import CUDA_FRAMES_PER_JOB, CudaBudget, frames_per_call


def test_cpu_rule_and_setting():
    assert frames_per_call(0, "cpu", 32) == 16            # 512 rows per forward
    assert frames_per_call(0, "cpu", 8) == 64 and frames_per_call(0, "cpu", 1024) == 1
    assert frames_per_call(3, "cpu", 32) == 3             # --frames-per-call wins
    assert batching.is_cuda("cuda:1") and not batching.is_cuda("cpu")


def test_cuda_bound_is_measured_on_the_first_call(monkeypatch):
    import torch
    state = SimpleNamespace(allocated=1_000, peak=1_000, free=8_000_000)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda: state.allocated)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda: state.peak)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda: None)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (state.free, 16_000_000))
    budget = CudaBudget()
    assert budget.limit(16) == 16                         # nothing measured yet: the CPU rule

    def call():                                           # 4 frames use 40,000 bytes at peak
        state.peak = state.allocated + 40_000
        return "plans"

    assert budget.measure(call, 4) == "plans" and budget.bytes_per_frame == 10_000
    assert budget.limit(16) == 256 == CUDA_FRAMES_PER_JOB  # 0.5 x 8 MB / 10 kB = 400 -> cap
    state.free = 100_000
    assert budget.limit(16) == 5                           # floor(0.5 x 100 kB / 10 kB)
    state.free = 0
    assert budget.limit(16) == 1                           # never below one frame


@pytest.mark.parametrize("per_call, calls", [(1, [1, 1, 1, 1, 1]), (2, [2, 2, 1]), (8, [5])])
def test_frames_are_grouped_and_a_failed_call_is_retried_frame_by_frame(per_call, calls):
    seen = []

    class Planner:
        spec = SimpleNamespace(kind="diffusion", name="fake")

        def plan_frames(self, observations, n, **kw):
            seen.append(len(observations))
            raise RuntimeError("boom")

    class Ctx:
        config = SimpleNamespace(settings=SimpleNamespace(num_samples=2, solver="", steps=0,
                                                          temperature=1.0))

        def observation(self, planner, episode, frame):
            return {"frame": frame}

        def sample(self, planner, obs, seed, noise):
            if obs["frame"] == 3:
                raise ValueError("frame 3 is bad")
            seen.append(1)
            return SimpleNamespace(plans=obs["frame"])

    frames = [SimpleNamespace(frame=t, seed=t, noise=None) for t in range(5)]
    out = batching.sample_frames(Ctx(), Planner(), 0, frames, per_call)
    assert [getattr(r, "plans", None) for r, _ in out] == [0, 1, 2, None, 4]
    assert isinstance(out[3][0], ValueError)              # the bad frame is the one reported
    batched = [s for s in seen if s > 1]
    assert batched == [c for c in calls if c > 1]         # grouped as the rule says
