"""Issue 20 item 6/7: the selected plan's readout, isolation shown on the mode buttons, the
baseline's shares in the Modes chart, exports for slides."""
from __future__ import annotations

import numpy as np

from app.core.analysis import Feasibility
from app.qt.inspector.chain_view import ChainView
from tests.app.qt.inspector.test_views import state  # noqa: F401 (the shared fixture)


def test_selected_plan_readout_names_index_mode_commit_and_collision(qtbot, state):  # noqa: F811
    view = ChainView(state)
    qtbot.addWidget(view)
    assert "no plan selected" in view.selection_label.text()
    summary = state.result.summary
    i = int(np.flatnonzero(summary.labels >= 0)[0])
    state.select(i)
    text = view.selection_label.text()
    assert f"plan #{i}" in text
    assert summary.names[int(summary.labels[i])] in text
    commit = int(summary.commit_step[i])
    assert (f"commits at step {commit}" if commit >= 0 else "never commits") in text
    # an infeasible plan names its first colliding waypoint and the body hit there
    n = len(summary.labels)
    feasible = np.ones(n, bool)
    feasible[i] = False
    bad = np.full(n, -1)
    bad[i] = 7
    state.result.feasibility = Feasibility(feasible, bad, ["" if k != i else "mug" for k in range(n)])
    state.select(None)
    assert "no plan selected" in view.selection_label.text()
    state.select(i)
    text = view.selection_label.text()
    assert "infeasible" in text and "first collision at waypoint 7 (mug)" in text
    j = (i + 1) % n
    state.select(j)
    assert f"plan #{j}" in view.selection_label.text() and "· feasible" in view.selection_label.text()
