"""The one chain-keeping diffusion sampler: planscope's DiffusionPlanner and the LeRobot and
diffusion_policy adapters all sample through `sample_chain`, so every policy gets the same
chain, the same solvers and the same exact replay.

    settings = SchedulerSettings(num_train_timesteps=100, prediction_type="epsilon", ...)
    batch = sample_chain(model_fn, settings, num_samples=N, horizon=H, action_dim=D, seed=0,
                         solver="ddpm", steps=100, to_actions=unnormalize)

API (as suggested in the brief; kept): `SchedulerSettings`, `make_scheduler(settings, solver)`,
`make_training_scheduler(settings)`, `check_steps(settings, solver, steps)`,
`noise_steps(settings, solver, steps)`, `sample_chain(...)`. The schedules and the DDIM and
DPM-Solver++ steps are diffusers' (`DDPMScheduler`, `DDIMScheduler` with eta 0,
`DPMSolverMultistepScheduler` with `algorithm_type="dpmsolver++"`). DDPM's step is written here
exactly as `DDPMScheduler.step` writes it, on that scheduler's own tables, because diffusers' step
cannot be given its noise (only a generator): bit-equal to diffusers' step for the same noise
(tested for every prediction type, clipped or not).

Noise, replay and what a PlanBatch records (all normalised action space, float32, unit variance):
    initial_noise [N, H, D]     the standard-normal draw: x_T = temperature * init_noise_sigma * it
    step_noise    [K, N, H, D]  the standard-normal draw DDPM adds at every step whose timestep is
                                > 0, in step order: x_{t-1} = mean + temperature * std_t * it.
                                K = `noise_steps(settings, "ddpm", S)`: S - 1 when the schedule ends
                                at t = 0 (DDPM over the full schedule), S when it stops above 0
                                (e.g. "trailing" spacing with S < T, where the last std is 0 and the
                                draw is kept only so that seeds match diffusers). DDIM (eta 0) and
                                DPM-Solver++ add no noise: K = 0.
When not given, both are drawn from ONE CPU `torch.Generator().manual_seed(seed)`: first the
initial noise `torch.randn((N, H, D))`, then one `torch.randn((N, H, D))` per DDPM step with t > 0
— the same draws, in the same order, as LeRobot's and diffusion_policy's `conditional_sample`
with that generator and as diffusers' own `DDPMScheduler.step(generator=...)`. The returned
`PlanBatch.initial_noise` and `PlanBatch.step_noise` hold what was used; passing them back (with
the same solver, steps and temperature; `PlanBatch.replay_args()` collects them) reproduces the
batch exactly. A subset of samples (`replay_args(indices)`) reproduces those samples to float
rounding (matrix products may block differently for another batch size).
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Callable

import numpy as np
import torch

from planners.acceleration.accelerator import StepCancelled
from planners.protocol import SOLVERS, CancelCheck, PlannerError, StepCallback
from recordings.plan_batch import PlanBatch

BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")
PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")
VARIANCE_TYPES = ("fixed_small", "fixed_small_log", "fixed_large")
TIMESTEP_SPACINGS = ("leading", "trailing", "linspace")
CHAIN_DTYPES = ("float32", "float16")

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ToActions = Callable[[torch.Tensor], np.ndarray]

# diffusers resolves its classes through a lazy module; two threads doing the first lookup at
# once can see a half-initialised module ("cannot import name 'DDIMScheduler'"). One lock makes
# the first import happen once.
_IMPORT_LOCK = threading.Lock()


def _diffusers():
    with _IMPORT_LOCK:
        import diffusers
        return diffusers.DDIMScheduler, diffusers.DDPMScheduler, diffusers.DPMSolverMultistepScheduler


@dataclass(frozen=True)
class SchedulerSettings:
    """The noise schedule a policy was trained with and how its solvers are configured.

    Field names and meanings are diffusers' (`DDPMScheduler` etc.). Defaults are planscope's own
    policies': cosine schedule over 100 steps, x0 ("sample") prediction clipped to the normalised
    range [-1, 1], "trailing" timestep spacing (few-step solvers start at t = T-1).
    dpmpp_order: DPM-Solver++ order (2, lower order on the final step).
    ddim_eta: DDIM's eta; only 0 (deterministic) is supported, so a chain is fully given by the
      initial noise.
    For DPM-Solver++, clip_sample becomes diffusers' thresholding with sample_max_value =
    clip_sample_range (with range 1, the default everywhere, exactly a clamp to [-1, 1]).
    """
    num_train_timesteps: int = 100
    beta_start: float = 0.0001
    beta_end: float = 0.02
    beta_schedule: str = "squaredcos_cap_v2"
    prediction_type: str = "sample"
    clip_sample: bool = True
    clip_sample_range: float = 1.0
    variance_type: str = "fixed_small"
    timestep_spacing: str = "trailing"
    set_alpha_to_one: bool = True
    steps_offset: int = 0
    dpmpp_order: int = 2
    ddim_eta: float = 0.0

    def __post_init__(self) -> None:
        _check_int("num_train_timesteps", self.num_train_timesteps, 1)
        _check_int("steps_offset", self.steps_offset, 0)
        if self.dpmpp_order not in (1, 2, 3) or isinstance(self.dpmpp_order, bool):
            raise ValueError(f"SchedulerSettings.dpmpp_order must be 1, 2 or 3, got {self.dpmpp_order!r}")
        for name in ("beta_start", "beta_end", "clip_sample_range"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
                raise ValueError(f"SchedulerSettings.{name} must be a positive number, got {value!r}")
        for name, allowed in (("beta_schedule", BETA_SCHEDULES), ("prediction_type", PREDICTION_TYPES),
                              ("variance_type", VARIANCE_TYPES), ("timestep_spacing", TIMESTEP_SPACINGS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"SchedulerSettings.{name}={getattr(self, name)!r} is not one of {', '.join(allowed)}")
        for name in ("clip_sample", "set_alpha_to_one"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"SchedulerSettings.{name} must be true or false, got {getattr(self, name)!r}")
        if self.ddim_eta != 0.0:
            raise ValueError(f"SchedulerSettings.ddim_eta must be 0 (deterministic DDIM), got {self.ddim_eta!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, payload: dict) -> "SchedulerSettings":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ValueError(f"unknown SchedulerSettings fields {unknown} (allowed: {sorted(known)})")
        return cls(**payload)


def make_scheduler(settings: SchedulerSettings, solver: str):
    """A fresh diffusers scheduler for one sampling call (schedulers keep per-call state).

    "ddpm" -> DDPMScheduler; "ddim" -> DDIMScheduler (eta 0); "dpmpp" -> DPMSolverMultistepScheduler
    with algorithm_type "dpmsolver++". PlannerError naming the allowed solvers otherwise."""
    DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler = _diffusers()
    common = dict(num_train_timesteps=settings.num_train_timesteps, beta_start=settings.beta_start,
                  beta_end=settings.beta_end, beta_schedule=settings.beta_schedule,
                  prediction_type=settings.prediction_type, timestep_spacing=settings.timestep_spacing,
                  steps_offset=settings.steps_offset)
    if solver == "ddpm":
        return DDPMScheduler(**common, clip_sample=settings.clip_sample,
                             clip_sample_range=settings.clip_sample_range, variance_type=settings.variance_type)
    if solver == "ddim":
        return DDIMScheduler(**common, clip_sample=settings.clip_sample,
                             clip_sample_range=settings.clip_sample_range,
                             set_alpha_to_one=settings.set_alpha_to_one)
    if solver == "dpmpp":
        # Thresholding with sample_max_value = range clips the x0 prediction to the normalised data
        # range, as clip_sample does for DDPM/DDIM; without it the first step (abar ~ 0 under the
        # cosine schedule) divides by ~0 and the plans explode.
        return DPMSolverMultistepScheduler(**common, algorithm_type="dpmsolver++",
                                           solver_order=settings.dpmpp_order, lower_order_final=True,
                                           thresholding=settings.clip_sample,
                                           sample_max_value=float(settings.clip_sample_range))
    raise PlannerError(f"unknown solver {solver!r} (allowed: {', '.join(SOLVERS)})")


def make_training_scheduler(settings: SchedulerSettings):
    """The forward-noising scheduler used in training (`add_noise` only)."""
    DDPMScheduler = _diffusers()[1]
    return DDPMScheduler(num_train_timesteps=settings.num_train_timesteps, beta_start=settings.beta_start,
                         beta_end=settings.beta_end, beta_schedule=settings.beta_schedule,
                         prediction_type=settings.prediction_type, clip_sample=settings.clip_sample,
                         clip_sample_range=settings.clip_sample_range, variance_type=settings.variance_type)


def check_steps(settings: SchedulerSettings, solver: str, steps: int) -> int:
    """Validate the solver name and step count S (1..num_train_timesteps); returns S."""
    if solver not in SOLVERS:
        raise PlannerError(f"unknown solver {solver!r} (allowed: {', '.join(SOLVERS)})")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise PlannerError(f"steps must be a positive integer, got {steps!r}")
    if steps > settings.num_train_timesteps:
        raise PlannerError(f"steps={steps} exceeds the {settings.num_train_timesteps} training timesteps "
                           f"of this policy (solver {solver})")
    return int(steps)


def noise_steps(settings: SchedulerSettings, solver: str, steps: int) -> int:
    """K, the number of step-noise draws [K, N, H, D] a call with this solver and S uses."""
    if solver != "ddpm":
        return 0
    scheduler = make_scheduler(settings, solver)
    scheduler.set_timesteps(check_steps(settings, solver, steps))
    return int((scheduler.timesteps > 0).sum())


def sample_chain(model_fn: ModelFn, settings: SchedulerSettings, *, num_samples: int, horizon: int,
                 action_dim: int, seed: int, solver: str, steps: int, to_actions: ToActions,
                 temperature: float = 1.0, initial_noise=None, step_noise=None,
                 on_step: StepCallback | None = None, cancel: CancelCheck | None = None,
                 planner_name: str = "", chain_dtype: str = "float32", device: str | torch.device = "cpu",
                 meta: dict | None = None, clock: Callable[[], float] = time.perf_counter) -> PlanBatch:
    """Sample N plans [N, H, D] and keep the whole chain (see module doc for noise and replay).

    model_fn(x_t, t): x_t [N, H, D] normalised float32 tensor on `device` (already passed through
      `scale_model_input`), t a 0-d int64 tensor on `device` -> model output [N, H, D] (epsilon,
      x0 or v as `settings.prediction_type` says). Conditioning is the caller's closure. When
      model_fn has a `prepare(timesteps [S])` method it is called once before the first step
      with every timestep of the call (planners.acceleration precomputes its FiLM there).
    to_actions(x): normalised [N, H, D] tensor -> numpy [N, H, D] float32 in action units.
    on_step(k, S, partial) after every step k (1-based), partial a PlanBatch of steps 1..k;
    cancel() polled before each step (True -> return now with `cancelled=True`); model_fn may also
      raise planners.acceleration.StepCancelled when it saw cancel() between the batches of one
      split step (same result: the steps done so far, `cancelled=True`).
    chain_dtype: "float32" | "float16" for chain and x0_estimates (plans stay float32).
    meta: merged into the batch's meta (which also gets nonfinite_count, steps_requested,
      chain_dtype, device and the scheduler settings). clock: ms timing source (tests inject one).
    Returns PlanBatch: chain [S+1, N, H, D] (chain[0] = x_T, chain[-1] = plans),
    x0_estimates [S, N, H, D], timesteps [S], step_ms [S], initial_noise, step_noise.
    """
    start = clock()
    n = _positive_int("num_samples", num_samples)
    steps = check_steps(settings, solver, steps)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating)) \
            or not np.isfinite(temperature) or temperature < 0:
        raise PlannerError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if chain_dtype not in CHAIN_DTYPES:
        raise PlannerError(f"chain_dtype {chain_dtype!r} is not one of {', '.join(CHAIN_DTYPES)}")
    device = torch.device(device)
    shape = (n, int(horizon), int(action_dim))
    scheduler = make_scheduler(settings, solver)
    scheduler.set_timesteps(steps, device=device)
    timesteps = scheduler.timesteps.detach().cpu().numpy().astype(np.int64)
    prepare = getattr(model_fn, "prepare", None)
    if prepare is not None:   # a model_fn that precomputes what does not depend on x (the fast path's FiLM)
        prepare(scheduler.timesteps)
    s_total = len(timesteps)
    k_noise = int((timesteps > 0).sum()) if solver == "ddpm" else 0

    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    drawn = torch.randn(shape, generator=generator, dtype=torch.float32)   # drawn even when given: same stream
    init = drawn if initial_noise is None else _noise_tensor("initial_noise", initial_noise, shape)
    given_steps = None
    if step_noise is not None:
        given_steps = _noise_tensor("step_noise", step_noise, (k_noise, *shape), solver=solver)
    step_record = np.empty((k_noise, *shape), dtype=np.float32)

    dtype = np.dtype(chain_dtype)
    chain = np.empty((s_total + 1, *shape), dtype=dtype)
    x0_estimates = np.empty((s_total, *shape), dtype=dtype)
    step_ms = np.zeros(s_total, dtype=np.float64)
    x = (init * float(temperature) * float(scheduler.init_noise_sigma)).to(device)
    chain[0] = to_actions(x)
    base_meta = {"steps_requested": int(s_total), "chain_dtype": str(dtype), "device": str(device),
                 "scheduler": settings.to_json(), **(meta or {})}
    record = _Recorder(chain, x0_estimates, timesteps, step_ms, init.numpy(), step_record, solver, seed,
                       planner_name, float(temperature), base_meta, start, clock)
    done, used, cancelled = 0, 0, False
    with torch.inference_mode():
        for k, t in enumerate(scheduler.timesteps):
            if cancel is not None and cancel():
                cancelled = True
                break
            t_start = clock()
            try:
                model_out = model_fn(scheduler.scale_model_input(x, t), t.to(device))
            except StepCancelled:   # cancel() seen between the batches of a split step
                cancelled = True
                break
            if solver == "ddpm":
                z = None
                if int(t) > 0:
                    z = given_steps[used] if given_steps is not None else \
                        torch.randn(shape, generator=generator, dtype=torch.float32)
                    step_record[used] = z.numpy()
                    used += 1
                x, x0 = _ddpm_step(scheduler, model_out, t, x, z, float(temperature))
            elif solver == "ddim":
                out = scheduler.step(model_out, t, x, eta=0.0)
                x, x0 = out.prev_sample, out.pred_original_sample
            else:
                x = scheduler.step(model_out, t, x).prev_sample
                # The data prediction DPM-Solver++ used at this step (thresholded), kept by diffusers.
                x0 = scheduler.model_outputs[-1]
            chain[k + 1] = to_actions(x)
            x0_estimates[k] = to_actions(x0)
            step_ms[k] = (clock() - t_start) * 1000.0
            done = k + 1
            if on_step is not None:
                on_step(done, s_total, record.batch(done, used, False))
    return record.batch(done, used, cancelled)


def _ddpm_step(scheduler, model_out: torch.Tensor, t: torch.Tensor, x: torch.Tensor, z: torch.Tensor | None,
               temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """DDPMScheduler.step with the noise given: (x_{t-1}, x0-estimate), normalised [N, H, D].

    Written as diffusers' DDPMScheduler.step writes it (same operations in the same order, on
    the scheduler's own alphas_cumprod, previous_timestep and _get_variance), so for the same
    noise the result is bit-equal to diffusers' own step (tested for every prediction type,
    clipped or not). diffusers' step cannot be given its noise, only a generator."""
    config = scheduler.config
    step_t = int(t)
    prev_t = scheduler.previous_timestep(t)
    alpha_prod_t = scheduler.alphas_cumprod[step_t]
    alpha_prod_t_prev = scheduler.alphas_cumprod[int(prev_t)] if prev_t >= 0 else scheduler.one
    beta_prod_t = 1 - alpha_prod_t
    beta_prod_t_prev = 1 - alpha_prod_t_prev
    current_alpha_t = alpha_prod_t / alpha_prod_t_prev
    current_beta_t = 1 - current_alpha_t
    if config.prediction_type == "epsilon":
        x0 = (x - beta_prod_t ** (0.5) * model_out) / alpha_prod_t ** (0.5)
    elif config.prediction_type == "sample":
        x0 = model_out
    else:   # v_prediction
        x0 = (alpha_prod_t ** 0.5) * x - (beta_prod_t ** 0.5) * model_out
    if config.thresholding:
        x0 = scheduler._threshold_sample(x0)
    elif config.clip_sample:
        x0 = x0.clamp(-config.clip_sample_range, config.clip_sample_range)
    pred_original_sample_coeff = (alpha_prod_t_prev ** (0.5) * current_beta_t) / beta_prod_t
    current_sample_coeff = current_alpha_t ** (0.5) * beta_prod_t_prev / beta_prod_t
    mean = pred_original_sample_coeff * x0 + current_sample_coeff * x
    if z is None:            # t == 0: diffusers adds no noise either
        return mean, x0
    noise = z.to(device=x.device, dtype=model_out.dtype)
    if temperature != 1.0:
        noise = noise * temperature
    if scheduler.variance_type == "fixed_small_log":
        variance = scheduler._get_variance(step_t) * noise
    else:
        variance = (scheduler._get_variance(step_t) ** 0.5) * noise
    return mean + variance, x0


