"""Rollout browser: every rollout of the open recordings in one sortable, filterable table.

Model/view only (no widget per row), fed by each file's summary table, so 10,000 rows stay
smooth: sorting is one numpy argsort in the source model and filtering one boolean mask that the
proxy reads per row; `data()` only formats the cells Qt asks for (the visible ones).
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.core.review.state import ReviewSession, RolloutKey

Qt = QtCore.Qt
SORT_ROLE = Qt.UserRole + 1
KEY_ROLE = Qt.UserRole + 2

# (column key, header); "file" is shown only when more than one recording is open.
COLUMNS = (("file", "File"), ("id", "Id"), ("seed", "Seed"), ("policy", "Policy"),
           ("perturbation", "Perturbation"), ("success", "Success"),
           ("failure_label", "Failure"), ("hardness", "Hardness"), ("tags", "Tags"))
COLUMN_WIDTHS = {"file": 110, "id": 40, "seed": 40, "policy": 112, "perturbation": 96,
                 "success": 64, "failure_label": 90, "hardness": 72, "tags": 120}
FAIL_BRUSH = QtGui.QBrush(QtGui.QColor("#FF6B5E"))
OK_BRUSH = QtGui.QBrush(QtGui.QColor("#5BC46A"))


def perturbation_text(value: object) -> str:
    """'{"action_noise": 0.02}' -> 'action_noise=0.02' (how `planscope eval` names cells)."""
    text = str(value or "")
    if not text.startswith("{"):
        return text
    try:
        import json
        cell = json.loads(text)
    except ValueError:
        return text
    return ",".join(f"{k}={v}" for k, v in cell.items()) if isinstance(cell, dict) else text


class RolloutTableModel(QtCore.QAbstractTableModel):
    """Rows: (file, row) pairs of every open recording, in `self.order` (sorted) order."""

    def __init__(self, session: ReviewSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.keys = np.zeros((0, 2), np.int64)          # [R, 2] (file, row) per source row
        self.columns: dict[str, np.ndarray] = {}        # key -> [R] values (sort keys)
        self.text: dict[str, list[str] | np.ndarray] = {}
        self.order = np.zeros(0, np.int64)              # display row -> index into keys
        self.search_text = np.zeros(0, dtype=object)    # [R] lowercase row text, for filtering
        session.events.recordings_changed.connect(self.rebuild)
        session.events.tags_changed.connect(self.refresh_tags)
        session.events.queue_changed.connect(self._refresh_hardness_if_weights_changed)
        self._weights = session.weights
        self._sort = (1, Qt.AscendingOrder)

    # ---- building
    def rebuild(self) -> None:
        self.beginResetModel()
        recs = self.session.recordings
        keys, cols = [], {k: [] for k, _ in COLUMNS}
        for f, rec in enumerate(recs):
            n = len(rec)
            keys.append(np.stack([np.full(n, f), np.arange(n)], axis=1))
            cols["file"].append(np.full(n, rec.name, dtype=object))
            for key in ("id", "seed", "policy", "perturbation", "success", "failure_label"):
                col = rec.columns.get(key)
                cols[key].append(np.full(n, "", dtype=object) if col is None else col.astype(object))
            cols["perturbation"][-1] = np.asarray(
                [perturbation_text(v) for v in cols["perturbation"][-1]], dtype=object)
            cols["hardness"].append(rec.rank(self.session.weights)[1].astype(object))
            cols["tags"].append(np.full(n, "", dtype=object))
        self.keys = np.concatenate(keys) if keys else np.zeros((0, 2), np.int64)
        self.columns = {k: (np.concatenate(v) if v else np.zeros(0, dtype=object))
                        for k, v in cols.items()}
        self.order = np.arange(len(self.keys))
        self._fill_tags()
        self._rebuild_search()
        self._apply_sort()
        self.endResetModel()

    def _fill_tags(self) -> None:
        """Tags column from each file's tag book: O(number of tags), not O(rows)."""
        tags = self.columns.get("tags")
        if tags is None or not len(tags):
            return
        tags[:] = ""
        offset = 0
        for rec in self.session.recordings:
            for rollout_id in {t.rollout_id for t in rec.tags.all()}:
                row = rec.row_of(rollout_id)
                if row is not None:
                    tags[offset + row] = rec.tags.labels(rollout_id)
            offset += len(rec)

    def _rebuild_search(self) -> None:
        parts = [self.columns[k].astype(str) for k in ("id", "seed", "policy", "perturbation",
                                                        "failure_label", "tags", "file")]
        success = np.where(self.columns["success"].astype(bool), "success", "failed")
        joined = parts[0] if parts else np.zeros(0, dtype=str)
        for p in parts[1:] + [success]:
            joined = np.char.add(np.char.add(joined, " "), p)
        self.search_text = np.char.lower(joined.astype(str)) if len(joined) else joined

    def refresh_tags(self) -> None:
        if not len(self.keys):
            return
        self._fill_tags()
        self._rebuild_search()
        col = [k for k, _ in COLUMNS].index("tags")
        self.dataChanged.emit(self.index(0, col), self.index(self.rowCount() - 1, col))

    def _refresh_hardness_if_weights_changed(self) -> None:
        if self.session.weights != self._weights:
            self._weights = self.session.weights
            self.rebuild()

    # ---- Qt model API
    def rowCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section][1]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        i = int(self.order[index.row()])
        key = COLUMNS[index.column()][0]
        value = self.columns[key][i]
        if role == Qt.DisplayRole:
            if key == "success":
                return "yes" if bool(value) else "FAILED"
            if key == "hardness":
                return f"{float(value):.2f}"
            return str(value)
        if role == SORT_ROLE:
            return value
        if role == KEY_ROLE:
            return RolloutKey(int(self.keys[i, 0]), int(self.keys[i, 1]))
        if role == Qt.ForegroundRole and key in ("success", "failure_label"):
            return OK_BRUSH if bool(self.columns["success"][i]) else FAIL_BRUSH
        return None

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        self._apply_sort()
        self.layoutChanged.emit()

    def _apply_sort(self) -> None:
        column, order = self._sort
        values = self.columns[COLUMNS[column][0]] if self.columns else np.zeros(0)
        if not len(values):
            return
        try:
            sort_keys = values.astype(np.float64)
        except (TypeError, ValueError):
            sort_keys = values.astype(str)
        idx = np.argsort(sort_keys, kind="stable")
        self.order = idx[::-1] if order == Qt.DescendingOrder else idx

    def key_at(self, row: int) -> RolloutKey:
        i = int(self.order[row])
        return RolloutKey(int(self.keys[i, 0]), int(self.keys[i, 1]))

    def row_of(self, key: RolloutKey) -> int:
        matches = np.flatnonzero((self.keys[:, 0] == key.file) & (self.keys[:, 1] == key.row))
        if not matches.size:
            return -1
        return int(np.flatnonzero(self.order == matches[0])[0])


