"""Sample N plans for each of F observations in ONE sampler call: a data-set scan's frames.

    batches = sample_frames(model_fn_for, conds, settings, num_samples=N, horizon=H,
                            action_dim=D, seeds=[s_0 .. s_F-1], solver="ddim", steps=10,
                            to_actions=unnormalize, initial_noise=noise)   # noise [F, N, H, D]

A planner that can condition on several observations at once (planscope's DiffusionPlanner, the
LeRobot and diffusion_policy adapters on their global-condition path) offers
`plan_frames(observations, num_samples, *, seeds, ...)`, built on `sample_frames`: the F
conditions [1, G] are stacked, each repeated N times ([F*N, G], frame-major), and one
`planners.sampling.sample_chain` call denoises all F*N rows, one model forward per solver step
instead of F. The same code runs on the CPU and on CUDA (the rows live on the planner's device).

Noise: frame f gets exactly the noise an unbatched `plan(obs_f, N, seed=seeds[f],
initial_noise=initial_noise[f])` would use: its initial noise as given (or drawn first from
`torch.Generator().manual_seed(seeds[f])`), then, for DDPM, its K step draws from that same
generator in step order. So a frame's plans equal its unbatched plans up to float rounding (the
matrix products of an F*N batch may block differently from an N batch); `tests/planners/
test_frame_batch.py` checks the tolerance per solver.

What comes back is one PlanBatch per frame, [N, H, D] plans and [S+1, N, H, D] chain, the
frame's seed and noise; step_ms and wall_ms are the call's divided by F (the cost per frame),
meta["frames_batched"] = F.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from planners.protocol import PlannerError
from planners.sampling import SchedulerSettings, noise_steps, sample_chain
from recordings.plan_batch import PlanBatch

ModelFnFor = Callable[[torch.Tensor, int], Callable]   # (cond rows [B, G], B) -> model_fn


def frame_noise_streams(seeds: Sequence[int], shape: tuple[int, int, int], k_noise: int,
                        initial_noise: np.ndarray | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(initial noise [F*N, H, D], step noise [K, F*N, H, D] or None when K = 0), frame-major:
    rows f*N .. (f+1)*N-1 are frame f's, drawn as `sample_chain` draws them for seeds[f]."""
    inits, steps = [], []
    for f, seed in enumerate(seeds):
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        drawn = torch.randn(shape, generator=generator, dtype=torch.float32)
        inits.append(drawn if initial_noise is None else
                     torch.from_numpy(np.ascontiguousarray(initial_noise[f], dtype=np.float32)))
        steps.append([torch.randn(shape, generator=generator, dtype=torch.float32)
                      for _ in range(k_noise)])
    init = torch.cat(inits)
    if not k_noise:
        return init, None
    return init, torch.stack([torch.cat([s[k] for s in steps]) for k in range(k_noise)])


def sample_frames(model_fn_for: ModelFnFor, conds: Sequence[torch.Tensor | None],
                  settings: SchedulerSettings, *, num_samples: int, horizon: int, action_dim: int,
                  seeds: Sequence[int], solver: str, steps: int, to_actions: Callable,
                  temperature: float = 1.0, initial_noise=None, planner_name: str = "",
                  chain_dtype: str = "float32", device: str | torch.device = "cpu",
                  meta: dict | None = None) -> list[PlanBatch]:
    """One PlanBatch per frame (module doc). conds: F conditions [1, G] (None for a model
    without global conditioning); initial_noise: [F, N, H, D] normalised, or None to draw it
    from the seeds; model_fn_for(rows [F*N, G] | None, F*N) gives the sampler's model_fn."""
    f_count, n = len(conds), int(num_samples)
    if f_count < 1 or len(seeds) != f_count:
        raise PlannerError(f"sample_frames: {f_count} conditions and {len(seeds)} seeds "
                           f"(one seed per frame, at least one frame)")
    shape = (n, int(horizon), int(action_dim))
    if initial_noise is not None and np.shape(initial_noise) != (f_count, *shape):
        raise PlannerError(f"initial_noise has shape {list(np.shape(initial_noise))}, expected "
                           f"[{f_count}, {n}, {horizon}, {action_dim}] (frames, N, H, D)")
    rows = None
    if conds[0] is not None:
        rows = torch.cat([c.reshape(1, -1) for c in conds]).to(device).repeat_interleave(n, dim=0)
    model_fn = model_fn_for(rows, f_count * n)
    k_noise = noise_steps(settings, solver, steps)
    init, step = frame_noise_streams(seeds, shape, k_noise, initial_noise)
    whole = sample_chain(model_fn, settings, num_samples=f_count * n, horizon=horizon,
                         action_dim=action_dim, seed=int(seeds[0]), solver=solver, steps=steps,
                         to_actions=to_actions, temperature=temperature, initial_noise=init,
                         step_noise=step, planner_name=planner_name, chain_dtype=chain_dtype,
                         device=device, meta={**(meta or {}), **getattr(model_fn, "meta", {})})
    return split_batch(whole, f_count, seeds)


def split_batch(whole: PlanBatch, frames: int, seeds: Sequence[int]) -> list[PlanBatch]:
    """A [F*N]-row PlanBatch (frame-major) -> F PlanBatches of N rows (module doc)."""
    n = whole.num_samples // frames
    out = []
    for f in range(frames):
        rows = slice(f * n, (f + 1) * n)
        plans = np.ascontiguousarray(whole.plans[rows])
        nonfinite = int(plans.size - np.count_nonzero(np.isfinite(plans)))
        out.append(PlanBatch(
            plans=plans, chain=np.ascontiguousarray(whole.chain[:, rows]),
            x0_estimates=np.ascontiguousarray(whole.x0_estimates[:, rows]),
            timesteps=whole.timesteps, step_ms=whole.step_ms / frames, solver=whole.solver,
            seed=int(seeds[f]), planner=whole.planner, temperature=whole.temperature,
            cancelled=whole.cancelled, wall_ms=whole.wall_ms / frames,
            meta={**whole.meta, "nonfinite_count": nonfinite, "frames_batched": frames},
            initial_noise=None if whole.initial_noise is None else whole.initial_noise[rows],
            step_noise=None if whole.step_noise is None else whole.step_noise[:, rows]))
    return out
