"""Background work off the GUI thread: sampling, loading checkpoints, solver sweeps, evaluation.

`JobRunner` owns one worker QThread that runs submitted jobs one after another (so a planner or
a PyBullet client is never used by two jobs at once) and hands results back on the GUI thread:

    runner = JobRunner()
    handle = runner.submit(fn, on_done=..., on_error=..., on_progress=..., name="sample")
    # fn(job: JobHandle) runs on the worker thread; it may call job.progress(payload) and should
    # poll job.cancelled (a threading.Event underneath) to stop early.
    handle.cancel()

Progress is coalesced: while the GUI has not yet taken the last payload, a newer one replaces it,
so a fast producer (one payload per denoising step) never floods the event queue and the GUI
always draws the latest state. Anyone may add jobs; keep job functions Qt-free.
"""
from __future__ import annotations

import itertools
import queue
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

_STOP = object()


@dataclass
class JobHandle:
    """A submitted job. `progress(payload)` (worker side) publishes; `cancel()` (any side) asks
    the job to stop; `cancelled` is what the job polls."""
    id: int
    name: str
    _cancel: threading.Event = field(default_factory=threading.Event)
    _emit_progress: Callable[["JobHandle", Any], None] | None = None
    done: bool = False

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def progress(self, payload: Any) -> None:
        if self._emit_progress is not None:
            self._emit_progress(self, payload)


@dataclass
class _Job:
    handle: JobHandle
    fn: Callable[[JobHandle], Any]
    on_done: Callable[[Any], None] | None
    on_error: Callable[[BaseException, str], None] | None
    on_progress: Callable[[Any], None] | None


class _WorkerThread(QThread):
    def __init__(self, runner: "JobRunner") -> None:
        super().__init__()
        self._runner = runner
        self.jobs: "queue.Queue[Any]" = queue.Queue()

    def run(self) -> None:  # worker thread
        while True:
            job = self.jobs.get()
            if job is _STOP:
                return
            try:
                result = job.fn(job.handle)
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI
                self._runner._failed.emit(job.handle.id, (exc, traceback.format_exc()))
            else:
                self._runner._finished.emit(job.handle.id, result)


class JobRunner(QObject):
    """One background thread running jobs in submission order; callbacks run on the GUI thread."""

    _finished = Signal(int, object)
    _failed = Signal(int, object)
    _progressed = Signal(int)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._jobs: dict[int, _Job] = {}
        self._pending: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._thread = _WorkerThread(self)
        self._finished.connect(self._on_finished)
        self._failed.connect(self._on_failed)
        self._progressed.connect(self._on_progress)
        self._thread.start()

    # ---- API -------------------------------------------------------------------------------
    def submit(self, fn: Callable[[JobHandle], Any], *, on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException, str], None] | None = None,
               on_progress: Callable[[Any], None] | None = None, name: str = "job") -> JobHandle:
        handle = JobHandle(next(self._ids), name, _emit_progress=self._publish)
        job = _Job(handle, fn, on_done, on_error, on_progress)
        was_busy = self.busy
        self._jobs[handle.id] = job
        self._thread.jobs.put(job)
        if not was_busy:
            self.busy_changed.emit(True)
        return handle

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def cancel_all(self) -> None:
        for job in list(self._jobs.values()):
            job.handle.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel everything, stop the thread and wait for it (call before the app quits)."""
        self.cancel_all()
        self._thread.jobs.put(_STOP)
        self._thread.wait(timeout_ms)

    # ---- worker side -----------------------------------------------------------------------
    def _publish(self, handle: JobHandle, payload: Any) -> None:
        with self._lock:
            queued = handle.id in self._pending
            self._pending[handle.id] = payload
        if not queued:  # coalesce: one delivery in flight per job, carrying the newest payload
            self._progressed.emit(handle.id)

    # ---- GUI side --------------------------------------------------------------------------
    @Slot(int)
    def _on_progress(self, job_id: int) -> None:
        with self._lock:
            payload = self._pending.pop(job_id, None)
        job = self._jobs.get(job_id)
        if job is not None and job.on_progress is not None and payload is not None:
            job.on_progress(payload)

    def _finish(self, job_id: int) -> _Job | None:
        job = self._jobs.pop(job_id, None)
        with self._lock:
            self._pending.pop(job_id, None)
        if job is not None:
            job.handle.done = True
        if not self._jobs:
            self.busy_changed.emit(False)
        return job

    @Slot(int, object)
    def _on_finished(self, job_id: int, result: Any) -> None:
        job = self._finish(job_id)
        if job is not None and job.on_done is not None:
            job.on_done(result)

    @Slot(int, object)
    def _on_failed(self, job_id: int, error: Any) -> None:
        job = self._finish(job_id)
        exc, text = error
        if job is not None and job.on_error is not None:
            job.on_error(exc, text)
        elif job is not None:
            traceback.print_exception(exc)


def run_now(fn: Callable[[JobHandle], Any], *, on_progress: Callable[[Any], None] | None = None,
            name: str = "job") -> Any:
    """Run a job function on the calling thread (snapshots, scripts); exceptions propagate."""
    handle = JobHandle(0, name)
    if on_progress is not None:
        handle._emit_progress = lambda _h, payload: on_progress(payload)
    return fn(handle)
