"""Writes checkpoint_plans.npz: plans of the shipped checkpoints (resources/checkpoints) for
fixed seeds, so tests/planners/test_checkpoint.py can prove that later planner code still gives
the same plans from the same checkpoint. The first goldens were sampled with the code as it was
before the protocol's next version (commit 9d0a0b8) from the checkpoints trained on one grasp per
placement; the checkpoints were retrained on paired demonstrations (resources/make_checkpoints.sh,
`collect --paired`), so the goldens were re-sampled from the new checkpoints with the code of
that commit (the old checkpoints' goldens pass with it: they are in git history).
Not part of CI; run once from the project root with the project's own venv:

    OMP_NUM_THREADS=1 .venv/bin/python tests/planners/goldens/make_checkpoint_goldens.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from planners import load_planner

OBS = np.array([0.45, 0.0, 0.30, 1.0, 0.52, 0.02, 0.0, 0.0, -1.0], dtype=np.float32)   # mug_grasp start
CASES = (("ddpm", 100, 1.0), ("ddim", 10, 1.0), ("dpmpp", 16, 1.0), ("ddpm", 20, 0.5))


def main() -> None:
    torch.set_num_threads(1)
    out: dict[str, np.ndarray] = {"obs": OBS}
    diffusion = load_planner("resources/checkpoints/mug_grasp_diffusion")
    for solver, steps, temperature in CASES:
        batch = diffusion.plan(OBS, 8, seed=3, solver=solver, steps=steps, temperature=temperature)
        out[f"diffusion_{solver}_{steps}_{temperature}"] = batch.plans
    out["regression"] = load_planner("resources/checkpoints/mug_grasp_regression").plan(OBS, 2, seed=0).plans
    np.savez(Path(__file__).with_name("checkpoint_plans.npz"), **out)
    print(sorted(out))


if __name__ == "__main__":
    main()
