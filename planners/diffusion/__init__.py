"""Diffusion policy: config (config.py), 1-D temporal U-Net with FiLM (unet.py), diffusers
schedulers (schedulers.py), the sampling planner that keeps the chain (policy.py), training (train.py)."""
