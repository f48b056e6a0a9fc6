"""The focus model: keys belong to the workspace unless a field is being edited.

Documented rule (Help > Keyboard shortcuts repeats it):
  * A text field, spin box or editable combo box takes keys only while it is being edited:
    from a click (or Tab) into it until Esc, Enter in a single-line field, or a click on
    anything that does not take the keyboard itself (a dock or chart tab, a plot, a label).
    Then focus leaves the field, and workspace keys (review: 1-8, N, P, Space, arrows) reach
    the workspace again.
  * The mouse wheel never changes a value of a field that does not have focus: the wheel over
    an unfocused spin box, combo box or slider scrolls the panel under it instead.

`install(app)` puts one application-wide event filter in place (idempotent).
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

QEvent = QtCore.QEvent
Qt = QtCore.Qt
VALUE_WIDGETS = (QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox, QtWidgets.QAbstractSlider)
EDITORS = (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox,
           QtWidgets.QTextEdit, QtWidgets.QPlainTextEdit)


def is_editor(widget: QtWidgets.QWidget | None) -> bool:
    """A widget that eats printable keys while it has focus."""
    if widget is None:
        return False
    if isinstance(widget, QtWidgets.QComboBox):
        return widget.isEditable()
    return isinstance(widget, EDITORS) or isinstance(widget.parentWidget(), QtWidgets.QAbstractSpinBox)


def leave_field() -> None:
    """Take focus off the field being edited (keys go to the window's shortcuts again)."""
    widget = QtWidgets.QApplication.focusWidget()
    if is_editor(widget):
        widget.clearFocus()


def _value_widget(obj: QtCore.QObject) -> QtWidgets.QWidget | None:
    """The spin box / combo / slider an event target belongs to (its line edit included)."""
    w = obj if isinstance(obj, QtWidgets.QWidget) else None
    for _ in range(2):
        if w is None:
            return None
        if isinstance(w, VALUE_WIDGETS):
            return w
        w = w.parentWidget()
    return None


def _takes_click_focus(widget: QtWidgets.QWidget) -> bool:
    w = widget
    while w is not None:
        if w.focusPolicy() & Qt.ClickFocus == Qt.ClickFocus and not isinstance(w, QtWidgets.QTabBar):
            return True
        if w.isWindow():
            return False
        w = w.parentWidget()
    return False


def _scroll_panel(widget: QtWidgets.QWidget, event) -> None:
    """Hand a wheel event to the scroll area the widget sits in (if any)."""
    area = widget.parentWidget()
    while area is not None and not isinstance(area, QtWidgets.QAbstractScrollArea):
        area = area.parentWidget()
    if area is None:
        return
    bar = area.verticalScrollBar()
    steps = event.angleDelta().y() / 120.0
    bar.setValue(bar.value() - int(round(steps * bar.singleStep() * 3)))


class FocusModel(QtCore.QObject):
    """The application-wide filter behind the rules in the module docstring."""

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind == QEvent.Wheel:
            target = _value_widget(obj)
            if target is not None and not target.hasFocus():
                _scroll_panel(target, event)   # the panel under it scrolls instead
                event.accept()
                return True
        elif kind == QEvent.MouseButtonPress and isinstance(obj, QtWidgets.QWidget):
            focus = QtWidgets.QApplication.focusWidget()
            if is_editor(focus) and obj is not focus and not _takes_click_focus(obj) \
                    and not focus.isAncestorOf(obj):
                focus.clearFocus()
        elif kind == QEvent.KeyPress and event.key() == Qt.Key_Escape and is_editor(obj) \
                and isinstance(obj, QtWidgets.QWidget) and obj.hasFocus():
            popup = isinstance(obj, QtWidgets.QComboBox) and obj.view().isVisible()
            if not popup:
                obj.clearFocus()
                return True
        return False


def install(app: QtWidgets.QApplication | None = None) -> FocusModel:
    app = app or QtWidgets.QApplication.instance()
    model = getattr(app, "_planscope_focus_model", None)
    if model is None:
        model = FocusModel(app)
        app.installEventFilter(model)
        app._planscope_focus_model = model
    return model


class _JumpToClick(QtCore.QObject):
    """A click on a slider's groove moves the value to the click (Qt's default pages by 10)."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802  Qt API
        if event.type() != QEvent.MouseButtonPress or event.button() != Qt.LeftButton:
            return False
        slider: QtWidgets.QSlider = obj
        handle = slider.style().pixelMetric(QtWidgets.QStyle.PM_SliderLength, None, slider)
        horizontal = slider.orientation() == Qt.Horizontal
        pos = event.position()
        along = (pos.x() if horizontal else pos.y()) - handle / 2
        span = (slider.width() if horizontal else slider.height()) - handle
        if span <= 0:
            return False
        value = QtWidgets.QStyle.sliderValueFromPosition(
            slider.minimum(), slider.maximum(), int(round(along)), span,
            slider.invertedAppearance() if horizontal else not slider.invertedAppearance())
        if abs(value - slider.value()) * span > (slider.maximum() - slider.minimum() or 1) * handle / 2:
            slider.setValue(value)    # away from the handle: jump; on it: drag as usual
            slider.setSliderDown(False)
            return True
        return False


def jump_to_click(slider: QtWidgets.QAbstractSlider) -> None:
    """Make a click on `slider`'s groove set the value under the mouse."""
    filt = _JumpToClick(slider)
    slider.installEventFilter(filt)
    slider._jump_to_click = filt
