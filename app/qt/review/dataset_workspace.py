"""Data sets in the review workspace: the docks of app/qt/review/dataset_browser.py and
app/qt/plots/dataset_inspection.py, the drop handler, File ▸ Open Data Set Folder…, and "Inspect
policy at this frame" (the inspector's policy and sampling settings, run on a worker thread).

    install(window) -> DatasetWorkspace       (app/qt/registry.py, with the review workspace)
    prepare_snapshot(window, args)            `planscope snapshot --view review --data DS
                                              --episode E --frame F --policy P`
"""
from __future__ import annotations

import os
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.plots.dataset_inspection import DatasetInspectionView
from app.qt.review.dataset_browser import (CameraFrames, DatasetBrowser, DatasetFileDialog,
                                           is_dataset)
from app.qt.shell.dialogs import show_error
from recordings.errors import UserFacingError

Qt = QtCore.Qt


class DatasetWorkspace(QtCore.QObject):
    """Owns the open data set, its browser and the dataset-conditioned inspection view."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.ds: Any = None
        self.source: Any = None           # DatasetSource for (data set, policy)
        self.browser = DatasetBrowser()
        self.camera = CameraFrames()
        self.view = DatasetInspectionView()
        self.result: Any = None
        self._runner = None
        self.planner: Any = None          # a policy named by open_data_frame (a scan's), else
        self.planner_ref: str | None = None   # the inspector's policy is sampled
        self.browser.frame_changed.connect(self._on_frame)
        self.browser.inspect_button.clicked.connect(lambda: self.inspect())

    # ---- opening
    def open(self, path: str) -> None:
        """Open a data set: a LeRobot v3 / zarr folder or an .h5 file (read as episodes of
        frames; one dialog on a problem, via the window's guard)."""
        from recordings.dataset import open_dataset
        ds = open_dataset(path)
        if not ds.episodes:
            raise UserFacingError(f"{path}: the data set has no episodes")
        if self.ds is not None:
            self.ds.close()
        self.ds, self.source, self.result = ds, None, None
        self.browser.set_dataset(ds)
        self.browser.inspect_button.setEnabled(True)
        if hasattr(self.window, "set_workspace") and self.window.workspace != "review":
            self.window.set_workspace("review")
        for key in ("dataset", "dataset_camera", "dataset_inspection"):
            dock = self.window.dock(key)
            if dock is not None:
                dock.show()
                dock.raise_()
        self.window.status(f"opened data set {os.path.basename(os.path.normpath(path))}: "
                           f"{len(ds.episodes)} episodes, {ds.num_frames} frames")

    def open_dialog(self) -> None:
        """File ▸ Open Data Set…: a data-set folder opens as a drop does (and joins the recent
        files); an .h5 file opens HERE as a data set — a dropped .h5 stays rollouts."""
        self.open_chosen(DatasetFileDialog.choose(self.window))

    def open_chosen(self, path: str) -> None:
        """Route what File ▸ Open Data Set… chose ("" = cancelled)."""
        if not path:
            return
        if os.path.isdir(path):
            self.window.open_paths([path])
        else:
            self.window.run_guarded(f"Cannot open {os.path.basename(path)}", self.open, path)

    def _on_frame(self, episode: int, frame: int) -> None:
        try:
            self.camera.show_frame(self.ds, episode, frame)
        except UserFacingError as exc:
            self.window.status(str(exc), 8000)

    # ---- inspecting
    def _policy(self) -> Any:
        inspector = getattr(self.window, "features", {}).get("inspector")
        policy = None if inspector is None else inspector.state.policy
        if policy is None:
            raise UserFacingError("no policy loaded: open a checkpoint (File ▸ Open Policy…) "
                                  "to inspect it at a recorded frame")
        return policy, inspector

    def open_data_frame(self, data_path: str, episode: int, frame: int,
                        policy_ref: str | None = None, *, wait: bool = False) -> None:
        """The one entry point for other workspaces (a scan's heat-map cell or queue row): open
        data_path unless it is open, go to (episode, frame) and sample there again, live, with the
        chain: policy_ref (a checkpoint the scan names; loaded once, then kept) or, when None,
        the inspector's policy. wait=True samples here instead of on the worker thread."""
        current = None if self.ds is None else os.path.abspath(str(self.ds.path))
        if current != os.path.abspath(str(data_path)):
            self.open(str(data_path))
        if policy_ref and policy_ref != self.planner_ref:
            from planners.loading import load_planner
            self.planner, self.planner_ref = load_planner(policy_ref), policy_ref
        elif not policy_ref:
            self.planner = self.planner_ref = None
        self.browser.select_episode(int(episode))
        self.browser.set_frame(int(frame))
        if hasattr(self.window, "set_workspace") and self.window.workspace != "review":
            self.window.set_workspace("review")
        self.inspect(wait=wait)

    def _make_job(self, episode: int, frame: int):
        from app.core.inspector.dataset_source import DatasetSource

        if self.planner is not None:               # open_data_frame named the policy
            planner = self.planner
            inspector = getattr(self.window, "features", {}).get("inspector")
        else:
            policy, inspector = self._policy()
            planner = policy.planner
        if self.source is None or self.source.planner is not planner:
            self.source = DatasetSource(self.ds, planner)      # names both sides
        settings = getattr(getattr(inspector, "state", None), "settings", None)
        source = self.source
        num = int(getattr(settings, "num_samples", 64))
        seed = int(getattr(settings, "seed", 0) or 0)
        source.check_frame(episode, frame)

        def job(_handle=None):
            return source.inspect(episode, frame, num, seed=seed)
        return job

    def inspect(self, *, wait: bool = False) -> None:
        """Sample the inspector's policy at the browser's episode and frame; draw the result.
        wait=True runs it here (snapshots)."""
        if self.ds is None:
            return
        episode, frame = self.browser.episode, self.browser.frame
        try:
            job = self._make_job(episode, frame)
        except Exception as exc:  # noqa: BLE001  one dialog, the app keeps running
            self._error(exc)
            return
        if wait:
            self._done(job())
            return
        from app.qt.shell.workers import JobRunner
        if self._runner is None:
            self._runner = JobRunner(self)
        self.browser.inspect_button.setEnabled(False)
        self.window.status(f"sampling the policy at episode {episode}, frame {frame}…", 0)
        self._runner.submit(job, on_done=self._done,
                            on_error=lambda exc, _tb: self._error(exc), name="dataset-inspect")

    def _done(self, result: Any) -> None:
        self.result = result
        self.browser.inspect_button.setEnabled(True)
        self.view.show_result(result)
        dock = self.window.dock("dataset_inspection")
        if dock is not None:
            dock.show()
            dock.raise_()
        self.window.status(f"episode {result.episode}, frame {result.frame}: {result.verdict}",
                           8000)

    def _error(self, exc: BaseException) -> None:
        self.browser.inspect_button.setEnabled(self.ds is not None)
        if getattr(self.window, "raise_errors", False):
            raise exc
        show_error(self.window, "Inspect policy at this frame", exc)


def install(window: Any) -> DatasetWorkspace:
    ws = DatasetWorkspace(window)
    area = Qt.DockWidgetArea
    browser = window.add_dock("dataset", "Data set", ws.browser, area.LeftDockWidgetArea,
                              workspace="review")
    rollouts = window.dock("review_rollouts")
    if rollouts is not None:
        window.tabifyDockWidget(rollouts, browser)
    camera = window.add_dock("dataset_camera", "Data set camera", ws.camera,
                             area.RightDockWidgetArea, workspace="review")
    view = window.add_dock("dataset_inspection", "Policy at this frame", ws.view,
                           area.RightDockWidgetArea, workspace="review")
    replans = window.dock("review_replans")
    if replans is not None:
        window.tabifyDockWidget(replans, view)
    window.splitDockWidget(view, camera, Qt.Vertical)
    if rollouts is not None:
        rollouts.raise_()
    window.register_drop_handler(is_dataset, ws.open, name="dataset")
    action = QtGui.QAction("Open Data Set…", window)
    action.triggered.connect(ws.open_dialog)
    menu = window.file_menu
    recent = window.recent_menu.menuAction() if hasattr(window, "recent_menu") else None
    menu.insertAction(recent, action)
    return ws


def prepare_snapshot(window: Any, args: Any) -> None:
    """--data DS [--episode E --frame F]: open it, go to the frame, inspect the loaded policy
    there (synchronously) and lay the docks out so the browser and the plots are both seen."""
    data = getattr(args, "data", None)
    if not data:
        return
    ws: DatasetWorkspace = window.features["review"].datasets
    if ws.ds is None:
        ws.open(data)
    episode, frame = int(getattr(args, "episode", 0) or 0), int(getattr(args, "frame", 0) or 0)
    if not 0 <= episode < len(ws.ds.episodes):
        raise UserFacingError(f"--episode {episode}: {data} has {len(ws.ds.episodes)} episodes")
    ws.browser.select_episode(episode)
    ws.browser.set_frame(frame)
    for key in ("dataset", "dataset_inspection", "dataset_camera"):
        window.dock(key).show()
        window.dock(key).raise_()
    window.resizeDocks([window.dock("dataset"), window.dock("dataset_inspection")], [520, 900],
                       Qt.Horizontal)
    QtWidgets.QApplication.processEvents()
    inspector = window.features.get("inspector")
    if inspector is not None and inspector.state.policy is not None:
        ws.inspect(wait=True)
