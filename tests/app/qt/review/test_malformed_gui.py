"""The malformed recordings and data sets of tests/test_malformed_inputs.py opened in the app
(review workspace; data sets through File ▸ Open Data Set…): each is one dialog naming the file
and what is wrong, the app keeps running, and a rollout with inconsistent datasets is refused
when selected, not drawn (issue 18)."""
from __future__ import annotations

import pytest
from PySide6 import QtCore

from app.core.review.state import RolloutKey
from app.qt.shell import dialogs
from tests.app.qt.review.test_workspace import make_window, messages, nonmodal  # noqa: F401
from tests.malformed.materials import build

Qt = QtCore.Qt
FILE_LEVEL = [("empty", "empty file"), ("text", "not an HDF5 file"), ("truncated", "truncated"),
              ("future", "newer than this planscope"), ("foreign", "is not a")]
ROLLOUT_LEVEL = [("actions_rank1", "dataset 'actions' has shape (12,), expected [T, D]"),
                 ("actions_rank3", "dataset 'actions' has shape (12, 4, 1), expected [T, D]"),
                 ("actions_text", "dataset 'actions' has dtype |S3 (not numbers)"),
                 ("obs_length", "dataset 'obs/ee_pos' has 13 steps but 'actions' has 12"),
                 ("states_length", "dataset 'states' has 11 steps but 'actions' has 12")]


@pytest.fixture(scope="module")
def materials(tmp_path_factory):
    return build(tmp_path_factory.mktemp("malformed_gui"))


def test_broken_files_are_one_dialog_each_and_the_app_goes_on(qtbot, materials):
    window, ws = make_window(qtbot)                        # one window for every file: fast
    for name, message in FILE_LEVEL:
        dialogs.close_messages()
        window.open_paths([materials[name]])
        shown = messages()
        assert len(shown) == 1 and message in shown[0] and materials[name] in shown[0], (name, shown)
    dialogs.close_messages()
    window.open_paths([materials["good"]])                 # and the app still works
    assert len(ws.session.recordings) == 1 and messages() == []


def test_inconsistent_rollouts_are_refused_when_selected(qtbot, materials):
    window, ws = make_window(qtbot)
    for file_index, (name, message) in enumerate(ROLLOUT_LEVEL):
        window.open_paths([materials[name]])
        dialogs.close_messages()
        good, broken = RolloutKey(file_index, 0), RolloutKey(file_index, 1)
        click_row(qtbot, ws, good)                         # the consistent rollout draws
        assert messages() == [] and ws.session.current == good, (name, messages())
        click_row(qtbot, ws, broken)                       # the broken one: a dialog, not drawn
        shown = messages()
        assert len(shown) == 1 and message in shown[0] and "rollout 1" in shown[0], (name, shown)
        assert ws.session.current == good


def click_row(qtbot, ws, key):
    model = ws.browser.model
    index = ws.browser.proxy.mapFromSource(model.index(model.row_of(key), 1))
    rect = ws.browser.table.visualRect(index)
    qtbot.mouseClick(ws.browser.table.viewport(), Qt.LeftButton, pos=rect.center())


# File ▸ Open Data Set… on each broken data set of tests/test_malformed_inputs.py (the folders its
# "data set" rows read), then on a good one: one dialog each, naming the data set and the fault
# (a folder without meta/info.json: the reader's dialog says which marker it lacks)
DATASET_LEVEL = [("ds_no_info", "ds_no_info: has meta/ or data/ but neither meta/info.json (LeRobot)"), ("ds_bad_info", "not readable JSON"),
                 ("ds_version", "codebase_version v9.0 is newer"), ("ds_no_data", "ds_no_data"),
                 ("ds_bad_parquet", "parquet"), ("ds_v21", "LeRobotDataset v2.1 is the older per-episode layout"),
                 ("ds_no_version", "unknown codebase_version ''"),
                 ("ds_no_data_file", "file-000.parquet: missing parquet file"),
                 ("zarr_no_ends", "no meta/episode_ends"),
                 ("zarr_ends_order", "meta/episode_ends decreases at episode 1 (19 then 7)")]

READ_LAZILY = {"ds_no_data", "ds_bad_parquet", "ds_no_data_file"}


def test_broken_data_sets_through_file_open_data_set_are_one_dialog_each(qtbot, materials, monkeypatch):
    from app.qt.review import dataset_workspace
    from app.qt.review.dataset_browser import DatasetFileDialog
    window, ws = make_window(qtbot)
    ws.datasets = dataset_workspace.install(window)       # as the registry installs review
    action = next(a for a in window.file_menu.actions() if a.text() == "Open Data Set…")
    chosen: list[str] = []
    monkeypatch.setattr(DatasetFileDialog, "choose", classmethod(lambda cls, parent=None: chosen[-1]))
    datasets = ws.datasets
    for name, message in DATASET_LEVEL:
        dialogs.close_messages()
        if datasets.ds is not None:
            datasets.ds.close()
            datasets.ds = None
        chosen.append(materials[name])
        action.trigger()
        shown = messages()
        assert len(shown) == 1 and message in shown[0] and name in shown[0], (name, shown)
        # a fault in the metadata opens nothing; a data file is read lazily, when the browser
        # draws the first episode: that data set stays listed (its metadata is sound) after the
        # dialog, as it would if a later episode's file were the broken one
        assert (datasets.ds is None) == (name not in READ_LAZILY), name
    dialogs.close_messages()
    chosen.append(materials["ds_good"])                    # and the app still works
    action.trigger()
    assert messages() == [] and datasets.ds is not None and len(datasets.ds.episodes) == 3


def test_a_truncated_camera_video_is_a_status_line_and_the_browser_goes_on(qtbot, materials, monkeypatch):
    """The mp4 segment is read only when the camera shows a frame: the data set opens (its
    metadata and tables are sound), the camera's failure is the status bar's line naming the
    video file, no dialog per frame, and the episode's curves are there."""
    from app.qt.review import dataset_workspace
    from app.qt.review.dataset_browser import DatasetFileDialog
    window, ws = make_window(qtbot)
    ws.datasets = dataset_workspace.install(window)
    said: list[str] = []
    monkeypatch.setattr(window, "status", lambda message, timeout_ms=5000: said.append(message))
    monkeypatch.setattr(DatasetFileDialog, "choose", classmethod(lambda cls, parent=None: materials["ds_bad_video"]))
    next(a for a in window.file_menu.actions() if a.text() == "Open Data Set…").trigger()
    assert messages() == [] and ws.datasets.ds is not None
    ws.datasets.browser.set_frame(1)
    qtbot.waitUntil(lambda: any("cannot open video" in m for m in said))
    bad = [m for m in said if "cannot open video" in m]
    assert "file-000.mp4" in bad[0] and "truncated or not a video file" in bad[0], bad
    assert messages() == []
