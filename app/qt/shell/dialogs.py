"""Error dialogs: a UserFacingError in any GUI action becomes one dialog, and the app keeps running.

`show_error` is the one error dialog of the app (every workspace uses it) and `show_notice` its
informational sibling. Tests set NON_MODAL_ENV so a dialog never blocks: it is shown non-modal
and stays open (objectName "error_dialog" / "notice_dialog") for the test to read; it deletes
itself when closed, so nothing accumulates.
"""
from __future__ import annotations

import itertools
import logging
import os
import traceback

from PySide6 import QtCore, QtWidgets

from recordings.errors import UserFacingError

log = logging.getLogger("planscope")
NON_MODAL_ENV = "PLANSCOPE_NONMODAL_DIALOGS"
_ORDER = itertools.count()  # stamps each dialog so open_messages() lists them oldest first


def error_text(exc: BaseException | str) -> str:
    """One line for the user: the message of a UserFacingError (or a plain string), else the type
    and message of an unexpected error (a bug; the app keeps running)."""
    if isinstance(exc, (UserFacingError, str)):
        return str(exc)
    return f"Unexpected error ({type(exc).__name__}): {exc}"


def show_error(parent: QtWidgets.QWidget | None, title: str, exc: BaseException | str) -> None:
    """Show `exc` in a warning dialog titled `title`. A UserFacingError shows its one-line
    message; any other exception is a bug: the message says so and the traceback goes to the
    details box (and the log)."""
    box = _message_box(parent, QtWidgets.QMessageBox.Icon.Warning, title, error_text(exc),
                       "error_dialog")
    if not isinstance(exc, (UserFacingError, str)):
        box.setDetailedText("".join(traceback.format_exception(exc)))
        log.error("unexpected error in %s", title, exc_info=exc)
    _present(box, modal=not os.environ.get(NON_MODAL_ENV))


def show_notice(parent: QtWidgets.QWidget | None, title: str, text: str) -> None:
    """An informational message that never blocks (non-modal)."""
    _present(_message_box(parent, QtWidgets.QMessageBox.Icon.Information, title, text,
                          "notice_dialog"), modal=False)


def open_messages() -> list[tuple[str, str]]:
    """(objectName, text) of the error and notice dialogs open now, oldest first (what a
    non-modal run shows)."""
    boxes = [w for w in QtWidgets.QApplication.topLevelWidgets()
             if isinstance(w, QtWidgets.QMessageBox) and w.isVisible()
             and w.objectName() in ("error_dialog", "notice_dialog")]
    boxes.sort(key=lambda w: int(w.property("planscope_order") or 0))
    return [(w.objectName(), w.text()) for w in boxes]


def close_messages() -> None:
    """Close every open error and notice dialog (each deletes itself)."""
    for w in QtWidgets.QApplication.topLevelWidgets():
        if isinstance(w, QtWidgets.QMessageBox) and w.objectName() in ("error_dialog", "notice_dialog"):
            w.close()


def _message_box(parent, icon, title: str, text: str, name: str) -> QtWidgets.QMessageBox:
    box = QtWidgets.QMessageBox(icon, title, text, QtWidgets.QMessageBox.StandardButton.Ok, parent)
    box.setObjectName(name)
    box.setProperty("planscope_order", next(_ORDER))
    return box


def _present(box: QtWidgets.QMessageBox, *, modal: bool) -> None:
    if modal:
        box.exec()
        box.deleteLater()
    else:
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.setModal(False)
        box.show()


def install_excepthook(parent: QtWidgets.QWidget | None) -> None:
    """Route exceptions that escape Qt slots (bugs, or a UserFacingError nobody caught) to one
    dialog instead of a traceback on a terminal the user may not see; the app keeps running.

    The traceback still goes to stderr. While a dialog is open, further errors are only logged
    (an error raised on every paint must not stack up dialogs)."""
    import sys

    showing = False

    def hook(exc_type, exc, tb) -> None:
        nonlocal showing
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        sys.__excepthook__(exc_type, exc, tb)
        if showing or QtWidgets.QApplication.instance() is None:
            return
        showing = True
        try:
            title = "Error" if isinstance(exc, UserFacingError) else "Unexpected error"
            show_error(parent, title, exc)
        finally:
            showing = False

    sys.excepthook = hook
