"""Error dialogs: a UserFacingError in any GUI action becomes one dialog, and the app keeps running."""
from __future__ import annotations

import functools
import logging
import traceback
from typing import Any, Callable, TypeVar

from PySide6 import QtWidgets

from recordings.errors import UserFacingError

log = logging.getLogger("planscope")
F = TypeVar("F", bound=Callable[..., Any])


def show_error(parent: QtWidgets.QWidget | None, title: str, exc: BaseException | str) -> None:
    """Show `exc` in a modal warning dialog. A UserFacingError shows its one-line message; any
    other exception is a bug: the message says so and the traceback goes to the details box."""
    box = QtWidgets.QMessageBox(parent)
    box.setIcon(QtWidgets.QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    if isinstance(exc, UserFacingError) or isinstance(exc, str):
        box.setText(str(exc))
    else:
        box.setText(f"Unexpected error ({type(exc).__name__}): {exc}")
        box.setDetailedText("".join(traceback.format_exception(exc)))
        log.error("unexpected error in %s", title, exc_info=exc)
    box.exec()


def guarded(title: str, parent_attr: str | None = None) -> Callable[[F], F]:
    """Decorator for GUI slots/methods: a UserFacingError raised inside becomes a dialog titled
    `title` (parent: `self` for methods, or None) instead of escaping into the event loop."""
    def wrap(func: F) -> F:
        @functools.wraps(func)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except UserFacingError as exc:
                parent = args[0] if args and isinstance(args[0], QtWidgets.QWidget) else None
                show_error(parent, title, exc)
                return None
        return inner  # type: ignore[return-value]
    return wrap


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
