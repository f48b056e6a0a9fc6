"""Evaluation workspace: the evaluation summary of an artifact made by `planscope eval`, with a
click through to the review screen.

    install(window) -> EvaluationWorkspace     (MainWindow feature hook)

Docks (workspace "evaluation"): "Evaluation" (verdict, success table, worst rollouts) on the left
and "Evaluation charts" (the report's charts) on the right. An eval artifact gets here three ways:
File ▸ Open Evaluation…, the Open button in the dock, or any eval artifact the review workspace
opens (`planscope FILE.h5`, drag and drop, recent files). Double-clicking a rollout opens it in the
review workspace at that rollout.
"""
from __future__ import annotations

import os
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.evaluation.summary_view import EvaluationChartsView, EvaluationSummaryView
from recordings.errors import UserFacingError

Qt = QtCore.Qt


def is_eval_artifact(path: str) -> bool:
    """True for an HDF5 file written by `planscope eval` (reads the file attributes only)."""
    if not (os.path.isfile(path) and path.lower().endswith((".h5", ".hdf5"))):
        return False
    try:
        from recordings.reader import RecordingReader
        with RecordingReader(path) as reader:
            return reader.kind == "eval" and "eval" in (reader.config or {})
    except (UserFacingError, OSError):
        return False


class EvaluationWorkspace(QtCore.QObject):
    """Owns the two views and the currently shown artifact."""
    summaryChanged = QtCore.Signal()

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.summary_view = EvaluationSummaryView()
        self.charts_view = EvaluationChartsView()
        self.summary = None
        self.summary_view.rolloutActivated.connect(self.open_in_review)
        self.summary_view.openRequested.connect(self.choose_file)

    def open(self, path: str, *, show: bool = True) -> None:
        """Load an eval artifact's summary into both views (RecordingError if it is not one)."""
        from app.core.evaluation.summary import load_summary
        summary = load_summary(path)
        self.summary = summary
        self.summary_view.set_summary(summary)
        self.charts_view.set_summary(summary)
        self.summaryChanged.emit()
        if show and getattr(self.window, "workspace", "evaluation") != "evaluation":
            self.window.set_workspace("evaluation")
        if hasattr(self.window, "status"):
            verdict = ""
            if len(summary.policies) > 1:
                from app.core.evaluation.acceptance import decide
                verdict = f" — {decide(summary).verdict}"
            self.window.status(f"evaluation {os.path.basename(path)}: {summary.num_rollouts} "
                               f"rollouts{verdict}")

    def choose_file(self) -> None:
        from app.qt.shell.settings import last_folder, remember_folder
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Open evaluation", last_folder(), "Evaluation artifacts (*.h5 *.hdf5)")
        remember_folder(path)
        if path:
            self.window.run_guarded("Cannot open evaluation", self.open, path)

    def open_in_review(self, path: str, row: int) -> bool:
        """Show rollout `row` of `path` in the review workspace. False when there is none."""
        review = getattr(self.window, "features", {}).get("review")
        if review is None or not hasattr(review, "open"):
            if hasattr(self.window, "status"):
                self.window.status("the review workspace is not installed")
            return False
        from pathlib import Path

        from app.core.review.state import RolloutKey
        review.open(path)
        target = Path(path).resolve()
        for index, rec in enumerate(review.session.recordings):
            if Path(rec.path).resolve() == target:
                review.session.select(RolloutKey(index, int(row)))
                break
        if getattr(self.window, "workspace", "review") != "review":
            self.window.set_workspace("review")
        return True

    def _follow_review(self) -> None:
        """An eval artifact opened for review is summarised here too (without switching)."""
        review = self.window.features.get("review")
        if review is None:
            return
        for rec in review.session.recordings:
            path = str(rec.path)
            if (self.summary is None or os.path.abspath(self.summary.path) != os.path.abspath(path)) \
                    and is_eval_artifact(path):
                try:
                    self.open(path, show=False)
                except UserFacingError:
                    pass
                return


def install(window) -> EvaluationWorkspace:
    ws = EvaluationWorkspace(window)
    area = Qt.DockWidgetArea
    left = window.add_dock("evaluation_summary", "Evaluation", ws.summary_view,
                           area.LeftDockWidgetArea, workspace="evaluation")
    right = window.add_dock("evaluation_charts", "Evaluation charts", ws.charts_view,
                            area.RightDockWidgetArea, workspace="evaluation")
    ws.docks = {"summary": left, "charts": right}
    sized = []

    def fit() -> None:
        # the charts are drawn for 760 px: near that width their text is legible; the 3-D view
        # (idle here) keeps what is left
        width = max(window.width(), 1000)
        window.resizeDocks([left, right], [int(width * 0.33), int(width * 0.46)], Qt.Horizontal)

    def size_docks(name: str) -> None:
        # the tables and charts need more width than the default dock size, once per session,
        # after the window has its real size
        if name == "evaluation" and not sized:
            sized.append(True)
            fit()
            QtCore.QTimer.singleShot(0, window, fit)     # dropped if the window is destroyed first
    window.workspaceChanged.connect(size_docks)
    action = QtGui.QAction("Open Evaluation…", window)
    action.triggered.connect(ws.choose_file)
    menu = window.file_menu
    before = menu.actions()[1] if len(menu.actions()) > 1 else None
    menu.insertAction(before, action)
    review = window.features.get("review")
    if review is not None and hasattr(review, "session"):
        review.session.events.recordings_changed.connect(ws._follow_review)
    return ws


def prepare_snapshot(window, args) -> None:
    """`planscope snapshot --view evaluation --recording EVAL.h5`: the summary and charts."""
    ws: EvaluationWorkspace = window.features["evaluation"]
    path = getattr(args, "recording", None) or getattr(args, "file", None)
    if isinstance(path, (list, tuple)):
        path = path[0] if path else None
    if path and ws.summary is None:
        ws.open(str(path))
    window.set_workspace("evaluation")
    QtWidgets.QApplication.processEvents()
