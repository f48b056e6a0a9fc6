"""Creating the QApplication the same way everywhere (window, snapshot, benches, tests)."""
from __future__ import annotations

import gc
import os
import shutil
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator

from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.shell.theme import apply_theme
from recordings.errors import UserFacingError


class VirtualDisplay:
    """An Xvfb server started for this process; `stop()` ends it and restores DISPLAY."""

    def __init__(self, process: subprocess.Popen, display: str, previous: str | None) -> None:
        self.process, self.display, self._previous = process, display, previous

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self._previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = self._previous


def ensure_display(size: tuple[int, int] = (1920, 1200)) -> VirtualDisplay | None:
    """Start a virtual X display (Xvfb) when there is none, for headless snapshot/bench runs.

    Returns it (call `.stop()` when done) or None when a display exists. OpenGL needs a real X
    server: Qt's `offscreen` platform has no GL for pyqtgraph.opengl. Xvfb picks a free display
    number itself (-displayfd), so parallel runs never collide."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise UserFacingError("no display (DISPLAY is unset) and Xvfb is not installed; install it "
                              "(apt-get install xvfb) or run under an X server")
    read_fd, write_fd = os.pipe()
    try:
        process = subprocess.Popen(
            [xvfb, "-displayfd", str(write_fd), "-screen", "0", f"{size[0]}x{size[1]}x24",
             "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()  # Xvfb writes its display number once it is ready
    if not number.isdigit():
        process.kill()
        raise UserFacingError("could not start a virtual display (Xvfb exited); run under an X server")
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = f":{number}"
    return VirtualDisplay(process, f":{number}", previous)


def ensure_qapp(argv: list[str] | None = None) -> QtWidgets.QApplication:
    """The process's QApplication, created once with the planscope theme and GL defaults."""
    app = QtWidgets.QApplication.instance()
    if app is not None:
        return app  # type: ignore[return-value]
    # docks holding GL views can float (re-parent): share contexts so nothing is re-created
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    fmt = QtGui.QSurfaceFormat()
    fmt.setDepthBufferSize(24)
    fmt.setSamples(int(os.environ.get("PLANSCOPE_MSAA", "0")))  # MSAA: costly on software GL
    QtGui.QSurfaceFormat.setDefaultFormat(fmt)
    app = QtWidgets.QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("planscope")
    app.setOrganizationName("planscope")
    app.setApplicationDisplayName("planscope")
    apply_theme(app)
    collect_garbage_on_gui_thread()
    return app


GC_INTERVAL_S = 0.5
_COLLECTOR = None


def collect_garbage_on_gui_thread() -> None:
    """Python's cyclic garbage collector runs in whichever thread happens to allocate when a
    generation fills up. In a job's worker thread it destroyed Qt objects left in reference cycles
    by the GUI thread (a closed menu's actions): the worker held Qt's object mutex inside
    ~QObject and waited for the GIL, while the GUI thread held the GIL and waited for that mutex
    inside its own deletion - a frozen application (seen as a hung test, py-spy stacks in
    docs/reliability.md). So automatic collection is off while a QApplication exists and
    pyqtgraph's GarbageCollector runs the same generational check from a GUI-thread timer; no
    other thread ever collects."""
    global _COLLECTOR
    if _COLLECTOR is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector
        _COLLECTOR = GarbageCollector(interval=GC_INTERVAL_S)


def collect_garbage_now() -> None:
    """The GUI-thread collector's generational check, now (the test suite runs it after every
    test, whose event loop may not have turned); call it on the GUI thread only."""
    if _COLLECTOR is not None:
        _COLLECTOR.check()


def release_garbage_collection() -> None:
    """Automatic collection back on (the QApplication is gone)."""
    global _COLLECTOR
    if _COLLECTOR is not None:
        try:
            _COLLECTOR.timer.stop()
        except RuntimeError:   # QApplication.shutdown() already deleted the timer with every QObject
            pass
        _COLLECTOR = None
        gc.enable()


@contextmanager
def qt_application(*, virtual_display: bool) -> Iterator[QtWidgets.QApplication]:
    """The QApplication for a command's lifetime; virtual_display: start Xvfb when there is no
    display (headless snapshot, demo export). On exit Qt lets go of the X connection before the
    virtual display goes away."""
    display = ensure_display() if virtual_display else None
    try:
        yield ensure_qapp()
    finally:
        if display is not None:
            if QtWidgets.QApplication.instance() is not None:
                QtWidgets.QApplication.instance().shutdown()
                release_garbage_collection()
            display.stop()


def exec_until_interrupted(app: QtWidgets.QApplication) -> int:
    """`app.exec()` that Ctrl+C (SIGINT) ends cleanly: the event loop quits and the exit code is
    130, with no traceback.

    Python runs a signal handler only between bytecodes, and while Qt idles in C++ there are none:
    Python's default SIGINT handler then raised KeyboardInterrupt inside whichever Python override
    ran next (an event filter printed a traceback and the app kept running). The C-level handler
    writes to a wake-up socket that a QSocketNotifier watches, so Qt wakes, the slot gives the
    interpreter control, and our handler asks the loop to exit."""
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    interrupted: list[int] = []

    def on_sigint(_signum: int, _frame: object) -> None:
        interrupted.append(1)
        app.exit(130)

    notifier = QtCore.QSocketNotifier(reader.fileno(), QtCore.QSocketNotifier.Type.Read)

    def drain() -> None:  # runs Python, which runs the pending handler; then empty the socket
        try:
            reader.recv(64)
        except BlockingIOError:
            pass

    notifier.activated.connect(drain)
    previous_fd = signal.set_wakeup_fd(writer.fileno())
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        code = int(app.exec())
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        reader.close()
        writer.close()
    return 130 if interrupted else code
