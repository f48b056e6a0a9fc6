"""pytest plugin for `make test-stress`: every Qt timer event and paint is delivered late.

Loaded with `-p tests.stress_plugin` (tests/stress.py does it). An application-wide event filter
sleeps a random 0-STRESS_MAX_MS milliseconds (default 8) before each QTimerEvent and paint event,
so timers fire late and irregularly, the way they do on a loaded CI machine. Tests that depend on
wall-clock timing fail here; tests that advance an injected clock (app/core/clock.py) do not.

`qtbot.waitUntil` / `waitSignal` deadlines are multiplied by STRESS_TIMEOUT_FACTOR (default 10):
they bound how long real work (a real policy sampling, a scene loading) may take, and the point
here is whether the tests' logic survives slowness, not how fast a hogged machine is.

`--gui-only` keeps exactly the GUI suite: every test in tests/app/qt (the widget tests, including
the ones that render the app in a `planscope snapshot` subprocess) and every test elsewhere whose
fixtures include pytest-qt's `qtbot` or `qapp` (directly or through another fixture); the rest are
deselected.
"""
from __future__ import annotations

import os
import random
import time

import pytest

MAX_MS_ENV = "STRESS_MAX_MS"
FACTOR_ENV = "STRESS_TIMEOUT_FACTOR"


GUI_FIXTURES = ("qtbot", "qapp")
GUI_PACKAGE = ("tests", "app", "qt")


def pytest_addoption(parser) -> None:
    parser.addoption("--gui-only", action="store_true",
                     help="run only the GUI suite: tests/app/qt and every test using qtbot or qapp")


def pytest_collection_modifyitems(config, items) -> None:
    if not config.getoption("--gui-only"):
        return
    keep, drop = [], []
    for item in items:
        parts = item.nodeid.split("::")[0].split("/")
        uses_qt = (tuple(parts[:3]) == GUI_PACKAGE
                   or any(name in getattr(item, "fixturenames", ()) for name in GUI_FIXTURES))
        (keep if uses_qt else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_configure(config) -> None:
    from pytestqt.qtbot import QtBot

    factor = float(os.environ.get(FACTOR_ENV, "10"))
    wait_until, wait_signal = QtBot.waitUntil, QtBot.waitSignal

    def slow_wait_until(self, callback, *, timeout=5000):
        return wait_until(self, callback, timeout=int(timeout * factor))

    def slow_wait_signal(self, signal=None, *, timeout=5000, **kwargs):
        return wait_signal(self, signal, timeout=int(timeout * factor) if timeout else timeout, **kwargs)

    QtBot.waitUntil, QtBot.waitSignal = slow_wait_until, slow_wait_signal


def _install() -> object:
    from PySide6 import QtCore, QtWidgets

    class SlowEvents(QtCore.QObject):
        def __init__(self, max_s: float, seed: int) -> None:
            super().__init__()
            self.max_s = max_s
            self.rng = random.Random(seed)
            self.delayed = 0
            self.kinds = (QtCore.QEvent.Type.Timer, QtCore.QEvent.Type.Paint,
                          QtCore.QEvent.Type.UpdateRequest)

        def eventFilter(self, obj, event) -> bool:   # noqa: N802 (Qt's name)
            if event.type() in self.kinds:
                time.sleep(self.rng.uniform(0.0, self.max_s))
                self.delayed += 1
            return False

    app = QtWidgets.QApplication.instance()
    slow = SlowEvents(float(os.environ.get(MAX_MS_ENV, "8")) / 1000.0, seed=18)
    app.installEventFilter(slow)
    return slow


@pytest.fixture(autouse=True)
def slowed_qt(request):
    """Install the filter once the test's QApplication exists (after pytest-qt's qapp)."""
    if "qapp" not in request.fixturenames and "qtbot" not in request.fixturenames:
        yield None
        return
    request.getfixturevalue("qapp")
    config = request.config
    slow = getattr(config, "_stress_filter", None)
    if slow is None:
        slow = config._stress_filter = _install()
    yield slow


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    slow = getattr(config, "_stress_filter", None)
    if slow is not None:
        terminalreporter.write_line(f"stress: {slow.delayed} Qt timer/paint events delivered late "
                                    f"(0-{slow.max_s * 1000:.0f} ms each)")
