"""Scan workspace: a scan file made by `planscope scan`, as an episodes x time heat map, the
per-episode metric curves, and the review queue with frame tags.

    install(window) -> ScanWorkspace     (MainWindow feature hook, registry entry "scan")

Docks (workspace "scan"): "Scan heat map" (centre-left), "Episode curves" (bottom), "Scan queue
and tags" (right). A scan gets here by File ▸ Open Scan…, drag and drop or `planscope scan.h5`
(window.open_paths hands files whose format attribute says planscope-scan to `open`). Selecting
a frame (heat-map cell, queue row) shows its curves and numbers; double-clicking it opens it in the
dataset-conditioned inspector through its one entry point, `open_data_frame(data_path, episode,
frame, policy_ref)` (app/qt/review/dataset_workspace.py: opens the data set, loads the scanned
policy, goes to the frame and samples there again, live, with the chain).
"""
from __future__ import annotations

import os
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.core.scan.state import ScanState
from app.qt.scan.curves_view import EpisodeCurvesView
from app.qt.scan.heatmap_view import HeatMapView
from app.qt.scan.queue_view import ScanQueueView

Qt = QtCore.Qt


def is_scan_file(path: str) -> bool:
    from recordings.formats.scan_reader import is_scan_file as check
    return os.path.isfile(path) and check(path)


class ScanPanel(QtWidgets.QSplitter):
    """The three views in one widget (tests, and windows without docks)."""

    def __init__(self, state: ScanState | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self.state = state or ScanState()
        left = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        self.heatmap = HeatMapView(self.state)
        self.curves = EpisodeCurvesView(self.state)
        self.queue = ScanQueueView(self.state)
        left.addWidget(self.heatmap)
        left.addWidget(self.curves)
        left.setSizes([600, 260])
        self.addWidget(left)
        self.addWidget(self.queue)
        self.setSizes([900, 380])
        for signal in (self.heatmap.cellActivated, self.queue.frameActivated):
            signal.connect(self.state.select)


class ScanWorkspace(QtCore.QObject):
    """Owns the state and its views; opens scan files and hands frames to the inspector."""
    opened = QtCore.Signal(str)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.state = ScanState()
        self.heatmap = HeatMapView(self.state)
        self.curves = EpisodeCurvesView(self.state)
        self.queue = ScanQueueView(self.state)
        for signal in (self.heatmap.cellActivated, self.queue.frameActivated):
            signal.connect(self.select)
        self.queue.table.cellDoubleClicked.connect(lambda r, c: self.open_in_inspector())
        self.heatmap.cellOpened.connect(lambda e, f: self.open_in_inspector())

    def open(self, path: str, *, show: bool = True) -> None:
        """Open a scan file (ScanFileError in one line when it is not one)."""
        self.state.open(path)
        if self.state.queue:
            q = self.state.queue[0]
            self.state.select(q.episode, q.frame)
        self.opened.emit(self.state.path)
        if show and getattr(self.window, "workspace", "scan") != "scan":
            self.window.set_workspace("scan")
        if hasattr(self.window, "status"):
            self.window.status(f"scan {os.path.basename(path)}: {self.state.status}")

    def select(self, episode: int, frame: int) -> None:
        self.state.select(episode, frame)

    def choose_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Open scan", "", "Scan files (*.h5 *.hdf5)")
        if path:
            self.window.run_guarded("Cannot open scan", self.open, path)

    def open_in_inspector(self) -> bool:
        """The selected frame in the dataset-conditioned inspector (False when there is none)."""
        if self.state.selection is None:
            return False
        review = getattr(self.window, "features", {}).get("review")
        opener = getattr(getattr(review, "datasets", None), "open_data_frame", None)
        if opener is None:
            if hasattr(self.window, "status"):
                self.window.status("the inspector cannot open data-set frames in this build")
            return False
        header = self.state.reader.header
        policies = [p.get("ref", "") for p in header.get("policies", [])]
        episode, frame = self.state.selection
        self.window.run_guarded("Cannot open the frame", opener, header["data"]["path"],
                                episode, frame, policies[self.state.policy] if policies else None)
        return True


def install(window) -> ScanWorkspace:
    ws = ScanWorkspace(window)
    area = Qt.DockWidgetArea
    heat = window.add_dock("scan_heatmap", "Scan heat map", ws.heatmap,
                           area.LeftDockWidgetArea, workspace="scan")
    curves = window.add_dock("scan_curves", "Episode curves", ws.curves,
                             area.BottomDockWidgetArea, workspace="scan")
    queue = window.add_dock("scan_queue", "Scan queue and tags", ws.queue,
                            area.RightDockWidgetArea, workspace="scan")
    ws.docks = {"heatmap": heat, "curves": curves, "queue": queue}
    # the queue column runs to the bottom and the curves sit under the heat map only: the
    # queue's rows and the curves then share no column, and the workspace fits 1280x800
    window.set_workspace_corners("scan", area.BottomDockWidgetArea, area.RightDockWidgetArea)
    sized = []

    def size_docks(name: str) -> None:
        if name == "scan" and not sized:
            sized.append(True)
            window.resizeDocks([heat, queue], [900, 420], Qt.Horizontal)
            window.resizeDocks([curves], [260], Qt.Vertical)
    window.workspaceChanged.connect(size_docks)
    action = QtGui.QAction("Open Scan…", window)
    action.triggered.connect(ws.choose_file)
    menu = window.file_menu
    before = menu.actions()[1] if len(menu.actions()) > 1 else None
    menu.insertAction(before, action)
    window.register_drop_handler(is_scan_file, ws.open, name="scan")
    return ws


def prepare_snapshot(window, args) -> None:
    """`planscope snapshot --view scan --scan scan.h5`: heat map, curves of the hardest frame's
    episode, queue."""
    ws: ScanWorkspace = window.features["scan"]
    path = getattr(args, "scan", None)
    if path and ws.state.reader is None:
        ws.open(str(path))
    window.set_workspace("scan")
    QtWidgets.QApplication.processEvents()
