"""Timeline: a bar over the rollout's control steps with event, replan and tag markers, a cursor,
and the transport controls (play/pause, speed 0.1x-8x, frame step, jump to previous/next event).

Keys (installed by the review workspace): Space play/pause, Left/Right one step, Shift+Left/Right
previous/next event, Home/End first/last step, [ and ] slower/faster.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.core.clock import Clock, default_clock
from app.core.review.state import SPEEDS, ReviewSession
from app.qt.shell.theme import glyph_icon

Qt = QtCore.Qt
EVENT_COLOURS = {"contact": "#FF8A3D", "joint_limit": "#C9A0FF", "timeout": "#AAAAAA",
                 "success": "#5BC46A"}
REPLAN_COLOUR = "#6C8EBF"
TAG_COLOUR = "#F0E442"
FAIL_COLOUR = "#FF3B30"


class TimelineBar(QtWidgets.QWidget):
    """Painted bar; click or drag to scrub. Draws only from the session's cached arrays."""

    scrubbed = QtCore.Signal(int)

    def __init__(self, session: ReviewSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setMinimumHeight(46)
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Fixed)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.ClickFocus)
        self.setToolTip("Click or drag to scrub. Ticks: replans (blue), contacts (orange), "
                        "success (green), tags (yellow), failure (red line)")
        for signal in (session.events.rollout_changed, session.events.tags_changed):
            signal.connect(lambda *_: self.update())
        session.events.step_changed.connect(lambda _s: self.update())

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(600, 46)

    def _x_of(self, step: float) -> float:
        n = max(self.session.num_steps - 1, 1)
        return 8 + (self.width() - 16) * step / n

    def step_at(self, x: float) -> int:
        n = max(self.session.num_steps - 1, 1)
        return int(round(np.clip((x - 8) / max(self.width() - 16, 1), 0, 1) * n))

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.LeftButton:
            self.scrubbed.emit(self.step_at(event.position().x()))

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        if event.buttons() & Qt.LeftButton:
            self.scrubbed.emit(self.step_at(event.position().x()))

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.Antialiasing)
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), QtGui.QColor("#1E1E22"))
        track = QtCore.QRectF(8, h * 0.42, w - 16, h * 0.22)
        data = self.session.rollout
        if data is None or data.num_steps == 0:
            p.setPen(QtGui.QColor("#888"))
            p.drawText(self.rect(), Qt.AlignCenter, "no rollout selected")
            return
        p.fillRect(track, QtGui.QColor("#3A3A42"))
        played = QtCore.QRectF(track.left(), track.top(), self._x_of(self.session.step) - 8,
                               track.height())
        p.fillRect(played, QtGui.QColor("#50607A"))
        pen = QtGui.QPen(QtGui.QColor(REPLAN_COLOUR), 1)
        p.setPen(pen)
        for s in data.replan_steps:
            x = self._x_of(s)
            p.drawLine(QtCore.QPointF(x, track.top() - 6), QtCore.QPointF(x, track.bottom()))
        for event in data.events:
            colour = EVENT_COLOURS.get(event.kind)
            if colour is None:
                continue
            x = self._x_of(event.step)
            p.setPen(Qt.NoPen)
            p.setBrush(QtGui.QColor(colour))
            y = track.bottom() + 6
            p.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(x, y - 5), QtCore.QPointF(x + 4, y),
                                           QtCore.QPointF(x, y + 5), QtCore.QPointF(x - 4, y)]))
        p.setBrush(QtGui.QColor(TAG_COLOUR))
        for tag in self.session.tags():
            if tag.step is None:
                continue
            x = self._x_of(tag.step)
            p.setPen(QtGui.QPen(QtGui.QColor(TAG_COLOUR), 1.5))
            p.drawLine(QtCore.QPointF(x, 2), QtCore.QPointF(x, track.top()))
            p.setPen(Qt.NoPen)
            p.drawRect(QtCore.QRectF(x, 2, 7, 6))
        if not data.success:
            x = self._x_of(data.failure_step)
            p.setPen(QtGui.QPen(QtGui.QColor(FAIL_COLOUR), 2))
            p.drawLine(QtCore.QPointF(x, 0), QtCore.QPointF(x, h))
        x = self._x_of(self.session.step)
        p.setPen(QtGui.QPen(QtGui.QColor("#FFFFFF"), 2))
        p.drawLine(QtCore.QPointF(x, track.top() - 10), QtCore.QPointF(x, track.bottom() + 10))
        p.setBrush(QtGui.QColor("#FFFFFF"))
        p.drawEllipse(QtCore.QPointF(x, track.center().y()), 5, 5)


