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
from app.qt.review.dialogs import WeightsDialog
from app.qt.shell.dialogs import show_error

Qt = QtCore.Qt


class QueuePanel(QtWidgets.QWidget):
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

    def refresh(self) -> None:
        s = self.session
        total = len(s.queue)
        self.progress.setText(f"Hardest {QUEUE_SIZE}: {s.reviewed_count} / {total} reviewed")
        self.list.blockSignals(True)
        self.list.clear()
        several = len(s.recordings) > 1
        for rank, key in enumerate(s.queue):
            rec = s.recordings[key.file] if key.file < len(s.recordings) else None
            done = s.is_reviewed(key)
            success = bool(rec.cell(key.row, "success")) if rec is not None else False
            label = rec.cell(key.row, "failure_label") if rec is not None else ""
            where = f"{rec.name}:" if several and rec is not None else ""
            text = (f"{'✓' if done else '○'} {rank + 1:2d}. {where}rollout {rec.rollout_id(key.row)}"
                    f"  seed {rec.cell(key.row, 'seed')}  {rec.cell(key.row, 'policy') or ''}"
                    f"  {'ok' if success else 'FAILED ' + str(label or '')}"
                    f"  h={s.queue_scores[rank]:.2f}")
            item = QtWidgets.QListWidgetItem(text)
            item.setData(Qt.UserRole, key)
            if key == s.current:
                item.setSelected(True)
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
        self.list.blockSignals(False)

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
        self.note = QtWidgets.QLineEdit(placeholderText="Note (saved with the next tag)")
        self.custom = QtWidgets.QLineEdit(placeholderText="Your own tag, Enter to add")
        self.custom.returnPressed.connect(self.tag_custom)
        self.tag_list = QtWidgets.QListWidget()
        self.tag_list.setObjectName("tag_list")
        self.tag_list.setMinimumHeight(48)
        self.tag_list.setToolTip("Double-click a tag to edit its note")
        self.tag_list.itemDoubleClicked.connect(self.edit_note)
        self.remove_button = QtWidgets.QPushButton("Remove selected tag")
        self.remove_button.clicked.connect(self.remove_selected)
        self.store_label = QtWidgets.QLabel()
        self.store_label.setWordWrap(True)
        self.store_label.setStyleSheet("color: #999; font-size: 9pt;")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(grid)
        layout.addLayout(anchor)
        layout.addWidget(self.note)
        layout.addWidget(self.custom)
        layout.addWidget(self.tag_list, 1)
        layout.addWidget(self.remove_button)
        layout.addWidget(self.store_label)
        session.events.tags_changed.connect(self.refresh)
        session.events.rollout_changed.connect(lambda _d: self.refresh())
        session.events.recordings_changed.connect(self.refresh)
        self.refresh()

    def _add(self, label: str) -> Tag | None:
        try:
            tag = self.session.add_tag(label, at_step=self.at_step.isChecked(),
                                       note=self.note.text().strip())
        except Exception as exc:  # noqa: BLE001  nothing is shown unless the store committed
            show_error(self, "Review", exc)
            return None
        self.note.clear()
        return tag

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

    def edit_note(self, item: QtWidgets.QListWidgetItem) -> None:
        tag: Tag = item.data(Qt.UserRole)
        note, ok = QtWidgets.QInputDialog.getText(self, "Tag note", f"Note for {tag.label}:",
                                                  text=tag.note)
        if ok:
            try:
                self.session.set_note(tag, note)
            except Exception as exc:  # noqa: BLE001
                show_error(self, "Review", exc)

    def remove_selected(self) -> None:
        item = self.tag_list.currentItem()
        if item is None:
            return
        try:
            self.session.remove_tag(item.data(Qt.UserRole))
        except Exception as exc:  # noqa: BLE001
            show_error(self, "Review", exc)

    def refresh(self) -> None:
        self.tag_list.clear()
        for tag in sorted(self.session.tags(), key=lambda t: (t.step is not None, t.step or 0)):
            where = "whole rollout" if tag.step is None else f"step {tag.step}"
            text = f"{tag.label}  ·  {where}" + (f"  —  {tag.note}" if tag.note else "")
            item = QtWidgets.QListWidgetItem(text)
            item.setData(Qt.UserRole, tag)
            self.tag_list.addItem(item)
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
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        # a scroll area so the panel never forces the window taller than the screen
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.NoFrame)
        scroll.setWidget(splitter)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
