"""Training loop shared by the diffusion policy and the regression baseline.

Deterministic for a seed: torch.manual_seed, one torch.Generator for shuffling / timesteps / noise,
torch.use_deterministic_algorithms, and a fixed thread count (floating-point reduction order
depends on it). Progress (epoch, loss, ETA) goes to stderr. The result is a checkpoint directory
(planners/checkpoint.py) with the data file's sha256 and provenance inside.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from planners.data import DemoData
from planners.protocol import PlannerError

KINDS = ("diffusion", "regression")
DEFAULT_EPOCHS = {"diffusion": 300, "regression": 100}


@dataclass
class TrainingConfig:
    """kind: "diffusion" | "regression"; epochs over all pairs; batch_size pairs per step;
    lr: AdamW peak learning rate (cosine decay after warmup_steps); ema_decay: max EMA decay
    (diffusion; sampling uses the EMA weights); num_threads: torch CPU threads (fixed for
    determinism); device: "cpu" | "cuda"."""
    kind: str
    epochs: int = 0
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-6
    warmup_steps: int = 100
    ema_decay: float = 0.995
    seed: int = 0
    device: str = "cpu"
    num_threads: int = 2

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PlannerError(f"training kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not self.epochs:
            self.epochs = DEFAULT_EPOCHS[self.kind]
        for name in ("epochs", "batch_size", "num_threads"):
            if int(getattr(self, name)) < 1:
                raise PlannerError(f"training {name} must be >= 1, got {getattr(self, name)!r}")
        if not (0.0 <= self.ema_decay < 1.0):
            raise PlannerError(f"ema_decay must be in [0, 1), got {self.ema_decay!r}")
        if self.device not in ("cpu", "cuda"):
            raise PlannerError(f"device {self.device!r} is not one of cpu, cuda")


def setup_determinism(seed: int, num_threads: int, device: str):
    """Seed torch, fix the thread count, require deterministic kernels; returns a torch.Generator."""
    import torch
    if device == "cuda":
        if not torch.cuda.is_available():
            raise PlannerError("--device cuda was asked for but CUDA is not available on this machine")
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(seed)
    torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator(device="cpu").manual_seed(seed)


class Progress:
    """A one-line progress bar on stderr: epoch, bar, loss, elapsed, ETA."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, width: int = 24) -> None:
        self.total, self.label, self.width = total, label, width
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_print = 0.0

    def update(self, done: int, loss: float) -> None:
        now = time.perf_counter()
        final = done >= self.total
        if not final and now - self._last_print < (0.2 if self.tty else 5.0):
            return
        self._last_print = now
        elapsed = now - self.start
        eta = elapsed / max(done, 1) * (self.total - done)
        filled = int(self.width * done / self.total)
        line = (f"{self.label} epoch {done}/{self.total} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"loss {loss:.5f}  {_fmt_s(elapsed)} elapsed, ETA {_fmt_s(eta)}")
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        if final and self.tty:
            self.stream.write("\n")
        self.stream.flush()


def _fmt_s(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


class EMA:
    """Exponential moving average of a model's parameters, decay warmed up as (1+k)/(10+k)."""

    def __init__(self, model, max_decay: float) -> None:
        import copy
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.max_decay, self.updates = max_decay, 0

    def update(self, model) -> None:
        import torch
        self.updates += 1
        decay = min(self.max_decay, (1 + self.updates) / (10 + self.updates))
        with torch.no_grad():
            ema_params = list(self.model.parameters())
            torch._foreach_lerp_(ema_params, [p.detach() for p in model.parameters()], 1.0 - decay)


def run_training(model, loss_fn: Callable, data_obs, data_actions, config: TrainingConfig,
                 generator, *, ema: EMA | None = None, progress: Progress | None = None) -> list[float]:
    """Minimise loss_fn(model, obs_batch, action_batch, generator) over shuffled mini-batches.

    data_obs [M, obs_dim], data_actions [M, H, D]: normalized tensors on the training device.
    Returns the mean loss of every epoch."""
    import torch
    m = int(data_obs.shape[0])
    steps_per_epoch = max(1, -(-m // config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    warmup = max(1, min(config.warmup_steps, total_steps // 10))

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + np.cos(np.pi * (step - warmup) / max(1, total_steps - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    history: list[float] = []
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(m, generator=generator).to(data_obs.device)
        total, count = 0.0, 0
        for start in range(0, m, config.batch_size):
            idx = order[start:start + config.batch_size]
            loss = loss_fn(model, data_obs[idx], data_actions[idx], generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            if ema is not None:
                ema.update(model)
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        history.append(total / count)
        if not np.isfinite(history[-1]):
            raise PlannerError(f"training diverged at epoch {epoch + 1} (loss {history[-1]}); "
                               f"try a lower learning rate")
        if progress is not None:
            progress.update(epoch + 1, history[-1])
    model.eval()
    return history


def provenance(data: DemoData, command: str | None, started: float, history: list[float],
               config: TrainingConfig) -> dict:
    """What made this checkpoint: command, date, git commit, data file + summary, environment."""
    import torch
    return {
        "command": command if command is not None else " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": _git_commit(),
        "duration_s": round(time.perf_counter() - started, 2),
        "python": platform.python_version(), "torch": torch.__version__,
        "training": asdict(config),
        "data": {"path": data.path, "sha256": data.sha256, **data.summary(), **data_record(data)},
        "loss_history": [float(v) for v in history],
        "final_loss": float(history[-1]) if history else None,
    }


def data_record(data: DemoData) -> dict:
    """What the data says about the scene it came from, for judging the policy later:
    scene_options (the collect --option values, so a policy is run in the same geometry),
    perturb (the collection's perturbations) and obs_range (per-feature min/max of the training
    observations, so an observation outside them reads as out of distribution)."""
    from planners.mode_reference import ObsRange, feature_names

    kwargs = dict((data.env_args or {}).get("env_kwargs") or {})
    perturb = kwargs.pop("perturb", None) or {}
    obs = np.asarray(data.obs, dtype=np.float64)
    names = feature_names(data.obs_spec)
    obs_range = ObsRange(obs.min(axis=0), obs.max(axis=0), names if len(names) == obs.shape[1] else ())
    return {"scene_options": {str(k): v for k, v in sorted(kwargs.items())}, "perturb": perturb,
            "obs_range": obs_range.to_json()}


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5)
        commit = out.stdout.strip() if out.returncode == 0 else ""
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "planners"],
                               cwd=Path(__file__).resolve().parent.parent, capture_output=True,
                               text=True, timeout=5).stdout.strip()
        return commit + ("-dirty" if commit and dirty else "") if commit else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
