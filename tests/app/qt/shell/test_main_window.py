"""Main window: docks and workspaces, saved layout restored on reopen, file dispatch, errors as
dialogs, play/pause following the simulation. Uses the fake scene (no pybullet)."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from app.core.scene_session import SceneSession
from app.qt.shell.main_window import Feature, MainWindow
from recordings.errors import UserFacingError
from scenes.api import SceneError
from tests.app.shell_fakes import FakeScene

Area = QtCore.Qt.DockWidgetArea


@pytest.fixture
def dialogs(monkeypatch):
    """Record error dialogs instead of showing them (show_error would block the test)."""
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr("app.qt.shell.main_window.show_error",
                        lambda parent, title, exc: shown.append((title, str(exc))))
    return shown


def make_window(qtbot, session=None, **kwargs) -> MainWindow:
    window = MainWindow(session or SceneSession("fake", factory=lambda _n: FakeScene()), **kwargs)
    qtbot.addWidget(window)
    return window


def test_add_dock_and_workspaces_show_their_docks(qtbot):
    window = make_window(qtbot)
    window.show()
    qtbot.waitExposed(window)
    plans = window.add_dock("plans", "Plans", QtWidgets.QLabel("plans"), workspace="inspector")
    rollouts = window.add_dock("rollouts", "Rollouts", QtWidgets.QLabel("r"), Area.LeftDockWidgetArea,
                               workspace=("review", "evaluation"))
    assert plans.objectName() == "plans" and window.dock("plans") is plans
    assert plans.isVisible() and not rollouts.isVisible()
    seen = []
    window.workspaceChanged.connect(seen.append)
    window.set_workspace("review")
    # the camera dock is the inspector's (review replays recorded states; its column needs the room)
    assert not plans.isVisible() and rollouts.isVisible() and not window.camera_view.isVisible()
    assert seen == ["review"] and window.workspace == "review"
    window.set_workspace("inspector")
    assert window.camera_view.isVisible() and not rollouts.isVisible()
    window.set_workspace("review")
    assert "Plans" in [a.text() for a in window.panels_menu.actions()]
    with pytest.raises(ValueError, match="already exists"):
        window.add_dock("plans", "Plans", QtWidgets.QLabel())
    with pytest.raises(ValueError, match="unknown workspace"):
        window.set_workspace("nope")


def install_fake_feature(monkeypatch, install) -> tuple[Feature, ...]:
    """Make an inspector Feature with this install() the registry's only feature; returns it."""
    features = (Feature("inspector", install),)
    monkeypatch.setattr("app.qt.registry.FEATURES", features)
    return features


def test_saved_dock_layout_is_restored_on_reopen(qtbot, monkeypatch):
    features = install_fake_feature(monkeypatch, lambda w: (
        w.add_dock("plans", "Plans", QtWidgets.QLabel("p"), Area.LeftDockWidgetArea),
        w.add_dock("notes", "Notes", QtWidgets.QLabel("n"), Area.RightDockWidgetArea)))
    first = MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()), features=features)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.addDockWidget(Area.BottomDockWidgetArea, first.dock("plans"))   # the user moves it
    first.dock("notes").hide()                                             # and closes one
    first.set_workspace("evaluation")
    first.close()                                                          # saves the layout

    second = MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()), features=features)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    assert second.dockWidgetArea(second.dock("plans")) == Area.BottomDockWidgetArea
    assert not second.dock("notes").isVisible()
    assert second.workspace == "evaluation"
    # a dock created later (e.g. on demand) also gets its saved place back
    late = second.add_dock("late", "Late", QtWidgets.QLabel("l"), Area.RightDockWidgetArea)
    assert second.dockWidgetArea(late) == Area.RightDockWidgetArea

    second.reset_layout()
    assert second.dockWidgetArea(second.dock("plans")) == Area.LeftDockWidgetArea
    assert second.dock("notes").isVisible()


def test_play_steps_the_simulation_and_the_mirror_follows(qtbot):
    window = make_window(qtbot)
    window.show()
    assert window.load_scene()
    poses_before = window.session.link_poses().copy()
    window.play_action.trigger()
    assert window.session.playing and window.play_action.text() == "Pause"
    qtbot.waitUntil(lambda: window.session.step_count >= 3, timeout=3000)
    window.play_action.trigger()
    assert not window.session.playing
    assert window.session.sim_time_s == pytest.approx(0.1 * window.session.step_count)
    mirrored = window.scene_view._links[1].transform().data()[12:15]  # robot node translation
    assert not np.allclose(window.session.link_poses(), poses_before)
    assert mirrored[1] == pytest.approx(window.session.link_poses()[1, 1], abs=1e-6)


