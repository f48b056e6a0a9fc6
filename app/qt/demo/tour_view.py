"""The guided tour on screen: a card overlay over the main window, driven by app/core/demo/tour.py.

`Tour(window, setups)` owns a `TourModel` (Qt-free) and a `TourCard` widget. When the model
moves to a card, the tour calls that card's `setup(window)` (app/qt/demo/tour_cards.py) so the views
show what the card talks about, then puts the card in its corner. The card is a child widget
floating over the window, so the user can click anything around it; "Leave tour" hides it and
leaves the window as it is (Help > Guided Tour, or Ctrl+T, brings it back at the same card).

Keys while the tour shows: Page Down / Page Up (what presenter clickers send) for next /
previous.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Mapping

from PySide6 import QtCore, QtGui, QtWidgets

from app.core.demo.tour import DEMO_CARDS, CardSpec, TourModel

log = logging.getLogger(__name__)

CardSetup = Callable[[QtWidgets.QMainWindow], None]


class TourCard(QtWidgets.QFrame):
    """The card: big title, 2-3 sentences, a counter and Previous / Next / Leave buttons.

    Sized from the application font, so presentation mode's larger font makes the card larger
    too. Width is capped at 36% of the window so the scene stays visible beside it."""

    next_clicked = QtCore.Signal()
    previous_clicked = QtCore.Signal()
    leave_clicked = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("tour_card")
        self.setAutoFillBackground(False)
        self.setAttribute(QtCore.Qt.WA_StyledBackground, True)
        # The 3-D scene view is a native GL window in a window container, and a native window
        # always covers plain (non-native) sibling widgets: the card must be native too to
        # float above the scene (raise_() then stacks it on top).
        self.setAttribute(QtCore.Qt.WA_NativeWindow, True)
        self.title = QtWidgets.QLabel(self)
        self.title.setObjectName("tour_title")
        self.title.setWordWrap(True)
        self.text = QtWidgets.QLabel(self)
        self.text.setObjectName("tour_text")
        self.text.setWordWrap(True)
        self.text.setSizePolicy(QtWidgets.QSizePolicy.Preferred, QtWidgets.QSizePolicy.Minimum)
        self.counter = QtWidgets.QLabel(self)
        self.counter.setObjectName("tour_counter")
        self.note = QtWidgets.QLabel(self)
        self.note.setObjectName("tour_note")
        self.note.setWordWrap(True)
        self.note.hide()
        self.base_point_size = 10.0
        self.previous_button = QtWidgets.QPushButton("◀  Previous", self)
        self.next_button = QtWidgets.QPushButton("Next  ▶", self)
        self.leave_button = QtWidgets.QPushButton("Leave tour", self)
        for button in (self.previous_button, self.next_button, self.leave_button):
            button.setCursor(QtCore.Qt.PointingHandCursor)
            button.setFocusPolicy(QtCore.Qt.NoFocus)   # keys keep going to the views
        self.next_button.setObjectName("tour_next")
        self.previous_button.setObjectName("tour_previous")
        self.leave_button.setObjectName("tour_leave")
        self.next_button.clicked.connect(self.next_clicked)
        self.previous_button.clicked.connect(self.previous_clicked)
        self.leave_button.clicked.connect(self.leave_clicked)

        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.counter)
        buttons.addStretch(1)
        buttons.addWidget(self.leave_button)
        buttons.addWidget(self.previous_button)
        buttons.addWidget(self.next_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(22, 16, 22, 16)
        layout.setSpacing(10)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        self.restyle()

    def restyle(self) -> None:
        """Fonts from the application font: title x2.1, text x1.45 (bigger in presentation)."""
        base = QtWidgets.QApplication.font().pointSizeF()
        base = base if base > 0 else 10.0
        self.base_point_size = base
        self.setStyleSheet(f"""
            QFrame#tour_card {{ background: rgba(255, 255, 255, 242);
                border: 2px solid #1f77b4; border-radius: 0px; }}
            QLabel {{ color: #1a1a1a; background: transparent; }}
            QLabel#tour_title {{ font-size: {base * 2.1:.1f}pt; font-weight: 700; color: #0b3d66; }}
            QLabel#tour_text {{ font-size: {base * 1.45:.1f}pt; }}
            QLabel#tour_note {{ font-size: {base * 1.1:.1f}pt; color: #8a4b00; }}
            QLabel#tour_counter {{ font-size: {base * 1.2:.1f}pt; color: #555555; }}
            QPushButton {{ font-size: {base * 1.2:.1f}pt; padding: 6px 14px; border-radius: 8px;
                background: #e8eef5; color: #0b3d66; border: 1px solid #9bb6d0; }}
            QPushButton#tour_next {{ background: #1f77b4; color: white; border: none; }}
            QPushButton:disabled {{ color: #aaaaaa; background: #f2f2f2; }}
        """)

    def show_card(self, spec: CardSpec, position: str, *, has_previous: bool, has_next: bool,
                  note: str = "") -> None:
        self.title.setText(spec.title)
        self.text.setText(spec.text)
        self.counter.setText(position)
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self.previous_button.setEnabled(has_previous)
        self.next_button.setText("Next  ▶" if has_next else "Finish")
        self.setToolTip("Page Down: next card · Page Up: previous card")


class Tour(QtCore.QObject):
    """Connects a TourModel, its card setups and the TourCard overlay on `window`."""

    card_shown = QtCore.Signal(str)     # card key, after its setup ran
    setup_failed = QtCore.Signal(str, str)   # card key, message

    MARGIN = 18

    def __init__(self, window: QtWidgets.QMainWindow, setups: Mapping[str, CardSetup],
                 cards: tuple[CardSpec, ...] = DEMO_CARDS) -> None:
        super().__init__(window)
        missing = [c.key for c in cards if c.key not in setups]
        if missing:
            raise ValueError(f"no setup for tour cards {missing}")
        self.window = window
        self.setups = dict(setups)
        self.model = TourModel(cards)
        self.card = TourCard(window)
        self.card.hide()
        self.setup_ms: dict[str, float] = {}
        self.last_error: dict[str, str] = {}
        self.card.next_clicked.connect(self._on_next)
        self.card.previous_clicked.connect(self.model.previous)
        self.card.leave_clicked.connect(self.model.leave)
        self.model.events.left.connect(self.card.hide)
        self.model.events.card.connect(self._show_card)
        self._place_pending = False
        window.installEventFilter(self)
        if window.centralWidget() is not None:
            # docks opening or closing resize the central area the card is anchored to
            window.centralWidget().installEventFilter(self)
        window.tour = self

        self.resume_action = QtGui.QAction("Guided Tour", window)
        self.resume_action.setShortcut(QtGui.QKeySequence("Ctrl+T"))
        self.resume_action.triggered.connect(self.model.resume)
        window.addAction(self.resume_action)
        for key, slot in ((QtCore.Qt.Key_PageDown, self._on_next),
                          (QtCore.Qt.Key_PageUp, self.model.previous)):
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), window)
            shortcut.activated.connect(lambda slot=slot: self.model.active and slot())
        self._add_menu_entry()

    def detach(self) -> None:
        """Stop watching the window (before it is destroyed: a Python event filter called
        from a C++ destructor at interpreter exit crashes PySide)."""
        self.window.removeEventFilter(self)
        central = self.window.centralWidget()
        if central is not None:
            central.removeEventFilter(self)

    def _add_menu_entry(self) -> None:
        help_menu = getattr(self.window, "help_menu", None)
        if help_menu is None:
            help_menu = self.window.menuBar().addMenu("&Help")
        help_menu.insertAction(help_menu.actions()[0] if help_menu.actions() else None,
                               self.resume_action)

    # -- model -> view --------------------------------------------------------------------
    def start(self, index: int = 0) -> None:
        self.model.start(index)

    def _on_next(self) -> None:
        if not self.model.next():
            self.model.leave()   # "Finish" on the last card

    def _show_card(self, _index: int) -> None:
        self._show_current()

    def _show_current(self) -> None:
        spec = self.model.current
        note = ""
        t0 = time.perf_counter()
        try:
            self.setups[spec.key](self.window)
            self.last_error.pop(spec.key, None)
        except Exception as exc:   # a card must never take the app down mid-talk
            log.exception("tour card %s setup failed", spec.key)
            message = str(exc) or type(exc).__name__
            self.last_error[spec.key] = message
            note = f"Could not set up this view: {message}"
            self.setup_failed.emit(spec.key, message)
        self.setup_ms[spec.key] = (time.perf_counter() - t0) * 1000.0
        self.card.restyle()
        self.card.show_card(spec, self.model.position_label(), has_previous=self.model.has_previous,
                            has_next=self.model.has_next, note=note)
        self.card.show()
        self.card.raise_()
        self.place_card()
        # again once the new text is laid out; `self` as the context: dropped with the window
        QtCore.QTimer.singleShot(0, self, self.place_card)
        self.card_shown.emit(spec.key)

    # -- geometry -------------------------------------------------------------------------
    def card_rect(self) -> QtCore.QRect:
        """Where the card goes: its anchor corner of the central widget's area, clear of the
        menu bar, at most 36% of the window wide (40% in a narrow window)."""
        w = self.window
        central = w.centralWidget()
        if central is not None and central.isVisible() and central.width() >= 200 \
                and central.height() >= 150:
            area = central.geometry()
        else:   # no central view showing (the probe card): the window between its bars
            top = w.menuBar().geometry().bottom() + 1 if w.menuBar().isVisible() else 0
            bottom = w.statusBar().geometry().top() - 1 if w.statusBar().isVisible() else w.height() - 1
            area = QtCore.QRect(0, top, w.width(), bottom - top)
        share = 0.42 if self.card.base_point_size > 12 else 0.36   # larger fonts, wider card
        width = int(min(max(w.width() * share, 380), area.width() - 2 * self.MARGIN, 900))
        width = max(width, 200)
        if self.card.width() != width or self.card.minimumWidth() != width:
            self.card.setFixedWidth(width)
        # the labels' fonts come from the style sheet: polish them before measuring the text
        for child in self.card.findChildren(QtWidgets.QWidget):
            child.ensurePolished()
        layout = self.card.layout()
        layout.invalidate()
        layout.activate()
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() \
            else self.card.sizeHint().height()
        height = max(height, layout.totalMinimumSize().height())
        anchor = self.model.current.anchor
        x = area.left() + self.MARGIN if "left" in anchor else area.right() - width - self.MARGIN
        y = area.top() + self.MARGIN if "top" in anchor else area.bottom() - height - self.MARGIN
        return QtCore.QRect(max(x, 0), max(y, 0), width, height)

    def place_card(self) -> None:
        self._place_pending = False
        if self.card.isVisible():
            rect = self.card_rect()
            if rect != self.card.geometry():
                self.card.setGeometry(rect)
            self.card.raise_()

    def _schedule_place(self) -> None:
        if not self._place_pending:
            self._place_pending = True
            QtCore.QTimer.singleShot(0, self, self.place_card)

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        # Only the window's own size matters (docks moving change the central area too, and
        # show up as a window Resize of the central widget's parent layout). Listening to
        # LayoutRequest would loop: placing the card is itself a layout change.
        if obj is self.window and event.type() in (QtCore.QEvent.Resize, QtCore.QEvent.Show):
            self._schedule_place()
        elif obj is self.window.centralWidget() and event.type() in (QtCore.QEvent.Resize,
                                                                      QtCore.QEvent.Move):
            self._schedule_place()
        return False
