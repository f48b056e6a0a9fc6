"""The teaching probe: the seed's worked example (Code Fragment 41.1.1), reproduced exactly.

A clean 2-D plan tau_0 (6 waypoints on the line y = 0 from (0, 0) to the goal (1, 0)) is noised
forward under a fixed schedule abar = [0.85, 0.65, 0.45, 0.25, 0.08] with ONE noise draw
(np.random.default_rng(seed).normal(size=(6, 2))), then denoised with five DDIM-style
deterministic steps using a hand-made denoiser that pulls the waypoints back onto the line.
With seed 7 the endpoint distances are the seed's printed ones:
    forward 0.178 0.232 0.267 0.318 0.422    reverse 0.326 0.282 0.250 0.195 0.016

ProbePlanner exposes the reverse pass as a PlanBatch (D = 2, H = 6, S = 5), so every chain view
works on it; `probe_report()` prints the two tables for a stakeholder.
"""
from __future__ import annotations

import time

import numpy as np

from planners.protocol import PlannerError, PlannerSpec
from recordings.plan_batch import PlanBatch

H = 6
GOAL = np.array([1.0, 0.0])
ABAR = np.array([0.85, 0.65, 0.45, 0.25, 0.08])
SEED = 7


def clean_plan() -> np.ndarray:
    """tau_0 [H, 2]: the straight line from (0, 0) to the goal."""
    return np.stack([np.linspace(0.0, 1.0, H), np.zeros(H)], axis=1)


def endpoint_dist(tau: np.ndarray) -> float:
    return float(np.linalg.norm(tau[-1] - GOAL))


def denoise_to_tau0(tau_t: np.ndarray) -> np.ndarray:
    """The hand-made stand-in for a trained denoiser: estimate tau_0 [H, 2] from tau_t [H, 2]."""
    x = np.clip(tau_t[:, 0], 0.0, 1.0)
    return np.stack([np.linspace(x.min(), 1.0, H), tau_t[:, 1] * 0.1], axis=1)