class RolloutFilterProxy(QtCore.QSortFilterProxyModel):
    """Filters by a precomputed mask (search words AND failed-only); sorting is delegated to the
    source model's numpy sort."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._mask: np.ndarray | None = None
        self.setDynamicSortFilter(False)

    def set_filter(self, words: str, failed_only: bool) -> None:
        src: RolloutTableModel = self.sourceModel()
        mask = None
        terms = words.lower().split()
        if terms or failed_only:
            mask = np.ones(len(src.search_text), bool)
            for term in terms:
                mask &= np.char.find(src.search_text.astype(str), term) >= 0
            if failed_only:
                mask &= ~src.columns["success"].astype(bool)
        # indexed like the source's `keys` (unsorted), so sorting never invalidates it
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            self._mask = mask
            self.endFilterChange(QtCore.QSortFilterProxyModel.Direction.Rows)
        else:
            self._mask = mask
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row, source_parent) -> bool:  # noqa: N802
        if self._mask is None:
            return True
        order = self.sourceModel().order
        return source_row < len(order) and bool(self._mask[order[source_row]])

    def sort(self, column, order=Qt.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)


class RolloutBrowser(QtWidgets.QWidget):
    """Search box, "failed only" toggle and the table; selecting a row selects the rollout."""

    def __init__(self, session: ReviewSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = RolloutTableModel(session, self)
        self.proxy = RolloutFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.search = QtWidgets.QLineEdit(placeholderText="Search: policy, seed, label, tag…")
        self.search.setClearButtonEnabled(True)
        self.failed_only = QtWidgets.QCheckBox("Failed only")
        self.count_label = QtWidgets.QLabel()
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        # "mug_grasp_expert" vs "mug_grasp_averaging" differ at the end: keep both ends
        self.table.setTextElideMode(Qt.ElideMiddle)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.failed_only)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)
        self._filter_timer = QtCore.QTimer(self, singleShot=True, interval=120)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _t: self._filter_timer.start())
        self.failed_only.toggled.connect(lambda _b: self.apply_filter())
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        self.model.modelReset.connect(self._after_reset)
        self.model.layoutChanged.connect(self._update_count)
        session.events.rollout_changed.connect(lambda _d: self.show_current())
        self._selecting = False

    def apply_filter(self) -> None:
        self.proxy.set_filter(self.search.text(), self.failed_only.isChecked())
        self._update_count()

    def _after_reset(self) -> None:
        self.table.setColumnHidden(0, len(self.session.recordings) < 2)
        for column, (key, _title) in enumerate(COLUMNS[1:], start=1):
            values = self.model.columns.get(key)
            # an all-empty column (e.g. no perturbations in this file) only takes room
            empty = values is not None and len(values) > 0 and key in (
                "perturbation", "policy", "tags") and not any(str(v) for v in values)
            self.table.setColumnHidden(column, empty and key != "tags")
        self.apply_filter()
        for column, (key, _title) in enumerate(COLUMNS):
            # fixed widths: resizeColumnsToContents() scans every row (seconds at 10,000)
            self.table.setColumnWidth(column, COLUMN_WIDTHS.get(key, 80))
        self.show_current()

    def _update_count(self) -> None:
        self.count_label.setText(f"{self.proxy.rowCount()} of {self.model.rowCount()} rollouts")

    def _on_current_row(self, current: QtCore.QModelIndex, _previous) -> None:
        if self._selecting or not current.isValid():
            return
        key = self.model.key_at(self.proxy.mapToSource(current).row())
        if key != self.session.current:
            try:
                self.session.select(key)
            except Exception as exc:  # noqa: BLE001  shown as a dialog, the app keeps running
                from app.qt.shell.dialogs import show_error
                show_error(self, "Review", exc)

    def show_current(self) -> None:
        """Select the session's current rollout in the table (without re-selecting it)."""
        key = self.session.current
        if key is None:
            return
        row = self.model.row_of(key)
        if row < 0:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 1))
        if not index.isValid():
            return
        self._selecting = True
        try:
            self.table.selectionModel().setCurrentIndex(
                index, QtCore.QItemSelectionModel.ClearAndSelect | QtCore.QItemSelectionModel.Rows)
            self.table.scrollTo(index)
        finally:
            self._selecting = False