class _Recorder:
    """Builds the (partial or final) PlanBatch over the preallocated arrays (views, no copies)."""

    def __init__(self, chain, x0, timesteps, step_ms, initial_noise, step_noise, solver, seed, planner,
                 temperature, meta, start, clock) -> None:
        self.chain, self.x0, self.timesteps, self.step_ms = chain, x0, timesteps, step_ms
        self.initial_noise, self.step_noise = initial_noise, step_noise
        self.solver, self.seed, self.planner, self.temperature = solver, int(seed), planner, temperature
        self.meta, self.start, self.clock = meta, start, clock

    def batch(self, done: int, used: int, cancelled: bool) -> PlanBatch:
        plans = self.chain[done].astype(np.float32)
        nonfinite = int(np.size(plans) - np.count_nonzero(np.isfinite(plans)))
        return PlanBatch(plans=plans, chain=self.chain[:done + 1], x0_estimates=self.x0[:done],
                         timesteps=self.timesteps[:done], step_ms=self.step_ms[:done], solver=self.solver,
                         seed=self.seed, planner=self.planner, temperature=self.temperature,
                         cancelled=cancelled, wall_ms=(self.clock() - self.start) * 1000.0,
                         meta={**self.meta, "nonfinite_count": nonfinite},
                         initial_noise=self.initial_noise, step_noise=self.step_noise[:used])


def _noise_tensor(name: str, value, shape: tuple[int, ...], solver: str = "") -> torch.Tensor:
    """Given noise (numpy or torch) -> a float32 CPU tensor of `shape`; PlannerError otherwise."""
    try:
        array = np.asarray(value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value)
    except Exception as exc:   # ragged lists, objects: one line
        raise PlannerError(f"{name} is not an array ({type(exc).__name__}: {exc})") from None
    if array.dtype.kind not in "fiu":
        raise PlannerError(f"{name} must hold numbers, got dtype {array.dtype}")
    if tuple(array.shape) != tuple(shape):
        what = f"[{', '.join(str(s) for s in shape)}]"
        if name == "step_noise" and shape[0] == 0:
            raise PlannerError(f"step_noise {list(array.shape)} given, but solver {solver!r} adds no noise "
                               f"between steps (expected {what} or None)")
        raise PlannerError(f"{name} has shape {list(array.shape)}, expected {what}")
    if not np.isfinite(array).all():
        raise PlannerError(f"{name} holds NaN or inf values")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise PlannerError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"SchedulerSettings.{name} must be an integer >= {low}, got {value!r}")
