"""diffusion_policy (real-stanford/diffusion_policy) checkpoints as planscope planners: its `.ckpt`
files are read without running code from them (planners.safe_pickle) and its U-Net policies are
re-implemented in plain torch with its module names. Entry point: loading.load_dp_checkpoint."""
