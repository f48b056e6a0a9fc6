"""Data sets in the review workspace (app/qt/review/dataset_browser.py, dataset_workspace.py): a
LeRobot v3 export opens by the drop handler into the episode table, the curves follow the episode
and the cursor the frame; 10,000 episodes are a model, sorted by one argsort; "Inspect policy at
this frame" without a policy is one dialog. (Sampling at a frame is the inspector's:
tests/app/qt/inspector/test_data_frames.py.)"""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from app.core.scene_session import SceneSession
from app.qt.review.dataset_browser import EpisodeTableModel
from app.qt.shell import dialogs
from app.qt.shell.main_window import MainWindow
from recordings.dataset import Episode
from tests.app.shell_fakes import FakeScene

Qt = QtCore.Qt


@pytest.fixture(autouse=True)
def nonmodal(monkeypatch, qapp):
    monkeypatch.setenv(dialogs.NON_MODAL_ENV, "1")
    dialogs.close_messages()
    yield
    dialogs.close_messages()


@pytest.fixture
def lerobot_dir(tmp_path):
    from recordings.dataset import open_dataset
    from recordings.formats.lerobot_export import export_lerobot
    from tests.app.core.scan.conftest import write_bimodal_recording

    h5 = write_bimodal_recording(tmp_path / "bimodal.h5", episodes=6)
    return export_lerobot(open_dataset(h5), str(tmp_path / "bimodal_lerobot"), fps=10)


def test_episode_table_of_10000_is_a_sorted_model():
    eps = [Episode(i, 5 + (i * 7919) % 301, f"task {i % 3}", None if i % 5 == 0 else i % 2 == 0)
           for i in range(10_000)]
    model = EpisodeTableModel()
    t0 = time.thread_time()            # this thread's CPU time: a loaded machine does not count
    model.set_episodes(eps)
    model.sort(1, Qt.DescendingOrder)
    took = time.thread_time() - t0
    assert model.rowCount() == 10_000 and model.columnCount() == 5
    lengths = [int(model.data(model.index(r, 1))) for r in range(0, 10_000, 997)]
    assert lengths == sorted(lengths, reverse=True) and lengths[0] == 305
    assert model.data(model.index(model.row_of(0), 3)) == "–"       # success unknown
    assert model.data(model.index(model.row_of(2), 3)) == "yes"
    assert took < 2.0, took          # CPU seconds, generous; ~20 ms when quiet


def test_lerobot_folder_opens_in_review_and_browses(qtbot, lerobot_dir):
    from app.qt.review import dataset_workspace
    from app.qt.review.workspace import install

    window = MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()),
                        restore_layout=False)
    from app.qt.inspector.workspace import install as install_inspector
    window.features["inspector"] = install_inspector(window)
    window.features["review"] = review = install(window)
    review.datasets = ws = dataset_workspace.install(window)
    qtbot.addWidget(window)
    window.show()
    window.open_paths([lerobot_dir])
    assert window.workspace == "review" and window.dock("dataset").isVisible()
    b = ws.browser
    assert b.model.rowCount() == 6 and b.episode == 0
    assert "6 episodes" in b.info.text()
    length = ws.ds.episodes[3].length
    b.table.selectRow(b.model.row_of(3))
    assert b.episode == 3 and b.slider.maximum() == length - 1
    xs, ys = b._curve_items["action"][0].getData()
    want = ws.ds.episode_slice(3, 0, length, [ws.ds.action_key])[ws.ds.action_key][:, 0]
    np.testing.assert_allclose(ys, want, atol=1e-6)
    b.set_frame(7)
    assert b.frame_box.value() == 7 and all(c.value() == 7 for c in b.cursors)
    assert window.dock("dataset_inspection") is None   # one room: frames are inspected there
    ws.inspect()                                 # no policy loaded: one dialog, no crash
    assert any("no policy loaded" in text for _n, text in dialogs.open_messages())
    assert window.workspace == "review" and window.features["inspector"].state.source is None


def test_camera_frames_of_a_lerobot_written_data_set(qtbot):
    """The fixture LeRobot 0.4 itself wrote (64x64 AV1 camera): the camera dock shows the
    decoded frame at the cursor, and moves with it."""
    from app.qt.review.dataset_browser import CameraFrames, DatasetBrowser
    from recordings.dataset import open_dataset

    ds = open_dataset("tests/recordings/formats/data/lerobot_v3/dataset")
    browser, camera = DatasetBrowser(), CameraFrames()
    qtbot.addWidget(browser)
    qtbot.addWidget(camera)
    browser.frame_changed.connect(lambda e, t: camera.show_frame(ds, e, t))
    browser.set_dataset(ds)
    assert [browser.model.data(browser.model.index(r, 2)) for r in range(3)] == \
        ["grasp the mug", "reach the target", "grasp the mug"]
    browser.select_episode(1)
    browser.set_frame(5)
    label = camera.labels["observation.images.front"]
    img = label.pixmap().toImage().convertToFormat(QtGui.QImage.Format_RGB888)
    ptr = img.constBits()
    shown = np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(
        img.height(), img.bytesPerLine())[:, :img.width() * 3].reshape(img.height(),
                                                                        img.width(), 3)
    want = ds.frame(1, 5, ["observation.images.front"])["observation.images.front"]
    assert abs(float(shown.mean()) - float(want.mean())) < 3.0      # same picture, scaled
    assert not camera.note.isVisible()
