"""LeRobot DiffusionPolicy checkpoints (`pretrained_model/` folders) in planscope's own torch code.

config.py (config.json, torch-free detection), normalization.py (processor files >= 0.4 or
model.safetensors buffers <= 0.3), modeling.py (the model, LeRobot's module names), planner.py
(the Planner), loading.py (checks everything, then load_state_dict(strict=True)).
"""
