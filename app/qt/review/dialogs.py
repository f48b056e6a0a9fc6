"""The review workspace's own dialog: the hardness-weights editor (errors and notices go through
app/qt/shell/dialogs.py, the one show_error)."""
from __future__ import annotations

from PySide6 import QtWidgets


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