class TimelineView(QtWidgets.QWidget):
    """The bar plus transport controls. Owns the playback clock (a QTimer at ~60 Hz that
    advances the session by the elapsed time of an injectable clock, app/core/clock.py, so speed
    is exact whatever the frame rate and tests advance a ManualClock explicitly)."""

    def __init__(self, session: ReviewSession, parent=None, clock: Clock | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.clock = clock or default_clock()
        self.bar = TimelineBar(session)
        self.bar.scrubbed.connect(session.set_step)

        def button(text: str, tip: str, slot, icon=None) -> QtWidgets.QToolButton:
            b = QtWidgets.QToolButton(text=text, toolTip=tip, autoRaise=True)
            if icon is not None:
                b.setIcon(glyph_icon(icon))
            b.clicked.connect(slot)
            return b

        self.first_button = button("first", "First step (Home)", lambda: session.set_step(0),
                                   "first")
        self.prev_event_button = button("◀ event", "Previous event (Shift+←)",
                                        lambda: session.jump_event(-1))
        self.prev_button = button("step", "Previous step (←)", lambda: session.step_by(-1),
                                  "step_back")
        self.play_button = button("play", "Play / pause (Space)", session.toggle_playing,
                                  "play")
        self.next_button = button("step", "Next step (→)", lambda: session.step_by(1),
                                  "step")
        self.next_event_button = button("event ▶", "Next event (Shift+→)",
                                        lambda: session.jump_event(1))
        self.last_button = button("last", "Last step (End)",
                                  lambda: session.set_step(session.num_steps - 1),
                                  "last")
        for b in (self.first_button, self.prev_button, self.play_button, self.next_button,
                  self.last_button):
            b.setToolButtonStyle(Qt.ToolButtonIconOnly)
        self.speed_box = QtWidgets.QComboBox(toolTip="Playback speed ([ slower, ] faster)")
        for s in SPEEDS:
            self.speed_box.addItem(f"{s:g}×", s)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.currentIndexChanged.connect(
            lambda i: session.set_speed(self.speed_box.itemData(i)))
        self.step_label = QtWidgets.QLabel()
        self.step_label.setMinimumWidth(self.step_label.fontMetrics().horizontalAdvance(
            "step 9999 / 9999   t = 999.9 s"))     # no jitter while playing
        self.step_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        row = QtWidgets.QHBoxLayout()
        for b in (self.first_button, self.prev_event_button, self.prev_button, self.play_button,
                  self.next_button, self.next_event_button, self.last_button):
            row.addWidget(b)
        row.addWidget(self.speed_box)
        row.addStretch(1)
        self.headline = QtWidgets.QLabel()
        self.headline.setObjectName("rollout_headline")
        font = self.headline.font()
        font.setBold(True)
        self.headline.setFont(font)
        self.headline.setWordWrap(True)     # a long headline wraps; it never widens the window
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        top = QtWidgets.QHBoxLayout()       # the step beside the headline: the button row
        top.addWidget(self.headline, 1)     # stays narrow enough for 1280x800
        top.addWidget(self.step_label)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addLayout(row)
        self._clock = QtCore.QTimer(self, interval=16)
        self._clock.timeout.connect(self.tick)
        self._last_tick = 0.0
        session.events.playing_changed.connect(self._on_playing)
        session.events.speed_changed.connect(self._on_speed)
        session.events.step_changed.connect(lambda _s: self._update_label())
        session.events.rollout_changed.connect(self._update_headline)
        self._update_label()
        self._update_headline(session.rollout)

    def _update_headline(self, data) -> None:
        """Which rollout, and whether and when it failed, in one line above the bar."""
        self._update_label()
        if data is None:
            self.headline.setText("")
            return
        verdict = ("<span style='color:#5BC46A'>success</span>" if data.success else
                   f"<span style='color:#FF6B5E'>FAILED ({data.failure_label}) at step "
                   f"{data.failure_step} (t = {data.failure_step / 10:.1f} s)</span>")
        self.headline.setText(f"Rollout {data.rollout_id} · seed {data.seed} · "
                              f"{data.policy or 'demo'} · {verdict}")

    def _on_playing(self, playing: bool) -> None:
        self.play_button.setIcon(glyph_icon("pause" if playing else "play"))
        if playing:
            self._last_tick = self.clock.now()
            self._clock.start()
        else:
            self._clock.stop()

    def _on_speed(self, speed: float) -> None:
        self._update_label()
        nearest = int(np.argmin([abs(s - speed) for s in SPEEDS]))
        if self.speed_box.currentIndex() != nearest:
            self.speed_box.blockSignals(True)
            self.speed_box.setCurrentIndex(nearest)
            self.speed_box.blockSignals(False)

    def tick(self) -> None:
        """Advance playback by the clock's time since the last tick (the timer calls this)."""
        now = self.clock.now()
        self.session.advance(now - self._last_tick)
        self._last_tick = now

    def _update_label(self) -> None:
        n = self.session.num_steps
        if n == 0:
            self.step_label.setText("step – / –")
            return
        s = self.session.step
        self.step_label.setText(f"step {s} / {n - 1}   t = {s / 10:.1f} s")

    def slower(self) -> None:
        i = int(np.searchsorted(SPEEDS, self.session.speed)) - 1
        self.session.set_speed(SPEEDS[max(i, 0)])

    def faster(self) -> None:
        i = int(np.searchsorted(SPEEDS, self.session.speed, side="right"))
        self.session.set_speed(SPEEDS[min(i, len(SPEEDS) - 1)])
