"""Hardest-20 queue and failure tags panel.

Queue: the 20 hardest rollouts over every open recording (hardness from recordings.ranking,
failures first), "k / 20 reviewed", N / P to move through it, a small dialog for the weights.
Tags: the shared taxonomy on keys 1-8, user-defined tags, a note, anchored to the current step or
to the whole rollout. A tag appears in the list only after the store has committed it (the
list is redrawn from the store's content on `tags_changed`, never from what was typed).
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.core.review.rank import weight_defaults, weight_descriptions
from app.core.review.state import QUEUE_SIZE, ReviewSession
from app.core.review.tags import TAXONOMY, Tag
from app.qt.review.compare_view import perturbation_text
from app.qt.review.dialogs import WeightsDialog
from app.qt.shell.dialogs import show_error

Qt = QtCore.Qt


class QueuePanel(QtWidgets.QWidget):
    rows_changed = QtCore.Signal()      # the rows were rebuilt (the panel's height may change)

    def __init__(self, session: ReviewSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.progress = QtWidgets.QLabel()
        self.progress.setObjectName("queue_progress")
        font = self.progress.font()
        font.setBold(True)
        self.progress.setFont(font)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("queue_list")
        self.list.setMinimumHeight(60)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.ElideMiddle)
        self.prev_button = QtWidgets.QPushButton("◀ Prev (P)")
        self.next_button = QtWidgets.QPushButton("Next (N) ▶")
        self.weights_button = QtWidgets.QPushButton("Weights…")
        self.prev_button.clicked.connect(lambda: self._step(-1))
        self.next_button.clicked.connect(lambda: self._step(1))
        self.weights_button.clicked.connect(self.edit_weights)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.prev_button, self.next_button, self.weights_button):
            buttons.addWidget(b)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.progress)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        session.events.queue_changed.connect(self.refresh)
        self.refresh()

    def _step(self, direction: int) -> None:
        try:
            self.session.queue_step(direction)
        except Exception as exc:  # noqa: BLE001  dialog; the app keeps running
            show_error(self, "Review", exc)

    def _activated(self, item: QtWidgets.QListWidgetItem) -> None:
        key = item.data(Qt.UserRole)
        if key is not None and key != self.session.current:
            try:
                self.session.select(key)
            except Exception as exc:  # noqa: BLE001
                show_error(self, "Review", exc)

    def progress_text(self) -> str:
        """"#k of 20 · r / 20 reviewed": where the reviewer is and how far they got."""
        s = self.session
        pos = s.queue_position
        at = f"#{pos + 1} of {len(s.queue)}" if pos >= 0 else "not in queue"
        return f"{at} · {s.reviewed_count} / {len(s.queue)} reviewed"

    def refresh(self) -> None:
        s = self.session
        self.progress.setText(f"Hardest {QUEUE_SIZE}: {self.progress_text()}")
        self.list.blockSignals(True)
        self.list.clear()
        several = len(s.recordings) > 1
        for rank, key in enumerate(s.queue):
            rec = s.recordings[key.file] if key.file < len(s.recordings) else None
            done = s.is_reviewed(key)
            success = bool(rec.cell(key.row, "success")) if rec is not None else False
            label = rec.cell(key.row, "failure_label") if rec is not None else ""
            where = f"{rec.name}:" if several and rec is not None else ""
            pert = perturbation_text(rec.cell(key.row, "perturbation")) if rec is not None else ""
            text = (f"{'✓' if done else '○'} {rank + 1:2d}. {where}#{rec.rollout_id(key.row)}"
                    f" s{rec.cell(key.row, 'seed')} {rec.cell(key.row, 'policy') or ''}"
                    f"{'' if pert == 'nominal' else ' ' + pert}"
                    f" {'ok' if success else '✗ ' + str(label or '')}")
            item = QtWidgets.QListWidgetItem(text)
            item.setToolTip(f"rollout {rec.rollout_id(key.row)} · seed {rec.cell(key.row, 'seed')}"
                            f" · {rec.cell(key.row, 'policy')} · {pert} · "
                            f"{'success' if success else 'FAILED ' + str(label or '')}"
                            f" · hardness {s.queue_scores[rank]:.2f}")
            item.setData(Qt.UserRole, key)
            if key == s.current:
                item.setSelected(True)
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.rows_changed.emit()

    def rows_height(self) -> int:
        """Pixels the list needs to show every queue row (<= 20) without scrolling."""
        shown = min(self.list.count(), QUEUE_SIZE)
        row = self.list.sizeHintForRow(0) if self.list.count() else self.fontMetrics().height() + 4
        return row * max(shown, 1) + 2 * self.list.frameWidth() + 6

    def needed_height(self) -> int:
        """The whole panel (progress line, every row, buttons) without scrolling."""
        return self.sizeHint().height() - self.list.sizeHint().height() + self.rows_height()

    def edit_weights(self) -> None:
        defaults = weight_defaults()
        dialog = WeightsDialog(dict(self.session.weights or defaults), weight_descriptions(), self)
        dialog.set_defaults(defaults)
        if dialog.exec() == QtWidgets.QDialog.Accepted:
            self.session.set_weights(dialog.weights())


class TagsPanel(QtWidgets.QWidget):
    """Taxonomy buttons (keys 1-8), user tags, note, anchor choice, the current rollout's tags."""

    def __init__(self, session: ReviewSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        grid = QtWidgets.QGridLayout()
        self.taxonomy_buttons = []
        for i, name in enumerate(TAXONOMY):
            b = QtWidgets.QPushButton(f"{i + 1} {name}")
            b.setToolTip(f"Tag the rollout as a {name} failure (key {i + 1})")
            b.setStyleSheet("padding: 1px 4px;")
            b.clicked.connect(lambda _c=False, n=i + 1: self.tag_taxonomy(n))
            grid.addWidget(b, i // 4, i % 4)
            self.taxonomy_buttons.append(b)
        self.at_step = QtWidgets.QRadioButton("at current step")
        self.whole = QtWidgets.QRadioButton("whole rollout")
        self.at_step.setChecked(True)
        anchor = QtWidgets.QHBoxLayout()
        anchor.addWidget(QtWidgets.QLabel("Anchor:"))
        anchor.addWidget(self.at_step)
        anchor.addWidget(self.whole)
        self.note = QtWidgets.QLineEdit(
            placeholderText="Note (E): Enter saves it onto the selected tag, Esc leaves")
        self.note.setObjectName("tag_note")
        self.note.returnPressed.connect(self.save_note)
        self.custom = QtWidgets.QLineEdit(placeholderText="Your own tag, Enter to add")
        self.custom.returnPressed.connect(self.tag_custom)
        self.tag_list = QtWidgets.QListWidget()
        self.tag_list.setObjectName("tag_list")
        self.tag_list.setMinimumHeight(64)   # three tags always visible
        self.tag_list.setToolTip("Select a tag, then E (or double-click) to write its note; "
                                 "Delete removes it; Ctrl+Z undoes; right-click for a menu")
        self.tag_list.itemDoubleClicked.connect(lambda _item: self.focus_note())
        self.tag_list.setContextMenuPolicy(Qt.CustomContextMenu)
        self.tag_list.customContextMenuRequested.connect(self._context_menu)
        self.tag_list.currentItemChanged.connect(self._on_current)
        self.remove_button = QtWidgets.QPushButton("Remove selected tag (Del)")
        self.remove_button.clicked.connect(self.remove_selected)
        self.undo_button = QtWidgets.QPushButton("Undo (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo)
        self._selected_id: int | None = None
        self.store_label = QtWidgets.QLabel()
        self.store_label.setWordWrap(True)
        self.store_label.setStyleSheet("color: #999; font-size: 9pt;")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        edits = QtWidgets.QHBoxLayout()
        edits.addWidget(self.remove_button)
        edits.addWidget(self.undo_button)
        layout.addLayout(grid)
        layout.addLayout(anchor)
        layout.addWidget(self.note)
        layout.addWidget(self.custom)
        layout.addLayout(edits)           # above the list: never below the fold
        layout.addWidget(self.tag_list, 1)
        layout.addWidget(self.store_label)
        session.events.tags_changed.connect(self.refresh)
        session.events.rollout_changed.connect(lambda _d: self.refresh())
        session.events.recordings_changed.connect(self.refresh)
        self.refresh()

    def _add(self, label: str, note: str | None = None) -> Tag | None:
        """Store a tag; it becomes the selected one, so E + a note + Enter writes onto it."""
        try:
            tag = self.session.add_tag(label, at_step=self.at_step.isChecked(),
                                       note=self.note.text().strip() if note is None else note)
        except Exception as exc:  # noqa: BLE001  nothing is shown unless the store committed
            show_error(self, "Review", exc)
            return None
        self.note.clear()
        self.select_tag(tag.tag_id)
        return tag

    def select_tag(self, tag_id: int | None) -> None:
        self._selected_id = tag_id
        for i in range(self.tag_list.count()):
            if self.tag_list.item(i).data(Qt.UserRole).tag_id == tag_id:
                self.tag_list.setCurrentRow(i)
                return

    def selected_tag(self) -> Tag | None:
        item = self.tag_list.currentItem()
        return item.data(Qt.UserRole) if item is not None else None

    def _on_current(self, item, _previous=None) -> None:
        if item is not None:
            self._selected_id = item.data(Qt.UserRole).tag_id

    def focus_note(self) -> None:
        """E: edit the selected tag's note in the note field (Enter saves, Esc leaves)."""
        tag = self.selected_tag()
        if tag is not None and not self.note.text():
            self.note.setText(tag.note)
        self.note.setFocus(Qt.ShortcutFocusReason)
        self.note.selectAll()

    def save_note(self) -> Tag | None:
        """Enter in the note field: the note goes onto the selected tag (a new "note" tag at
        the current step when none is selected); focus leaves the field, so the next key
        tags or moves again."""
        note = self.note.text().strip()
        tag = self.selected_tag()
        try:
            if tag is not None:
                saved = self.session.set_note(tag, note)
                self.note.clear()
                if saved is not None:
                    self.select_tag(saved.tag_id)
            elif note:
                saved = self._add("note", note=note)
            else:
                saved = None
        except Exception as exc:  # noqa: BLE001  dialog; the app keeps running
            show_error(self, "Review", exc)
            return None
        self.note.clearFocus()
        return saved

    def undo(self) -> str:
        try:
            text = self.session.undo()
        except Exception as exc:  # noqa: BLE001
            show_error(self, "Review", exc)
            return ""
        window = self.window()
        if hasattr(window, "status"):
            window.status(f"undo: {text}" if text else "nothing to undo", 4000)
        return text

    def _context_menu(self, pos) -> None:
        item = self.tag_list.itemAt(pos)
        if item is None:
            return
        self.tag_list.setCurrentItem(item)
        menu = QtWidgets.QMenu(self)
        menu.addAction("Edit note (E)", self.focus_note)
        menu.addAction("Delete tag (Del)", self.remove_selected)
        menu.addSeparator()
        undo = menu.addAction("Undo (Ctrl+Z)", self.undo)
        undo.setEnabled(self.session.can_undo)
        menu.popup(self.tag_list.viewport().mapToGlobal(pos))
        self.context_menu = menu   # kept for tests

    def tag_taxonomy(self, number: int) -> Tag | None:
        return self._add(TAXONOMY[number - 1])

    def tag_custom(self) -> Tag | None:
        text = self.custom.text().strip()
        if not text:
            return None
        tag = self._add(text)
        if tag is not None:
            self.custom.clear()
        return tag

    def remove_selected(self) -> None:
        item = self.tag_list.currentItem()
        if item is None:
            return
        try:
            self.session.remove_tag(item.data(Qt.UserRole))
        except Exception as exc:  # noqa: BLE001
            show_error(self, "Review", exc)

    def refresh(self) -> None:
        keep = self._selected_id
        self.tag_list.blockSignals(True)
        self.tag_list.clear()
        for tag in sorted(self.session.tags(), key=lambda t: (t.step is not None, t.step or 0)):
            where = "whole rollout" if tag.step is None else f"step {tag.step}"
            text = f"{tag.label}  ·  {where}" + (f"  —  {tag.note}" if tag.note else "")
            item = QtWidgets.QListWidgetItem(text)
            item.setData(Qt.UserRole, tag)
            self.tag_list.addItem(item)
            if tag.tag_id == keep:
                self.tag_list.setCurrentItem(item)
        self.tag_list.blockSignals(False)
        if self.tag_list.currentItem() is None:
            self._selected_id = None
        self.undo_button.setEnabled(self.session.can_undo)
        rec = self.session.recording()
        if rec is None:
            self.store_label.setText("")
        else:
            notice = rec.tags.notice
            self.store_label.setText(("⚠ " + notice + "\n" if notice else "")
                                     + f"Tags saved in {rec.tags.location}")


class ReviewQueuePanel(QtWidgets.QWidget):
    """The right-hand dock: queue above, tags below."""

    def __init__(self, session: ReviewSession, parent=None) -> None:
        super().__init__(parent)
        self.queue = QueuePanel(session)
        self.tags = TagsPanel(session)
        splitter = QtWidgets.QSplitter(Qt.Vertical)
        splitter.addWidget(self.queue)
        splitter.addWidget(self.tags)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        self._user_sized = False    # once the reviewer drags the handle, their split stays
        splitter.splitterMoved.connect(self._moved)
        self.queue.rows_changed.connect(self.fit_rows)
        # a scroll area so the panel never forces the window taller than the screen
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.NoFrame)
        scroll.setWidget(splitter)
        # never narrower than the tag buttons: only the height may scroll
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(splitter.minimumSizeHint().width()
                               + scroll.verticalScrollBar().sizeHint().width())
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    def _moved(self, *_args) -> None:
        self._user_sized = True

    def fit_rows(self) -> None:
        """Give the queue every one of its rows (all 20) and the tags panel the rest while there
        is room for both; with less room (1280x800) the tags panel keeps its height and the list
        scrolls. Nothing is a hard minimum: the dock never forces the window taller."""
        if self._user_sized or not self.isVisible():
            return
        total = sum(self.splitter.sizes())
        if total <= 0:
            return
        tags = max(self.tags.minimumSizeHint().height(), 120)
        queue = max(min(self.queue.needed_height(), total - tags), 80)
        self.splitter.blockSignals(True)
        self.splitter.setSizes([queue, max(total - queue, 0)])
        self.splitter.blockSignals(False)

    def resizeEvent(self, event) -> None:  # noqa: N802  Qt API
        super().resizeEvent(event)
        self.fit_rows()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.fit_rows()
