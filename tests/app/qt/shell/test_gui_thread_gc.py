"""Cyclic garbage is collected on the GUI thread only (app/qt/shell/qt_app.py). A worker thread
that collected destroyed Qt objects the GUI thread had left in cycles and deadlocked against it
(the worker inside ~QObject holding Qt's mutex, waiting for the GIL; the GUI thread holding the
GIL, waiting for the mutex): the hung test behind this fix, stacks in docs/reliability.md."""
from __future__ import annotations

import gc
import threading

from PySide6 import QtCore

from app.qt.shell import qt_app


class Cycle:
    """A reference cycle holding a QObject; records the thread that finalized it."""

    def __init__(self, seen: list[int]) -> None:
        self.me, self.seen, self.obj = self, seen, QtCore.QObject()

    def __del__(self) -> None:
        self.seen.append(threading.get_ident())


def test_a_worker_threads_allocations_never_collect_and_the_gui_thread_does(qapp):
    assert not gc.isenabled() and qt_app._COLLECTOR is not None
    seen: list[int] = []
    Cycle(seen)                                  # unreachable at once: a cycle only GC frees

    def churn() -> None:   # far more container allocations than generation 0's threshold
        keep = [[] for _ in range(50 * gc.get_threshold()[0])]
        del keep
    worker = threading.Thread(target=churn)
    worker.start()
    worker.join()
    assert seen == []                            # with automatic collection on, the worker freed it
    for _ in range(3):                           # the generational check, as the timer runs it
        qt_app.collect_garbage_now()
    gc.collect()
    assert seen == [threading.get_ident()]       # on this (the GUI) thread


def test_the_collector_runs_from_a_gui_thread_timer(qapp):
    timer = qt_app._COLLECTOR.timer
    assert timer.isActive() and timer.interval() == int(qt_app.GC_INTERVAL_S * 1000)
    assert timer.thread() is qapp.thread()
