"""Data sets in the review workspace: the docks of app/qt/review/dataset_browser.py (episode
table, curves, camera), the drop handler, File ▸ Open Data Set…, and "Inspect policy at
this frame", which makes that frame the INSPECTOR's observation (its sampling panel, chain docks,
plan overlay and Modes dock; the demonstrated chunk and the nearest frames' chunks are drawn with
the plans): one way to inspect a plan batch, reached at run time through window.features.

    install(window) -> DatasetWorkspace       (app/qt/registry.py, with the review workspace)
    DatasetWorkspace.open_data_frame(...)     the one entry point (browser button, scan cells)
    prepare_snapshot(window, args)            `planscope snapshot --view review --data DS
                                              --episode E --frame F [--policy P]`
"""
from __future__ import annotations

import os
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.review.dataset_browser import (CameraFrames, DatasetBrowser, DatasetFileDialog,
                                           is_dataset)
from app.qt.shell.dialogs import show_error
from recordings.errors import UserFacingError

Qt = QtCore.Qt


class DatasetWorkspace(QtCore.QObject):
    """Owns the open data set, its browser and camera frames; inspection is the inspector's."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.ds: Any = None
        self.browser = DatasetBrowser()
        self.camera = CameraFrames()
        self._following = False
        self._watching_rollouts = False
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
        self.ds = ds
        self.browser.set_dataset(ds)
        self.browser.inspect_button.setEnabled(True)
        if hasattr(self.window, "set_workspace") and self.window.workspace != "review":
            self.window.set_workspace("review")
        dock = self.window.dock("dataset")
        if dock is not None:
            dock.show()
            dock.raise_()
        self.fit_docks()
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
        if os.path.isdir(path) and is_dataset(path):
            self.window.open_paths([path])
        else:   # the reader names what is wrong (a folder that is no data set: what it expected)
            self.window.run_guarded(f"Cannot open {os.path.basename(path)}", self.open, path)

    def fit_docks(self) -> None:
        """Review's docks for what is open: the "Data set camera" dock only for a data set with
        cameras, and the rollouts' "Plans at replan" dock only when a recording of rollouts is
        open — with a data set alone it stood empty under the browser and squeezed the episode
        table to a few rows and the state/action curves to nothing."""
        if getattr(self.window, "workspace", "review") != "review":
            return
        session = getattr(self.window.features.get("review"), "session", None) \
            if hasattr(self.window, "features") else None
        if session is not None and not self._watching_rollouts:
            session.events.recordings_changed.connect(self.fit_docks)
            self._watching_rollouts = True
        camera = self.window.dock("dataset_camera")
        if camera is not None:
            camera.setVisible(self.ds is not None and bool(self.ds.keys_of_kind("image")))
        replans = self.window.dock("review_replans")
        if replans is not None:
            rollouts = bool(getattr(session, "recordings", None))
            replans.setVisible(self.ds is None or rollouts)

    def _on_frame(self, episode: int, frame: int) -> None:
        try:
            self.camera.show_frame(self.ds, episode, frame)
        except UserFacingError as exc:
            self.window.status(str(exc), 8000)

    # ---- inspecting: the inspector samples at the frame (one way to inspect a plan batch)
    def _inspector(self) -> Any:
        inspector = getattr(self.window, "features", {}).get("inspector")
        if inspector is None:
            raise UserFacingError("the inspector workspace is not installed: data-set frames are "
                                  "inspected there")
        return inspector

    def open_data_frame(self, data_path: str, episode: int, frame: int,
                        policy_ref: str | None = None, *, wait: bool = False) -> None:
        """The one entry point for every workspace (the browser's button, a scan's heat-map cell
        or queue row): open data_path here unless it is open, go to (episode, frame) in the
        browser, and make that frame the inspector's observation — the inspector's sampling
        panel, chain docks, plan overlay and Modes dock (against the K nearest frames) all work
        on it. policy_ref: a checkpoint to sample (a scan's; loaded once, then kept), else the
        inspector's policy. wait=True samples on this thread (snapshots)."""
        current = None if self.ds is None else os.path.abspath(str(self.ds.path))
        if current != os.path.abspath(str(data_path)):
            self.open(str(data_path))
        episode, frame = int(episode), int(frame)
        check_frame(self.ds, episode, frame)
        self.browser.select_episode(episode)
        self.browser.set_frame(frame)
        length = self.ds.episodes[episode].length
        inspector = self._inspector()
        if not self._following:          # the browser's cursor follows the inspector's ◀ / ▶
            inspector.state.events.source.connect(self._follow)
            self._following = True
        inspector.open_data_frame(str(self.ds.path), episode, frame, policy_ref,
                                  length=length, wait=wait)

    def _follow(self, source: Any) -> None:
        """The inspector moved to another recorded frame of this data set: show it here too."""
        if source is None or self.ds is None or \
                os.path.abspath(source.data) != os.path.abspath(str(self.ds.path)):
            return
        if self.browser.episode != source.episode:
            self.browser.select_episode(source.episode)
        if self.browser.frame != source.frame:
            self.browser.set_frame(source.frame)

    @property
    def result(self) -> Any:
        """The inspector's reading at the recorded frame it shows (a DatasetInspection: plans,
        chain, demonstrated chunk, neighbours, verdict), or None."""
        inspector = getattr(self.window, "features", {}).get("inspector")
        return None if inspector is None else inspector.state.data

    def inspect(self, *, wait: bool = False) -> None:
        """"Inspect policy at this frame": the browser's episode and frame in the inspector."""
        if self.ds is None:
            return
        try:
            self.open_data_frame(str(self.ds.path), self.browser.episode, self.browser.frame,
                                 wait=wait)
        except Exception as exc:  # noqa: BLE001  one dialog, the app keeps running
            self._error(exc)

    def _error(self, exc: BaseException) -> None:
        if getattr(self.window, "raise_errors", False):
            raise exc
        show_error(self.window, "Inspect policy at this frame", exc)


def check_frame(ds: Any, episode: int, frame: int, *, flags: bool = False) -> None:
    """One line naming the range when (episode, frame) is not in the data set: the browser's
    slider would clamp a frame silently, and episode -1 picked the last one (flags: name the
    command line's --episode / --frame)."""
    name = os.path.basename(os.path.normpath(str(ds.path)))
    count = len(ds.episodes)
    if not 0 <= episode < count:
        what = f"--episode {episode}" if flags else f"episode {episode}"
        raise UserFacingError(f"{what}: {name} has {count} episodes (0..{count - 1})")
    length = ds.episodes[episode].length
    if not 0 <= frame < length:
        what = f"--frame {frame}" if flags else f"frame {frame}"
        raise UserFacingError(f"{what}: episode {episode} of {name} has {length} frames "
                              f"(0..{length - 1})")


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
    replans = window.dock("review_replans")
    if replans is not None:
        window.splitDockWidget(replans, camera, Qt.Vertical)
    if rollouts is not None:
        rollouts.raise_()

    # an empty "Data set camera" dock took a third of review's right column for nothing, and
    # an empty "Plans at replan" dock half the data set browser's column
    window.workspaceChanged.connect(lambda name: ws.fit_docks() if name == "review" else None)
    if getattr(window, "workspace", "") == "review":
        ws.fit_docks()
    window.register_drop_handler(is_dataset, ws.open, name="dataset")
    action = QtGui.QAction("Open Data Set…", window)
    action.triggered.connect(ws.open_dialog)
    menu = window.file_menu
    recent = window.recent_menu.menuAction() if hasattr(window, "recent_menu") else None
    menu.insertAction(recent, action)
    return ws


def prepare_snapshot(window: Any, args: Any) -> None:
    """--view review --data DS [--episode E --frame F]: open it in the browser at the frame; with
    a policy loaded (--policy), the frame is inspected in the inspector (the snapshot is then of
    the inspector: `--view inspector --data ...` is the same picture)."""
    data = getattr(args, "data", None)
    if not data:
        return
    ws: DatasetWorkspace = window.features["review"].datasets
    if ws.ds is None:
        ws.open(data)
    episode, frame = int(getattr(args, "episode", 0) or 0), int(getattr(args, "frame", 0) or 0)
    check_frame(ws.ds, episode, frame, flags=True)
    ws.browser.select_episode(episode)
    ws.browser.set_frame(frame)
    window.dock("dataset").show()
    window.dock("dataset").raise_()
    ws.fit_docks()
    window.resizeDocks([window.dock("dataset")], [560], Qt.Horizontal)
    QtWidgets.QApplication.processEvents()
    inspector = window.features.get("inspector")
    if inspector is not None and inspector.state.policy is not None:
        feature = window.available_features.get("inspector")
        if feature is not None and feature.prepare_snapshot is not None:
            feature.prepare_snapshot(window, args)
