"""Scenes: PyBullet tasks with known modes, scripted experts, perturbations. No Qt, no torch."""