def forward_reverse_trace(seed: int = SEED, noise: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Run forward noising and reverse denoising once.

    Returns tau0 [H,2], goal [2], abar [T], forward [T,H,2] (tau_1..tau_T),
    reverse [T,H,2] (the plan after each reverse step, reverse[-1] the final plan),
    x0_estimates [T,H,2] (the denoiser's tau_0 estimate at each reverse step)."""
    tau0 = clean_plan()
    if noise is None:
        noise = np.random.default_rng(seed).normal(size=tau0.shape)
    forward = np.stack([np.sqrt(a) * tau0 + np.sqrt(1.0 - a) * noise for a in ABAR])
    tau = forward[-1].copy()
    reverse, estimates = [], []
    for t in reversed(range(len(ABAR))):
        tau0_hat = denoise_to_tau0(tau)
        if t > 0:   # DDIM-style deterministic step toward t-1
            eps_hat = (tau - np.sqrt(ABAR[t]) * tau0_hat) / np.sqrt(1.0 - ABAR[t])
            tau = np.sqrt(ABAR[t - 1]) * tau0_hat + np.sqrt(1.0 - ABAR[t - 1]) * eps_hat
        else:
            tau = tau0_hat
        reverse.append(tau)
        estimates.append(tau0_hat)
    return {"tau0": tau0, "goal": GOAL.copy(), "abar": ABAR.copy(), "forward": forward,
            "reverse": np.stack(reverse), "x0_estimates": np.stack(estimates)}


def probe_report(seed: int = SEED) -> str:
    """The seed's printout: endpoint distance to the goal after every forward and reverse step."""
    trace = forward_reverse_trace(seed)
    lines = ["Forward noising q(tau_t | tau_0):"]
    for t, (a, tau) in enumerate(zip(trace["abar"], trace["forward"])):
        lines.append(f"  t={t + 1}  abar={a:.2f}  dist_to_goal={endpoint_dist(tau):.3f}")
    lines += ["", "Reverse denoising p_theta(tau_{t-1} | tau_t, goal):"]
    for k, tau in enumerate(trace["reverse"]):
        lines.append(f"  t={len(ABAR) - 1 - k}  dist_to_goal={endpoint_dist(tau):.3f}")
    return "\n".join(lines)


class ProbePlanner:
    """The probe behind the Planner protocol. obs is ignored (the goal is fixed at (1, 0)).

    Sample i starts from the forward-noised line with the i-th noise draw of
    default_rng(seed); sample 0 with seed 7 is the seed's worked example. The chain is
    [T+1, N, 6, 2]: chain[0] = tau_T (the noised plan), chain[k] after reverse step k."""

    spec = PlannerSpec(name="probe", kind="probe", scene="", obs_dim=0, action_dim=2, horizon=H,
                       features=(), obs_format="dict", default_solver="ddim", default_steps=len(ABAR),
                       library="planscope",
                       extra={"description": "seed worked example: 2-D line to goal (1, 0)"})

    def plan(self, obs=None, num_samples: int = 1, *, seed: int = SEED, solver: str = "ddim",
             steps: int = len(ABAR), temperature: float = 1.0, initial_noise=None, step_noise=None,
             on_step=None, cancel=None, **_) -> PlanBatch:
        """obs: ignored (the probe needs no feature). initial_noise [N, 6, 2] float64: the unit-variance
        draws that noise the line forward (recorded in the batch; None = default_rng(seed)).
        Its reverse steps add no noise: step_noise is [0, N, 6, 2]."""
        start = time.perf_counter()
        n = max(1, int(num_samples))
        if initial_noise is None:
            rng = np.random.default_rng(seed)
            draws = np.stack([rng.normal(size=(H, 2)) for _ in range(n)])
        else:
            draws = np.asarray(initial_noise, dtype=np.float64)
            if draws.shape != (n, H, 2):
                raise PlannerError(f"initial_noise has shape {list(draws.shape)}, expected [{n}, {H}, 2]")
        traces = [forward_reverse_trace(noise=temperature * draw) for draw in draws]
        s = len(ABAR)
        chain = np.stack([np.concatenate([tr["forward"][-1:], tr["reverse"]]) for tr in traces], axis=1)
        x0 = np.stack([tr["x0_estimates"] for tr in traces], axis=1)
        timesteps = np.arange(s, 0, -1, dtype=np.int64)
        done, cancelled = s, False
        step_ms = np.zeros(s)
        for k in range(s):
            if cancel is not None and cancel():
                done, cancelled = k, True
                break
            if on_step is not None:
                on_step(k + 1, s, self._batch(chain, x0, timesteps, step_ms, k + 1, seed, temperature, False, start,
                                              draws))
        return self._batch(chain, x0, timesteps, step_ms, done, seed, temperature, cancelled, start, draws)

    def _batch(self, chain, x0, timesteps, step_ms, done, seed, temperature, cancelled, start,
               draws) -> PlanBatch:
        dists = np.linalg.norm(chain[: done + 1, :, -1] - GOAL, axis=-1)   # [k+1, N]
        return PlanBatch(plans=chain[done].astype(np.float32), chain=chain[: done + 1].astype(np.float32),
                         x0_estimates=x0[:done].astype(np.float32), timesteps=timesteps[:done],
                         step_ms=step_ms[:done], solver="ddim", seed=int(seed), planner="probe",
                         temperature=float(temperature), cancelled=cancelled,
                         wall_ms=(time.perf_counter() - start) * 1000.0,
                         meta={"endpoint_dist": dists, "goal": GOAL.copy(), "abar": ABAR.copy(),
                               "steps_requested": len(ABAR)},
                         initial_noise=draws, step_noise=np.zeros((0, *draws.shape)))   # float64: exact replay
