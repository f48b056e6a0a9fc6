"""Dialogs of the review workspace: error messages and the hardness-weights editor."""
from __future__ import annotations

import os

from PySide6 import QtWidgets

from recordings.errors import UserFacingError

# Tests (and `planscope snapshot`) set this so an error never blocks on a modal dialog; the
# message is still recorded in `LAST_ERRORS` for them to check.
NON_MODAL_ENV = "PLANSCOPE_NONMODAL_DIALOGS"
LAST_ERRORS: list[str] = []


def error_text(exc: BaseException) -> str:
    """One line for the user: the message of a UserFacingError, else the type and message of an
    unexpected error (still one line; the app keeps running)."""
    if isinstance(exc, UserFacingError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


def show_error(parent: QtWidgets.QWidget | None, exc: BaseException | str,
               title: str = "Review") -> None:
    text = exc if isinstance(exc, str) else error_text(exc)
    LAST_ERRORS.append(text)
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Warning, title, text,
                                QtWidgets.QMessageBox.Ok, parent)
    box.setObjectName("review_error_dialog")
    if os.environ.get(NON_MODAL_ENV):
        box.setModal(False)
        box.show()
    else:
        box.exec()


def show_notice(parent: QtWidgets.QWidget | None, text: str, title: str = "Review") -> None:
    LAST_ERRORS.append(text)
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Information, title, text,
                                QtWidgets.QMessageBox.Ok, parent)
    box.setObjectName("review_notice_dialog")
    box.setModal(False)
    box.show()


class WeightsDialog(QtWidgets.QDialog):
    """Edit the hardness-score weights (one spin box per component, with its meaning)."""

    def __init__(self, weights: dict[str, float], descriptions: dict[str, str],
                 parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Hardness weights")
        form = QtWidgets.QFormLayout(self)
        form.addRow(QtWidgets.QLabel(
            "Hardness = weighted sum of per-rollout components (each scaled to 0..1 over the file);\n"
            "failures always rank first. 0 turns a component off."))
        self.spins: dict[str, QtWidgets.QDoubleSpinBox] = {}
        for key, value in weights.items():
            spin = QtWidgets.QDoubleSpinBox(minimum=0.0, maximum=100.0, singleStep=0.5,
                                            decimals=2, value=float(value))
            spin.setToolTip(descriptions.get(key, key))
            self.spins[key] = spin
            form.addRow(descriptions.get(key, key).split(":")[0] or key, spin)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel
            | QtWidgets.QDialogButtonBox.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._defaults = dict(weights)
        buttons.button(QtWidgets.QDialogButtonBox.RestoreDefaults).clicked.connect(self._restore)
        form.addRow(buttons)

    def set_defaults(self, defaults: dict[str, float]) -> None:
        self._defaults = dict(defaults)

    def _restore(self) -> None:
        for key, spin in self.spins.items():
            spin.setValue(float(self._defaults.get(key, spin.value())))

    def weights(self) -> dict[str, float]:
        return {key: spin.value() for key, spin in self.spins.items()}
