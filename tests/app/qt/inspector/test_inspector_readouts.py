"""Issue 20 item 6/7: the selected plan's readout, isolation shown on the mode buttons, the
baseline's shares in the Modes chart, exports for slides."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

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


def _with_unlabelled(state, count: int = 5):  # noqa: F811
    """The fixture's result with its first `count` plans in no mode (label -1)."""
    from dataclasses import replace
    result = state.result
    labels = np.array(result.summary.labels, copy=True)
    labels[:count] = -1
    state.set_result(replace(result, summary=replace(result.summary, labels=labels)))
    return labels


def _mean_rgb(widget) -> np.ndarray:
    image = widget.grab().toImage()
    rgb = [image.pixelColor(x, y).getRgb()[:3] for x in range(image.width())
           for y in range(image.height())]
    return np.mean(np.asarray(rgb, float), axis=0)


def test_isolation_is_shown_on_the_buttons_and_no_mode_can_be_isolated(qtbot, state):  # noqa: F811
    from app.core.inspector.state import NO_MODE
    from app.qt.inspector.modes_view import ModesView
    view = ModesView(state)
    qtbot.addWidget(view)
    view.resize(700, 420)
    view.show()
    qtbot.waitExposed(view)
    labels = _with_unlabelled(state)
    assert len(view.mode_buttons) == state.result.summary.num_modes + 1
    none_button = view.mode_buttons[-1]
    assert "no mode" in none_button.text()
    unchecked = [_mean_rgb(b) for b in view.mode_buttons]
    qtbot.mouseClick(none_button, QtCore.Qt.MouseButton.LeftButton)
    assert state.isolated == NO_MODE and none_button.isChecked()
    assert not any(b.isChecked() for b in view.mode_buttons[:-1])
    np.testing.assert_array_equal(state.visible_mask(), labels < 0)
    # the pressed look: the checked button is filled (its pixels change), the others are not
    assert np.abs(_mean_rgb(none_button) - unchecked[-1]).sum() > 30
    assert np.abs(_mean_rgb(view.mode_buttons[0]) - unchecked[0]).sum() < 5
    # isolating mode 1 from the state (key 2) moves the check; clicking it again shows all
    state.isolate(1)
    assert view.mode_buttons[1].isChecked() and not none_button.isChecked()
    qtbot.mouseClick(view.mode_buttons[1], QtCore.Qt.MouseButton.LeftButton)
    assert state.isolated is None and not any(b.isChecked() for b in view.mode_buttons)
    # a batch with every plan in a mode refuses NO_MODE and shows no such button
    from dataclasses import replace
    labels[labels < 0] = 0
    state.set_result(replace(state.result, summary=replace(state.result.summary, labels=labels)))
    state.isolate(NO_MODE)
    assert state.isolated is None
    assert len(view.mode_buttons) == state.result.summary.num_modes


def test_modes_chart_shows_the_baselines_shares_beside_the_policys(qtbot, state):  # noqa: F811
    from app.qt.inspector.modes_view import BAR_WIDTH, BAR_WIDTH_3, ModesView
    from dataclasses import replace
    view = ModesView(state)
    qtbot.addWidget(view)
    summary, base = state.result.summary, state.baseline_result.summary
    m = summary.num_modes
    assert m == 2
    # the fixture's regression baseline averages: every plan in no mode
    got = dict(zip(np.asarray(view._base_bars.opts["x"], float), view._base_bars.opts["height"]))
    assert got == pytest.approx({0.0: 0.0, 1.0: 0.0, 2.0: 100.0})
    # a baseline whose analysis names the modes in the other order: matched by name
    n = len(base.labels)
    labels = np.full(n, -1)
    labels[: n // 4] = 0                 # 25 % in its mode 0 = the policy's mode 1
    labels[n // 4: 3 * n // 4] = 1       # 50 % in its mode 1 = the policy's mode 0
    names = list(summary.names[:m])[::-1]
    state.set_result(replace(state.baseline_result, summary=replace(base, labels=labels, names=names)),
                     baseline=True)
    got = dict(zip(np.asarray(view._base_bars.opts["x"], float), view._base_bars.opts["height"]))
    assert got == pytest.approx({0.0: 50.0, 1.0: 25.0, 2.0: 25.0})
    # three bars per mode: policy left of the baseline, the data right of it
    np.testing.assert_allclose(np.asarray(view._bars.opts["x"]), np.arange(m) - BAR_WIDTH_3)
    np.testing.assert_allclose(np.asarray(view._data_bars.opts["x"]), np.arange(m) + BAR_WIDTH_3)
    assert "baseline" in view._legend.labels
    # no baseline: two bars per mode again, no baseline bars or legend entry
    state.set_result(None, baseline=True)
    assert len(view._base_bars.opts["height"]) == 0
    np.testing.assert_allclose(np.asarray(view._bars.opts["x"]), np.arange(m) - BAR_WIDTH / 2)
    assert "baseline" not in view._legend.labels