def test_scene_that_cannot_load_shows_a_dialog_and_the_app_keeps_running(qtbot, dialogs):
    def broken(_name):
        raise SceneError("scene asset not found: /nowhere/panda.urdf")

    window = make_window(qtbot, SceneSession("mug_grasp", factory=broken))
    window.show()
    assert window.load_scene() is False
    assert dialogs == [("Cannot load scene", "scene asset not found: /nowhere/panda.urdf")]
    assert window.isVisible() and not window.session.loaded
    window.play_action.trigger()  # nothing to play: stays paused instead of crashing
    assert not window.session.playing


def test_bad_urdf_path_in_a_real_scene_gives_one_dialog(qtbot, dialogs, tmp_path):
    pytest.importorskip("pybullet")
    from scenes import make_scene

    window = make_window(qtbot, SceneSession(
        "mug_grasp", factory=lambda name: make_scene(name, asset_root=str(tmp_path))))
    assert window.load_scene() is False
    assert len(dialogs) == 1 and str(tmp_path) in dialogs[0][1]


def test_files_dispatch_to_the_first_matching_handler(qtbot, dialogs, tmp_path):
    window = make_window(qtbot)
    recording = tmp_path / "run.h5"
    recording.write_bytes(b"")
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    opened: list[tuple[str, str]] = []
    window.register_drop_handler(lambda p: p.endswith(".h5"), lambda p: opened.append(("h5", p)))
    window.register_policy_handler(lambda spec: opened.append(("policy", spec)))

    window.open_paths([str(recording), str(checkpoint), str(tmp_path / "notes.txt")])
    assert opened == [("h5", str(recording)), ("policy", str(checkpoint))]
    assert len(dialogs) == 1 and "notes.txt" in dialogs[0][1]
    assert window.recent_files()[0] == str(recording)

    def corrupt(path):
        raise UserFacingError(f"{path}: not an HDF5 file")
    window._drop_handlers.clear()
    window.register_drop_handler(lambda p: True, corrupt)
    window.open_paths([str(recording)])
    assert dialogs[-1] == ("Cannot open run.h5", f"{recording}: not an HDF5 file")


def test_drop_event_opens_dropped_files(qtbot, tmp_path):
    window = make_window(qtbot)
    opened = []
    window.register_drop_handler(lambda p: True, opened.append)
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(tmp_path))])
    from PySide6 import QtGui
    event = QtGui.QDropEvent(QtCore.QPointF(10, 10), QtCore.Qt.DropAction.CopyAction, mime,
                             QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: opened == [os.path.abspath(str(tmp_path))], timeout=1000)


def test_feature_workspaces_install_when_present(qtbot, monkeypatch):
    features = install_fake_feature(monkeypatch, lambda w: w.add_dock(
        "probe", "Probe", QtWidgets.QLabel(), workspace="inspector"))
    window = MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()), features=features)
    qtbot.addWidget(window)
    assert window.features["inspector"] is window.dock("probe")


def test_a_feature_with_a_missing_dependency_is_not_silently_skipped(qtbot, monkeypatch):
    def install(window):
        raise ModuleNotFoundError("No module named 'somedep'", name="somedep")
    features = install_fake_feature(monkeypatch, install)
    with pytest.raises(ModuleNotFoundError, match="somedep"):
        MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()), features=features)


