"""Browse a data set (LeRobot v3 folder, diffusion_policy zarr buffer; recordings/dataset.py) in
the review workspace and inspect the loaded policy at any recorded frame.

Docks (review workspace): "Data set" — the episode table (length, task, success where known),
a frame timeline, the episode's state and action curves with a cursor; "Data set camera" — the
camera frames at the cursor; "Policy at this frame" — app/qt/plots/dataset_inspection.py, filled by
"Inspect policy at this frame" (N plans from the inspector's policy with its sampling settings,
run on a worker thread, with the demonstrated chunk and the K nearest frames' chunks).

Opening: File ▸ Open Data Set… (DatasetFileDialog: an .h5/.hdf5 file — a planscope or robomimic
recording read through recordings.dataset.open_dataset — or a LeRobot v3 / zarr folder); a dropped
or command-line data-set FOLDER opens here too (one drop handler for folders with meta/info.json or
a zarr marker). A dropped .h5 stays a recording of rollouts (the review workspace's Rollouts
browser): an evaluation artifact's plans, events and tags live there, so the browser is where a
file is read as episodes of frames only when asked for. Problems are one dialog.

The table is a model (EpisodeTableModel: numpy columns, cells formatted only when Qt asks for
them), so 10,000 episodes stay smooth; an episode's curves are one slice read per selection.
"""
from __future__ import annotations

import html
import os
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.plots.mode_colors import MODE_HEX
from app.qt.shell.camera_view import rgb_qimage

Qt = QtCore.Qt
COLUMNS = ("Episode", "Length", "Task", "Success", "Mode")
DATASET_MARKERS = ("meta/info.json", "zarr.json", ".zgroup")
NEIGHBOURS = 32


def dimension_labels(feature: Any) -> list[str]:
    """One short label per flattened dimension: the data's own names ('ee_pos.0', 'gripper'),
    else 'key[i]' ('mug_pos[2]'); LeRobot's 'observation.' prefix dropped to keep them short."""
    key = feature.name.removeprefix("observation.")
    n = int(np.prod(feature.shape)) if feature.shape else 1
    names = list(feature.names or ())
    if len(names) == n:
        return [str(v) for v in names]
    return [key] if n == 1 else [f"{key}[{i}]" for i in range(n)]


def is_dataset(path: str) -> bool:
    """A folder planscope reads as a data set (LeRobot v3 meta/info.json, or a zarr store)."""
    return os.path.isdir(path) and any(os.path.isfile(os.path.join(path, m))
                                       for m in DATASET_MARKERS)


class DatasetFileDialog(QtWidgets.QFileDialog):
    """The one dialog for every data set: choose an .h5/.hdf5 file, or select a LeRobot v3 or
    zarr folder and press Open (the folder opens as a data set instead of being entered; other
    folders are entered as usual). Qt's own dialog: native ones cannot choose files and folders
    in one place."""

    TITLE = "Open data set (.h5 file, LeRobot v3 folder or zarr buffer)"
    FILTER = "Data sets (*.h5 *.hdf5);;All files (*)"

    def __init__(self, parent: QtWidgets.QWidget | None = None, directory: str = "") -> None:
        super().__init__(parent, self.TITLE, directory, self.FILTER)
        self.setOption(QtWidgets.QFileDialog.Option.DontUseNativeDialog, True)
        self.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFile)
        self.chosen = ""

    def accept(self) -> None:  # noqa: D102  (Qt's slot: Open pressed or Enter)
        picked = self.selectedFiles()
        path = picked[0] if picked else ""
        if path and is_dataset(path):
            self.chosen = path
            QtWidgets.QDialog.accept(self)       # a data-set folder: chosen, not entered
            return
        super().accept()
        if self.result() == QtWidgets.QDialog.DialogCode.Accepted:
            self.chosen = path

    @classmethod
    def choose(cls, parent: QtWidgets.QWidget | None = None) -> str:
        """Run the dialog in the last folder a dialog used; the chosen path or ""."""
        from app.qt.shell.settings import last_folder, remember_folder
        dialog = cls(parent, last_folder())
        path = dialog.chosen if dialog.exec() else ""
        remember_folder(os.path.dirname(path) if path and os.path.isdir(path) else path)
        return path


