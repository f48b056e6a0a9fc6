"""Speed at real model sizes: kernels chosen by measurement, reduced precision behind a fidelity check.

    lowering.py     a U-Net module (planscope's or diffusion_policy's) -> one neutral layer graph
    kernels.py      FastUnet: that graph run with im2col-GEMM or channels-last conv2d, float32 or bfloat16
    calibration.py  time the candidates once per model shape and batch bucket; JSON cache on disk
    accelerator.py  Accelerator: the chosen variant as the sampler's model_fn(x, t), N split and cancel
    fidelity.py     float32 vs reduced precision on the same seeds: mode shares and waypoint deviation
    policy_acceleration.py   PolicyAcceleration: what a diffusion planner holds (fidelity on first need)
"""
from planners.acceleration.accelerator import Accelerator, DenoiserFn, StepCancelled
from planners.acceleration.calibration import Variant
from planners.acceleration.policy_acceleration import PolicyAcceleration

__all__ = ["Accelerator", "DenoiserFn", "PolicyAcceleration", "StepCancelled", "Variant"]
