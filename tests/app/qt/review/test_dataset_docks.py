"""Review's docks for what is open (found trying planscope as a new user on `planscope out/`):
with a data set alone the empty "Plans at replan" dock stood under the browser and squeezed the
episode table to four rows and the curves to nothing, and an empty "Data set camera" dock was
shown for a data set without cameras; an episode or frame outside the data set is one line (the
slider clamped a frame silently, episode -1 picked the last episode)."""
from __future__ import annotations

import pytest

from app.core.scene_session import SceneSession
from app.qt.shell import dialogs
from app.qt.shell.main_window import MainWindow
from recordings.errors import UserFacingError
from tests.app.shell_fakes import FakeScene

LEROBOT_WITH_CAMERA = "tests/recordings/formats/data/lerobot_v3/dataset"


@pytest.fixture(autouse=True)
def nonmodal(monkeypatch, qapp):
    monkeypatch.setenv(dialogs.NON_MODAL_ENV, "1")
    dialogs.close_messages()
    yield
    dialogs.close_messages()


@pytest.fixture
def window(qtbot):
    from app.qt.inspector.workspace import install as install_inspector
    from app.qt.review import dataset_workspace
    from app.qt.review.workspace import install

    w = MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()), restore_layout=False)
    w.features["inspector"] = install_inspector(w)
    w.features["review"] = review = install(w)
    review.datasets = dataset_workspace.install(w)
    qtbot.addWidget(w)
    w.resize(1600, 960)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def recording(tmp_path):
    from tests.app.core.scan.conftest import write_bimodal_recording
    return str(write_bimodal_recording(tmp_path / "bimodal.h5", episodes=4))


@pytest.fixture
def lerobot_dir(tmp_path, recording):
    from recordings.dataset import open_dataset
    from recordings.formats.lerobot_export import export_lerobot
    return export_lerobot(open_dataset(recording), str(tmp_path / "lerobot"), fps=10)


def test_a_data_set_alone_gets_the_left_column(window, qtbot, lerobot_dir, recording):
    review = window.features["review"]
    replans, camera = window.dock("review_replans"), window.dock("dataset_camera")
    window.set_workspace("review")
    assert replans.isVisible() and not camera.isVisible()      # nothing open yet: as before
    window.open_paths([lerobot_dir])
    assert window.workspace == "review" and window.dock("dataset").isVisible()
    assert not replans.isVisible() and not camera.isVisible()  # no rollouts, no camera
    table = review.datasets.browser.table
    qtbot.waitUntil(lambda: table.height() >= 140)
    window.set_workspace("inspector")
    window.set_workspace("review")                             # a switch does not bring it back
    assert not replans.isVisible()
    review.open(recording)                                     # rollouts open: their dock shows
    qtbot.waitUntil(replans.isVisible)
    assert not camera.isVisible()


def test_a_data_set_with_a_camera_shows_its_camera_dock(window):
    window.features["review"].datasets.open(LEROBOT_WITH_CAMERA)
    assert window.dock("dataset_camera").isVisible()
    assert not window.dock("review_replans").isVisible()


@pytest.mark.parametrize("episode, frame, message", [
    (-1, 0, "episode -1: dataset has 3 episodes (0..2)"),
    (3, 0, "episode 3: dataset has 3 episodes (0..2)"),
    (1, 14, "frame 14: episode 1 of dataset has 14 frames (0..13)"),
    (1, -1, "frame -1: episode 1 of dataset has 14 frames (0..13)"),
])
def test_a_frame_outside_the_data_set_is_one_line(window, episode, frame, message):
    ws = window.features["review"].datasets
    with pytest.raises(UserFacingError) as err:
        ws.open_data_frame(LEROBOT_WITH_CAMERA, episode, frame)
    assert str(err.value) == message
    assert window.features["inspector"].state.source is None


def test_the_curves_say_which_line_is_which(qtbot):
    """Nine unlabeled state lines told a new user nothing: the key under the plots names each
    dimension in its line's colour (the data's own names, else key[i])."""
    from app.qt.plots.mode_colors import MODE_HEX
    from app.qt.review.dataset_browser import DatasetBrowser
    from recordings.dataset import open_dataset

    browser = DatasetBrowser()
    qtbot.addWidget(browser)
    browser.set_dataset(open_dataset(LEROBOT_WITH_CAMERA))
    state, action = browser.key.text().split("<br>")
    assert state.count("&#9632;") == len(browser._curve_items["state"]) == 9
    assert action.count("&#9632;") == len(browser._curve_items["action"]) == 4
    for name in ("ee_pos.x", "gripper", "environment_state[0]", "environment_state[4]"):
        assert f"&nbsp;{name}" in state
    assert MODE_HEX[4 % len(MODE_HEX)] in state.split("environment_state[0]")[0]
    assert [n.split("<")[0] for n in action.split("&nbsp;")[1:]] == ["x ", "y ", "z ", "gripper"]
