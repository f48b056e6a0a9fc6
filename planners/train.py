"""train_policy(): demo recording -> checkpoint directory, for both policy kinds."""
from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from planners.checkpoint import save_checkpoint
from planners.data import DemoData, load_demo_pairs
from planners.normalizer import MinMaxNormalizer
from planners.training import EMA, Progress, TrainingConfig, provenance, run_training, setup_determinism


def train_policy(data: DemoData | str | Path, out_dir: str | Path, config: TrainingConfig, *,
                 model_overrides: dict | None = None, command: str | None = None,
                 progress_stream: TextIO | None = None, quiet: bool = False, horizon: int = 16) -> Path:
    """Train a `config.kind` policy on a demo recording (or loaded DemoData) and save it to out_dir.

    model_overrides: fields of DiffusionConfig / RegressionConfig (e.g. {"down_dims": (16, 32)}).
    Deterministic for config.seed at a fixed config.num_threads. Returns the checkpoint path."""
    import torch

    started = time.perf_counter()
    if not isinstance(data, DemoData):
        data = load_demo_pairs(data, horizon=horizon)
    generator = setup_determinism(config.seed, config.num_threads, config.device)
    obs_norm = MinMaxNormalizer.fit(data.obs)
    action_norm = MinMaxNormalizer.fit(data.actions)
    if config.kind == "diffusion":
        from planners.diffusion import train as kind_module
    else:
        from planners.regression import train as kind_module
    model_config, model = kind_module.build(data.obs.shape[1], data.actions.shape[2], data.actions.shape[1],
                                            data.scene, data.obs_spec, model_overrides)
    device = torch.device(config.device)
    model = model.to(device)
    obs_t = torch.from_numpy(obs_norm.normalize(data.obs)).to(device)
    act_t = torch.from_numpy(action_norm.normalize(data.actions)).to(device)
    ema = EMA(model, config.ema_decay) if config.kind == "diffusion" else None
    progress = None if quiet else Progress(config.epochs, f"train {config.kind}", progress_stream)
    history = run_training(model, kind_module.make_loss(model_config), obs_t, act_t, config, generator,
                           ema=ema, progress=progress)
    weights = (ema.model if ema is not None else model).state_dict()
    training = provenance(data, command, started, history, config)
    training["weights"] = "ema" if ema is not None else "final"
    name = Path(out_dir).name
    return save_checkpoint(out_dir, kind=config.kind, name=name, model_config=model_config.to_json(),
                           state_dict=weights, obs_normalizer=obs_norm, action_normalizer=action_norm,
                           training=training)
