"""The scan tests' data and policies: the bimodal recording (bimodal_h5) and the tiny trained
policies are session fixtures defined once in tests/trained_policies.py (registered by
tests/conftest.py)."""
from __future__ import annotations

from tests.trained_policies import RECORDED_EPISODES as EPISODES  # noqa: F401
from tests.trained_policies import write_bimodal_recording  # noqa: F401  (used by other tests)
