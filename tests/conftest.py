"""Fixtures shared by every test package. Keep this small: package-specific fakes live beside
their tests (e.g. tests/app/shell_fakes.py)."""
from __future__ import annotations

import pytest

# Trained tiny policies and the bimodal recording: session fixtures defined once, for every package.
from tests.trained_policies import (bimodal_ckpt, bimodal_h5, bimodal_planner,  # noqa: F401
                                    one_mode_ckpt, regression_ckpt)


@pytest.fixture(autouse=True)
def gui_thread_garbage_collection():
    """Once a QApplication exists, Python's automatic garbage collection is off and the GUI thread
    collects (app/qt/shell/qt_app.collect_garbage_on_gui_thread); a test that never turns the event
    loop would leave its cycles to the next one, so the same check runs here after every test."""
    import sys
    yield
    qt_app = sys.modules.get("app.qt.shell.qt_app")
    if qt_app is not None:
        qt_app.collect_garbage_now()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory, monkeypatch):
    """Every test gets its own QSettings file (app/qt/shell/settings.py), never the user's."""
    directory = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("PLANSCOPE_SETTINGS_DIR", str(directory))
    return directory


@pytest.fixture
def fake_scene_session():
    """A SceneSession over tests/app/shell_fakes.FakeScene (no pybullet), not yet loaded."""
    from app.core.scene_session import SceneSession
    from tests.app.shell_fakes import FakeScene

    session = SceneSession("fake", factory=lambda _name: FakeScene())
    yield session
    session.close()


@pytest.fixture(scope="session")
def qapp(qapp_args):
    """pytest-qt's QApplication, created the way the app creates it (app/qt/shell/qt_app.py): shared GL
    contexts (pyqtgraph caches compiled shaders across GL views) and the planscope theme."""
    from app.qt.shell.qt_app import ensure_qapp

    return ensure_qapp(qapp_args)


@pytest.fixture(autouse=True, scope="session")
def isolated_cache(tmp_path_factory):
    """The mesh cache (app/core/mesh_io.py) lives in a per-session folder, not the user's cache."""
    import os

    directory = str(tmp_path_factory.mktemp("cache"))
    old = os.environ.get("PLANSCOPE_CACHE_DIR")
    os.environ["PLANSCOPE_CACHE_DIR"] = directory
    yield directory
    if old is None:
        os.environ.pop("PLANSCOPE_CACHE_DIR", None)
    else:
        os.environ["PLANSCOPE_CACHE_DIR"] = old


@pytest.fixture
def manual_clock():
    """The default clock (app/core/clock.py) replaced by a ManualClock for this test: playback and
    other timer-driven state move only when the test calls `manual_clock.advance(seconds)`."""
    from app.core.clock import ManualClock, using_clock

    with using_clock(ManualClock(100.0)) as clock:
        yield clock
