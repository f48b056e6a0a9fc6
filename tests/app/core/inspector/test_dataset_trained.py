"""Dataset-conditioned inspection with small policies trained in seconds on the constructed
bimodal detours (tests/trained_policies.py): at each episode's first frame (where the state does
not tell the side) the policy trained on one side only is called collapsed against the data's
50/50 neighbours, the one trained on both is not, and the regression baseline is averaging."""
from __future__ import annotations

from app.core.inspector.dataset_source import DatasetSource

EPISODES = range(6)


def _verdicts(data, ckpt):
    from planners import load_planner
    src = DatasetSource(data, load_planner(ckpt), neighbours=8)
    return [src.inspect(ep, 0, 32, seed=ep) for ep in EPISODES]


def test_one_side_collapsed_both_sides_kept_regression_averaging(
        bimodal_h5, bimodal_ckpt, one_mode_ckpt, regression_ckpt):  # noqa: F811
    one = _verdicts(bimodal_h5, one_mode_ckpt)
    assert all(len(r.data_shares) == 2 for r in one)          # the data shows both sides
    assert sum(r.verdict == "collapsed" for r in one) >= 5
    assert all("the 8 nearest frames of bimodal.h5" in r.reason for r in one)
    both = _verdicts(bimodal_h5, bimodal_ckpt)
    assert not any(r.verdict == "collapsed" for r in both)
    assert sum(r.metrics.coverage == 1.0 for r in both) >= 5
    reg = _verdicts(bimodal_h5, regression_ckpt)
    assert sum(r.verdict == "averaging" for r in reg) >= 5
