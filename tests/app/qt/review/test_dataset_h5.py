"""A planscope/robomimic .h5 file opened as a DATA SET (issue 15): File ▸ Open Data Set… chooses
an .h5 file or a LeRobot/zarr folder in one dialog; the .h5 opens in the data-set browser through
recordings.dataset.open_dataset (episodes, curves from the file) and "Inspect policy at this frame"
samples a real trained policy there; a dropped .h5 still opens as rollouts."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6 import QtWidgets

from app.core.scene_session import SceneSession
from app.qt import registry
from app.qt.review.dataset_browser import DatasetFileDialog
from recordings.reader import RecordingReader
from tests.app.inspector_fakes import FakeScene
from tests.recordings.formats.helpers import LEROBOT_REAL


@pytest.fixture
def window(qapp, qtbot):
    shown: list[tuple[str, str]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("app.qt.shell.main_window.show_error",
                   lambda parent, title, exc: shown.append((title, str(exc))))
        session = SceneSession("mug_grasp", factory=lambda _n: FakeScene())
        win = registry.main_window(session, restore_layout=False)
        win.dialogs = shown
        win.resize(1200, 800)
        win.show()
        win.install_pending_features()
        yield win
        win.close()
        win.deleteLater()
        qapp.processEvents()


def _menu_action(window, text: str):
    found = [a for a in window.file_menu.actions() if a.text() == text]
    assert len(found) == 1, [a.text() for a in window.file_menu.actions()]
    return found[0]


def test_the_dialog_chooses_an_h5_file_or_a_data_set_folder(qtbot, tmp_path, bimodal_h5):
    dialog = DatasetFileDialog(None, str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.selectFile(LEROBOT_REAL)            # a data-set folder: chosen, not entered
    dialog.accept()
    assert dialog.result() == QtWidgets.QDialog.DialogCode.Accepted
    assert os.path.samefile(dialog.chosen, LEROBOT_REAL)

    dialog = DatasetFileDialog(None, os.path.dirname(bimodal_h5))
    qtbot.addWidget(dialog)
    dialog.selectFile(bimodal_h5)
    dialog.accept()
    assert dialog.result() == QtWidgets.QDialog.DialogCode.Accepted
    assert os.path.samefile(dialog.chosen, bimodal_h5)

    plain = tmp_path / "just_a_folder"
    plain.mkdir()
    dialog = DatasetFileDialog(None, str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.selectFile(str(plain))              # any other folder is entered, nothing chosen
    dialog.accept()
    assert dialog.chosen == "" and dialog.result() != QtWidgets.QDialog.DialogCode.Accepted


def test_h5_opens_in_the_data_set_browser_and_inspects_there(qtbot, window, monkeypatch,
                                                             bimodal_h5, bimodal_ckpt,
                                                             bimodal_planner):
    review = window.features["review"]
    datasets = review.datasets
    monkeypatch.setattr(DatasetFileDialog, "choose", classmethod(lambda cls, parent: bimodal_h5))
    _menu_action(window, "Open Data Set…").trigger()
    assert window.dialogs == []

    # the browser reads the .h5 as episodes of frames; the Rollouts browser is not involved
    assert datasets.ds is not None and datasets.ds.format_name == "planscope"
    assert os.path.samefile(datasets.ds.path, bimodal_h5)
    assert review.session.recordings == []
    assert window.workspace == "review" and window.dock("dataset").isVisible()
    b = datasets.browser
    with RecordingReader(bimodal_h5) as rec:
        lengths = [rec.rollout(i).num_steps for i in range(len(rec))]
        modes = [rec.rollout(i).mode for i in range(len(rec))]
        actions_3 = rec.rollout(3).actions()
    assert b.model.rowCount() == len(lengths) == 12
    assert [int(b.model.data(b.model.index(b.model.row_of(e), 1))) for e in range(12)] == lengths
    assert [b.model.data(b.model.index(b.model.row_of(e), 4)) for e in range(12)] == modes
    b.table.selectRow(b.model.row_of(3))
    assert b.episode == 3 and b.slider.maximum() == lengths[3] - 1
    _, ys = b._curve_items["action"][0].getData()
    np.testing.assert_allclose(ys, actions_3[:, 0], atol=1e-6)

    # a policy trained on that kind of data, named for the file (as a scan names its policy: the
    # live scene is another task), then "Inspect policy at this frame" at another frame
    datasets.open_data_frame(bimodal_h5, 3, 2, str(bimodal_ckpt), wait=True)
    qtbot.waitUntil(lambda: datasets.result is not None or bool(window.dialogs), timeout=60_000)
    assert window.dialogs == [] and (datasets.result.episode, datasets.result.frame) == (3, 2)
    window.set_workspace("review")
    b.set_frame(4)
    datasets.inspect(wait=True)                    # the browser's button
    qtbot.waitUntil(lambda: (datasets.result.episode, datasets.result.frame) == (3, 4)
                    or bool(window.dialogs), timeout=60_000)
    assert window.dialogs == []
    result = datasets.result
    assert (result.episode, result.frame) == (3, 4)
    assert os.path.samefile(result.data, bimodal_h5)
    spec = bimodal_planner.spec
    h, start = spec.horizon, spec.action_start
    assert result.plans.shape[1:] == (h, actions_3.shape[1]) and len(result.plans) >= 1
    rows = np.clip(np.arange(4 - start, 4 - start + h), 0, lengths[3] - 1)
    np.testing.assert_array_equal(result.demo, actions_3[rows].astype(np.float32))
    assert len(result.neighbours) > 0 and set(result.neighbour_episodes) <= set(range(12)) - {3}


def test_a_dropped_h5_stays_rollouts(qtbot, window, bimodal_h5):
    review = window.features["review"]
    window.open_paths([bimodal_h5])                 # what a drop or `planscope F.h5` does
    assert window.dialogs == []
    assert [os.path.basename(str(r.path)) for r in review.session.recordings] == ["bimodal.h5"]
    assert review.datasets.ds is None


def test_a_bad_h5_chosen_as_data_set_is_one_dialog(qtbot, window, monkeypatch, tmp_path):
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"not hdf5")
    monkeypatch.setattr(DatasetFileDialog, "choose", classmethod(lambda cls, parent: str(bad)))
    _menu_action(window, "Open Data Set…").trigger()
    assert len(window.dialogs) == 1
    title, text = window.dialogs[0]
    assert title == "Cannot open broken.h5" and "broken.h5" in text and "\n" not in text
    assert window.features["review"].datasets.ds is None