class EpisodeTableModel(QtCore.QAbstractTableModel):
    """One row per episode; columns kept as arrays; `sort` is one argsort."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.index_ = np.zeros(0, np.int64)
        self.length = np.zeros(0, np.int64)
        self.task: list[str] = []
        self.success = np.zeros(0, np.int8)      # 1 yes, 0 no, -1 unknown
        self.mode: list[str] = []
        self.order = np.zeros(0, np.int64)

    def set_episodes(self, episodes: list[Any]) -> None:
        self.beginResetModel()
        self.index_ = np.asarray([e.index for e in episodes], np.int64)
        self.length = np.asarray([e.length for e in episodes], np.int64)
        self.task = [str(e.task or "") for e in episodes]
        self.success = np.asarray([-1 if e.success is None else int(bool(e.success))
                                   for e in episodes], np.int8)
        self.mode = [str(getattr(e, "mode", "") or "") for e in episodes]
        self.order = np.arange(len(episodes))
        self.endResetModel()

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section]
        return None

    def episode_at(self, row: int) -> int:
        return int(self.index_[self.order[row]])

    def row_of(self, episode: int) -> int:
        hits = np.flatnonzero(self.index_[self.order] == episode)
        return int(hits[0]) if len(hits) else -1

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        i, col = int(self.order[index.row()]), index.column()
        if role == Qt.DisplayRole:
            if col == 0:
                return str(self.index_[i])
            if col == 1:
                return str(self.length[i])
            if col == 2:
                return self.task[i]
            if col == 3:
                return {1: "yes", 0: "no"}.get(int(self.success[i]), "–")
            return self.mode[i]
        if role == Qt.TextAlignmentRole and col in (0, 1):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        keys = (self.index_, self.length, np.asarray(self.task, dtype=object), self.success,
                np.asarray(self.mode, dtype=object))[column]
        self.layoutAboutToBeChanged.emit()
        idx = np.argsort(keys, kind="stable")
        self.order = idx[::-1] if order == Qt.DescendingOrder else idx
        self.layoutChanged.emit()


class DatasetBrowser(QtWidgets.QWidget):
    """Episode table + frame timeline + state/action curves of the selected episode."""

    frame_changed = QtCore.Signal(int, int)     # episode, frame

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ds: Any = None
        self.episode = -1
        self.info = QtWidgets.QLabel("no data set open (File ▸ Open Data Set…, or drop "
                                     "a LeRobot / zarr folder)")
        self.info.setWordWrap(True)
        self.model = EpisodeTableModel(self)
        self.table = QtWidgets.QTableView()
        self.table.setObjectName("dataset_episodes")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((76, 56, 110, 68)):   # Mode was off the dock's right edge
            self.table.horizontalHeader().resizeSection(col, width)
        self.table.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: self.select_episode(self.model.episode_at(cur.row()))
            if cur.isValid() else None)
        self.slider = QtWidgets.QSlider(Qt.Horizontal)
        self.slider.setObjectName("dataset_frame")
        self.frame_box = QtWidgets.QSpinBox()
        self.slider.valueChanged.connect(self._on_frame)
        self.frame_box.valueChanged.connect(self.slider.setValue)
        self.inspect_button = QtWidgets.QPushButton("Inspect policy at this frame")
        self.inspect_button.setEnabled(False)
        self.curves = pg.GraphicsLayoutWidget()
        self.curves.setObjectName("dataset_curves")
        self.state_plot = self.curves.addPlot(row=0, col=0, title="state")
        self.action_plot = self.curves.addPlot(row=1, col=0, title="action")
        self.action_plot.setXLink(self.state_plot)
        self.cursors = []
        for plot in (self.state_plot, self.action_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMenuEnabled(False)
            cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#FFFFFF", width=1))
            plot.addItem(cursor)
            self.cursors.append(cursor)
        self._curve_items: dict[str, list[pg.PlotDataItem]] = {"state": [], "action": []}
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("frame"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.frame_box)
        row.addWidget(self.inspect_button)
        # which line is which: the data set's own dimension names in the curves' colours, as
        # wrapped text under the plots (a pyqtgraph legend covered the curves or outgrew the dock)
        self.key = QtWidgets.QLabel()
        self.key.setObjectName("dataset_curve_key")
        self.key.setWordWrap(True)
        self.key.setTextFormat(Qt.RichText)
        split = QtWidgets.QSplitter(Qt.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.curves)
        split.setSizes([260, 300])
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.info)
        lay.addWidget(split, 1)
        lay.addWidget(self.key)
        lay.addLayout(row)

    # ---- data
    def set_dataset(self, ds: Any) -> None:
        self.ds = ds
        # readable at the window's first size: six episode rows, two plots with their axes. Only
        # once a data set is open: the (tabbed, empty) browser's minimum otherwise squeezed the
        # rollouts' "Plans at replan" dock below its own at 1280x800
        self.table.setMinimumHeight(140)
        self.curves.setMinimumHeight(240)
        eps = ds.episodes
        fps = getattr(ds, "fps", None)
        feats = ", ".join(f"{k} {'x'.join(map(str, f.shape))}" for k, f in ds.features.items()
                          if f.kind in ("state", "environment", "action", "image"))
        self.info.setText(f"<b>{os.path.basename(os.path.normpath(str(ds.path)))}</b>: "
                          f"{len(eps)} episodes, {ds.num_frames} frames"
                          f"{f', {fps:g} fps' if fps else ''} — {feats}")
        self.model.set_episodes(eps)
        self.episode = -1
        if eps:
            self.select_episode(eps[0].index)

    def select_episode(self, episode: int) -> None:
        if self.ds is None or episode == self.episode:
            return
        self.episode = int(episode)
        row = self.model.row_of(self.episode)
        if row >= 0 and self.table.currentIndex().row() != row:
            self.table.selectRow(row)
        length = self.ds.episodes[self.episode].length
        keys = {"state": self.ds.keys_of_kind("state", "environment"),
                "action": [self.ds.action_key] if self.ds.action_key else []}
        data = self.ds.episode_slice(self.episode, 0, length,
                                     [k for ks in keys.values() for k in ks])
        key_lines = []
        for group, plot in (("state", self.state_plot), ("action", self.action_plot)):
            names = [n for k in keys[group] for n in dimension_labels(self.ds.features[k])]
            key_lines.append(f"<b>{group}</b>: " + " ".join(
                f"<span style='color:{MODE_HEX[j % len(MODE_HEX)]}'>&#9632;</span>&nbsp;{html.escape(n)}"
                for j, n in enumerate(names)))
            for item in self._curve_items[group]:
                plot.removeItem(item)
            self._curve_items[group] = []
            cols = [np.asarray(data[k], np.float64).reshape(length, -1) for k in keys[group]]
            values = np.concatenate(cols, axis=1) if cols else np.zeros((length, 0))
            for j in range(values.shape[1]):
                item = pg.PlotDataItem(np.arange(length), values[:, j],
                                       pen=pg.mkPen(MODE_HEX[j % len(MODE_HEX)], width=1))
                plot.addItem(item)
                self._curve_items[group].append(item)
        self.key.setText("<br>".join(key_lines))
        self.slider.blockSignals(True)
        self.frame_box.blockSignals(True)
        self.slider.setRange(0, max(length - 1, 0))
        self.frame_box.setRange(0, max(length - 1, 0))
        self.slider.blockSignals(False)
        self.frame_box.blockSignals(False)
        self.slider.setValue(0)
        self._on_frame(0)

    @property
    def frame(self) -> int:
        return int(self.slider.value())

    def set_frame(self, frame: int) -> None:
        self.slider.setValue(int(frame))

    def _on_frame(self, frame: int) -> None:
        self.frame_box.blockSignals(True)
        self.frame_box.setValue(frame)
        self.frame_box.blockSignals(False)
        for cursor in self.cursors:
            cursor.setValue(frame)
        if self.ds is not None and self.episode >= 0:
            self.frame_changed.emit(self.episode, int(frame))


class CameraFrames(QtWidgets.QWidget):
    """The data set's camera images at the cursor, side by side (decoded on demand)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.lay = QtWidgets.QHBoxLayout(self)
        self.labels: dict[str, QtWidgets.QLabel] = {}
        self.note = QtWidgets.QLabel("no camera in this data set")
        self.lay.addWidget(self.note)

    def show_frame(self, ds: Any, episode: int, frame: int) -> None:
        keys = ds.keys_of_kind("image")
        self.note.setVisible(not keys)
        if not keys:
            return
        values = ds.frame(episode, frame, keys)
        for k in keys:
            label = self.labels.get(k)
            if label is None:
                label = self.labels[k] = QtWidgets.QLabel()
                label.setToolTip(k)
                label.setAlignment(Qt.AlignCenter)
                self.lay.addWidget(label, 1)
            label.setPixmap(QtGui.QPixmap.fromImage(rgb_qimage(values[k])).scaled(
                max(label.width(), 96), max(label.height(), 96), Qt.KeepAspectRatio,
                Qt.SmoothTransformation))