def test_planscope_files_and_policy_reach_the_feature_handlers(qtbot, monkeypatch, tmp_path):
    """`planscope run.h5 --policy ckpt` (run_open): window shown, scene loaded, then the policy
    and the files go to the handlers the features registered."""
    import argparse

    from app.commands import open_app
    from app.core import scene_session

    opened = []

    def install(window):
        window.register_policy_handler(lambda spec: opened.append(("policy", spec)))
        window.register_drop_handler(lambda p: p.endswith(".h5"), lambda p: opened.append(("h5", p)))
    install_fake_feature(monkeypatch, install)

    class FakeSession(SceneSession):
        def __init__(self, scene_name="fake", seed=0, factory=None):
            super().__init__(scene_name, seed, lambda _name: FakeScene())
    monkeypatch.setattr(scene_session, "SceneSession", FakeSession)
    windows = []

    def fake_exec(app):
        qtbot.waitUntil(lambda: len(opened) == 2, timeout=3000)
        windows.extend(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
        return 0
    monkeypatch.setattr(QtWidgets.QApplication, "exec", fake_exec)
    recording = tmp_path / "run.h5"
    recording.write_bytes(b"")
    args = argparse.Namespace(files=[str(recording)], policy=["ckpt_dir"], scene="fake")
    assert open_app.run_open(args) == 0
    assert opened == [("policy", "ckpt_dir"), ("h5", str(recording))]
    window = next(w for w in windows if w.isVisible())
    qtbot.addWidget(window)
    assert window.session.loaded and window.session.scene_name == "fake"


def test_an_exception_escaping_a_slot_becomes_one_dialog(qtbot, monkeypatch):
    import sys

    from app.qt.shell import dialogs

    shown = []
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, exc: shown.append((title, str(exc))))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(sys, "__excepthook__", lambda *a: None)  # keep the test output clean
    dialogs.install_excepthook(None)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    try:
        raise UserFacingError("bad file")
    except UserFacingError:
        sys.excepthook(*sys.exc_info())
    assert shown == [("Unexpected error", "boom"), ("Error", "bad file")]


def test_deferred_features_install_on_first_need_and_keep_their_saved_place(qtbot, monkeypatch):
    features = tuple(
        Feature(name, (lambda n, a: lambda w: w.add_dock(f"{n}_dock", n, QtWidgets.QLabel(n), a,
                                                         workspace=n))(name, area))
        for name, area in (("inspector", Area.LeftDockWidgetArea), ("review", Area.RightDockWidgetArea)))

    first = make_window(qtbot)  # no features: the fixture helper installs none
    first.close()
    first = MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()), features=features)
    qtbot.addWidget(first)
    first.set_workspace("review")
    first.addDockWidget(Area.BottomDockWidgetArea, first.dock("review_dock"))
    first.set_workspace("inspector")
    first.close()

    window = MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()), features=features,
                        defer_features=True)
    qtbot.addWidget(window)
    window.show()
    assert list(window.features) == ["inspector"] and window.dock("review_dock") is None
    window.set_workspace("review")
    assert list(window.features) == ["inspector", "review"]
    review = window.dock("review_dock")
    assert review.isVisible() and not window.dock("inspector_dock").isVisible()
    assert window.dockWidgetArea(review) == Area.BottomDockWidgetArea
    window.reset_layout()
    assert window.dockWidgetArea(review) == Area.RightDockWidgetArea and review.isVisible()

    other = MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()), features=features,
                       defer_features=True)
    qtbot.addWidget(other)
    other.open_paths([])              # opening anything installs what was deferred
    assert "review" in other.features


def test_a_failing_simulation_step_stops_play_with_one_dialog(qtbot, dialogs):
    class Exploding(FakeScene):
        def step(self, action_chunk):
            raise RuntimeError("solver diverged")

    window = make_window(qtbot, SceneSession("fake", factory=lambda _n: Exploding()))
    assert window.load_scene()
    window.play_action.trigger()
    qtbot.waitUntil(lambda: not window.session.playing, timeout=2000)
    qtbot.wait(300)  # several timer periods: no further dialogs
    assert dialogs == [("Simulation stopped", "solver diverged")]
    assert not window.play_action.isChecked()


def test_camera_dock_shows_the_scene_camera_and_survives_a_failing_one(qtbot):
    class BrokenCamera(FakeScene):
        def camera_image(self, camera="front", width=320, height=240):
            if camera == "top":
                raise RuntimeError("no such camera")
            return super().camera_image(camera, width, height)

    window = make_window(qtbot, SceneSession("fake", factory=lambda _n: BrokenCamera()))
    window.show()
    qtbot.waitExposed(window)
    assert window.load_scene()
    camera = window.camera_view
    assert [camera.combo.itemText(i) for i in range(camera.combo.count())] == ["front", "top"]
    qtbot.waitUntil(lambda: camera.image.pixmap() is not None and not camera.image.pixmap().isNull(),
                    timeout=3000)
    camera.combo.setCurrentText("top")
    qtbot.waitUntil(lambda: "camera unavailable" in camera.image.text(), timeout=3000)
