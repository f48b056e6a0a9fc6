"""Ctrl+C in a running window ends the event loop cleanly (exit 130, no KeyboardInterrupt raised
inside a Python override such as the focus event filter, the SIGINT handler restored)."""
from __future__ import annotations

import os
import signal

from PySide6 import QtCore, QtWidgets

from app.qt.shell.qt_app import exec_until_interrupted


class _Filter(QtCore.QObject):
    """A Python event-filter override, where the default handler's KeyboardInterrupt used to land."""

    def eventFilter(self, watched, event):  # noqa: N802 (Qt's name)
        return False


def test_sigint_quits_the_event_loop_with_130_and_restores_the_handler(qapp) -> None:
    before = signal.getsignal(signal.SIGINT)
    event_filter = _Filter()
    qapp.installEventFilter(event_filter)
    widget = QtWidgets.QLabel("running")
    widget.show()
    QtCore.QTimer.singleShot(0, lambda: os.kill(os.getpid(), signal.SIGINT))
    # a guard, not a timing assertion: without the wake-up the loop would idle here forever
    # (stopped afterwards: a late exit() would end a later test's event loop)
    guard = QtCore.QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(lambda: qapp.exit(-1))
    guard.start(60_000)
    try:
        code = exec_until_interrupted(qapp)
    finally:
        guard.stop()
        qapp.removeEventFilter(event_filter)
        widget.close()
    assert code == 130
    assert signal.getsignal(signal.SIGINT) is before


def test_a_normal_exit_keeps_its_code(qapp) -> None:
    QtCore.QTimer.singleShot(0, lambda: qapp.exit(7))
    assert exec_until_interrupted(qapp) == 7
