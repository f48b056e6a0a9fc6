"""Regression baseline: an MLP trained with MSE on the same (obs, action chunk) pairs.

It predicts the conditional mean, so on bimodal data it averages the modes — the failure the
diffusion policy exists to avoid. It returns the same plan for every sample and an empty chain."""
