"""The planner tests' trained policies (bimodal_ckpt, one_mode_ckpt, regression_ckpt,
bimodal_planner) are session fixtures defined once in tests/trained_policies.py and registered by
tests/conftest.py; they are shared with the scan and dataset-inspection tests."""
from tests.trained_policies import TINY_UNET, _train  # noqa: F401  (helpers for planner tests)
