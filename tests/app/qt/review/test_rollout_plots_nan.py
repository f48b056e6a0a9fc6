"""A series with no finite value (all NaN or inf) is not an empty plot: RolloutPlots shows a
notice on the plot saying which series, through the real reader and on hand-made data."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from app.core.review.data import RolloutData
from app.core.review.state import ReviewSession, RolloutKey
from app.qt.review.rollout_plots import RolloutPlots, empty_series_notice
from recordings.reader import RecordingReader
from tests.app.review_helpers import write_robomimic


def rollout(actions: np.ndarray, obs: dict | None = None) -> RolloutData:
    t = len(actions)
    return RolloutData(rollout_id=0, num_steps=t, actions=actions.astype(np.float32),
                       obs=obs or {}, rewards=np.zeros(t, np.float32), events=[],
                       replan_steps=np.zeros(0, np.int64), success=True)


def shown(plots: RolloutPlots, which: str) -> str:
    """The notice's text when it is visible and inside its plot's view area, else ""."""
    notice = getattr(plots, f"{which}_notice")
    if not notice.isVisible():
        return ""
    view = (plots.action_plot if which == "action" else plots.state_plot).getPlotItem().getViewBox()
    box = notice.mapRectToItem(view, notice.boundingRect())
    assert view.boundingRect().contains(box), "notice not inside the plot area"
    return notice.textItem.toPlainText()


@pytest.fixture
def plots(qtbot):
    widget = RolloutPlots()
    qtbot.addWidget(widget)
    widget.resize(900, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_all_nan_actions_say_so_and_a_finite_rollout_clears_it(plots, qtbot):
    nan = np.full((12, 4), np.nan)
    plots.set_rollout(rollout(nan, {"ee_pos": np.zeros((12, 3))}))
    assert shown(plots, "action") == "actions: all NaN in this rollout"
    assert shown(plots, "state") == ""

    fine = np.linspace(0, 1, 48).reshape(12, 4)
    plots.set_rollout(rollout(fine, {"ee_pos": np.zeros((12, 3))}))
    assert shown(plots, "action") == "" and shown(plots, "state") == ""


def test_one_empty_column_and_inf_are_named(plots):
    actions = np.linspace(0, 1, 48).reshape(12, 4)
    actions[:, 3] = np.nan                        # gripper never finite
    actions[5, 0] = np.nan                        # one missing x value: still drawable, no notice
    ee = np.zeros((12, 3))
    ee[:, 1] = np.inf
    ee[::2, 1] = np.nan
    plots.set_rollout(rollout(actions, {"ee_pos": ee}))
    assert shown(plots, "action") == "actions gripper: all NaN in this rollout"
    assert shown(plots, "state") == "ee_pos [1]: all NaN/inf in this rollout"
    plots.set_rollout(None)
    assert shown(plots, "action") == "" and shown(plots, "state") == ""


def test_the_notice_follows_the_state_field(plots):
    obs = {"ee_pos": np.zeros((12, 3)), "mug_pos": np.full((12, 3), np.nan)}
    plots.set_rollout(rollout(np.zeros((12, 4)), obs))
    assert plots.field_box.currentText() == "mug_pos"
    assert shown(plots, "state") == "mug_pos: all NaN in this rollout"
    plots.field_box.setCurrentText("ee_pos")
    assert shown(plots, "state") == ""


def test_a_recording_with_nan_only_actions_through_the_reader(tmp_path, plots):
    path = write_robomimic(tmp_path / "nan.h5", demos=2, steps=10)
    with h5py.File(path, "r+") as f:
        f["data/demo_1/actions"][...] = np.nan
    with RecordingReader(path) as reader:
        assert reader.rollout(1).all_nan() == ["actions"]      # the reader flags it
    session = ReviewSession()
    try:
        session.open(path)
        plots.session = session
        session.events.rollout_changed.connect(plots.set_rollout)
        session.select(RolloutKey(0, 1))
        assert shown(plots, "action") == "actions: all NaN in this rollout"
        session.select(RolloutKey(0, 0))
        assert shown(plots, "action") == ""
    finally:
        session.shutdown()


def test_notice_text():
    names = ["x", "y"]
    assert empty_series_notice("a", np.zeros((3, 2)), names) == ""
    assert empty_series_notice("a", np.zeros((0, 2)), names) == ""
    assert empty_series_notice("a", np.array([[np.inf, np.nan]] * 2), names) == "a: all NaN/inf in this rollout"
    assert empty_series_notice("a", np.zeros((3, 2), np.int64), names) == ""
