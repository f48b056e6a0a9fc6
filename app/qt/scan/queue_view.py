"""The scan's review queue (hardest 20 frames, or the 20 that changed most between two policies),
the selected frame's numbers, and its failure tags (keys 1..8: the shared taxonomy)."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from app.core.scan.state import ScanState
from recordings.errors import UserFacingError
from recordings.tags import TAXONOMY

COLUMNS = ("#", "episode", "frame", "score", "flags")


class ScanQueueView(QtWidgets.QWidget):
    frameActivated = QtCore.Signal(int, int)      # episode, frame

    def __init__(self, state: ScanState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.kind = QtWidgets.QComboBox()
        self.kind.addItems(["hardness", "change"])
        self.kind.setToolTip("hardness: collapse/averaging first, then distance to the "
                             "demonstration, then spread; change: where policy B differs from A")
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(230)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.details = QtWidgets.QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tag_buttons = []
        grid = QtWidgets.QGridLayout()
        for i, name in enumerate(TAXONOMY):
            b = QtWidgets.QPushButton(f"{i + 1} {name}")
            b.setToolTip(f"tag the selected frame '{name}' (key {i + 1})")
            b.clicked.connect(lambda _=False, n=name: self.tag(n))
            grid.addWidget(b, i // 2, i % 2)
            self.tag_buttons.append(b)
            QtGui.QShortcut(QtGui.QKeySequence(str(i + 1)), self, activated=lambda n=name: self.tag(n))
        self.tag_list = QtWidgets.QListWidget()
        self.tag_list.setMaximumHeight(90)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Queue"))
        row.addWidget(self.kind, 1)
        layout.addLayout(row)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.details)
        layout.addLayout(grid)
        layout.addWidget(self.tag_list)
        self.kind.currentTextChanged.connect(self._pick_kind)
        self.table.cellClicked.connect(self._clicked)
        state.events.opened.connect(lambda p: self.refresh())
        state.events.metric.connect(lambda m, p: self.refresh())
        state.events.selected.connect(lambda e, f: self._show_frame())
        state.events.tags.connect(self._show_tags)

    def refresh(self) -> None:
        self.kind.blockSignals(True)
        self.kind.setCurrentText(self.state.queue_kind)
        self.kind.model().item(1).setEnabled(self.state.num_policies > 1)
        self.kind.blockSignals(False)
        rows = self.state.queue
        self.table.setRowCount(len(rows))
        for r, q in enumerate(rows):
            values = (q.rank + 1, q.episode, q.frame, f"{q.score:.2f}", " ".join(q.flags))
            for c, v in enumerate(values):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(str(v)))
        self.table.resizeColumnsToContents()

    def _pick_kind(self, kind: str) -> None:
        try:
            self.state.set_queue(kind)
        except ValueError:
            self.kind.setCurrentText(self.state.queue_kind)
            return
        self.refresh()

    def _clicked(self, row: int, _col: int) -> None:
        if 0 <= row < len(self.state.queue):
            q = self.state.queue[row]
            self.frameActivated.emit(q.episode, q.frame)

    def _show_frame(self) -> None:
        row = self.state.selected_row()
        if row < 0:
            return
        episode, frame = self.state.selection
        facts = self.state.frame_facts(row)
        labels = self.state.policy_labels
        keys = ("collapsed", "averaged", "off_data", "coverage", "missed_share",
                "demo_dist_nearest", "spread", "sample_modes", "data_modes")
        lines = [f"<b>episode {episode}, frame {frame}</b>"]
        for key in keys:
            if key in facts:
                vals = " / ".join(f"{v:.3g}" for v in facts[key])
                lines.append(f"{key}: {vals}")
        if len(labels) > 1:
            lines.insert(1, " / ".join(labels))
        self.details.setText("<br>".join(lines))
        self._show_tags()

    def _show_tags(self) -> None:
        self.tag_list.clear()
        if self.state.selection is None:
            return
        for t in self.state.tags(*self.state.selection):
            self.tag_list.addItem(f"{t.tag}{': ' + t.note if t.note else ''} ({t.author})")

    def tag(self, name: str) -> None:
        if self.state.selection is None:
            return
        try:
            self.state.add_tag(name)
        except UserFacingError as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot tag", str(exc))
