"""Policy dock: the loaded policy and an optional baseline, with what each was trained for.

Two slots ("policy", "baseline"). Each shows name, kind, scene, observation/action sizes, plan
horizon, solver defaults, parameter count, the data's mode shares and where it came from. A slot
is filled through its Open menu (checkpoint folder, module:attr, recent), by dropping a checkpoint
folder on it, or by the controller (File ▸ Open Policy, `--policy`). The panel only asks
(`openRequested(slot, source)`); the controller loads off the GUI thread and refuses a policy
made for another scene with a dialog.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app.core.inspector.state import InspectorState, LoadedPolicy

SLOTS = ("policy", "baseline")
RECENT_KEY = "inspector/recent_policies"
MAX_RECENT = 8
COMPACT_ROWS = ("Kind", "Parameters", "Source")


def recent_policies(settings: QtCore.QSettings | None = None) -> list[str]:
    settings = settings or QtCore.QSettings()
    value = settings.value(RECENT_KEY, [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or [])]


def remember_policy(source: str, settings: QtCore.QSettings | None = None) -> list[str]:
    settings = settings or QtCore.QSettings()
    items = [source] + [s for s in recent_policies(settings) if s != source]
    settings.setValue(RECENT_KEY, items[:MAX_RECENT])
    return items[:MAX_RECENT]


def spec_rows(policy: LoadedPolicy) -> list[tuple[str, str]]:
    """(label, text) rows describing a loaded policy's spec."""
    spec = policy.spec
    obs_keys = getattr(spec, "obs_keys", ()) or ()
    obs_text = f"{spec.obs_dim}"
    if obs_keys:
        obs_text += " = " + " + ".join(f"{k}[{n}]" for k, n in obs_keys)
    rows = [("Kind", f"{spec.kind} · scene {spec.scene or 'any'}"),
            ("Observation", obs_text), ("Action", f"{spec.action_dim} (x, y, z m, gripper)"),
            ("Horizon", f"H = {spec.horizon} waypoints"),
            ("Solver", f"{spec.default_solver}, {spec.default_steps} steps"
             if spec.kind == "diffusion" else "— (no denoising chain)"),
            ("Rollouts", f"{spec.control_solver}, {spec.control_steps} steps (closed loop)"
             if spec.kind == "diffusion" and spec.control_solver else "same as Solver"),
            ("Parameters", f"{spec.num_parameters:,}" if spec.num_parameters else "unknown")]
    precision = (getattr(spec, "extra", None) or {}).get("precision")
    if isinstance(precision, dict) and precision.get("reason"):   # planners/acceleration's state
        rows.append(("Precision", precision["reason"]))
    if policy.data_shares:
        rows.append(("Data modes", ", ".join(f"{k} {v:.0%}" for k, v in policy.data_shares.items())))
    rows.append(("Source", elide_middle(policy.source)))
    return rows


def elide_middle(text: str, limit: int = 38) -> str:
    """Keep the start and the end of a long path (the end names the checkpoint)."""
    return text if len(text) <= limit else text[: limit // 3] + "…" + text[-(2 * limit) // 3:]


class PolicySlot(QtWidgets.QGroupBox):
    """One slot: Open menu, Clear, and the config of what is loaded. Accepts folder drops."""

    openRequested = QtCore.Signal(str, str)   # slot, source
    clearRequested = QtCore.Signal(str)

    def __init__(self, slot: str, parent=None, compact: bool = False) -> None:
        super().__init__("Policy" if slot == "policy" else "Baseline (optional)", parent)
        self.slot = slot
        self.compact = compact
        self.setAcceptDrops(True)
        self.open_button = QtWidgets.QToolButton(text="Open…")
        self.open_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.open_button.setToolTip("Open a checkpoint folder (or drop one here)")
        self.open_button.clicked.connect(self.browse)
        self.menu = QtWidgets.QMenu(self)
        self.menu.aboutToShow.connect(self._fill_menu)
        self.open_button.setMenu(self.menu)
        self.clear_button = QtWidgets.QToolButton(text="Clear")
        self.clear_button.clicked.connect(lambda: self.clearRequested.emit(self.slot))
        self.name = QtWidgets.QLabel("<i>none</i>")
        self.name.setWordWrap(True)
        self.status = QtWidgets.QLabel("")
        self.status.setStyleSheet("color: #E69F00;")
        self.status.setWordWrap(True)
        self.form = QtWidgets.QFormLayout()
        self.form.setContentsMargins(0, 0, 0, 0)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.name, 1)
        top.addWidget(self.open_button)
        top.addWidget(self.clear_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addLayout(self.form)
        self.show_policy(None)

    # ---- display -----------------------------------------------------------------------------
    def show_policy(self, policy: LoadedPolicy | None) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.clear_button.setEnabled(policy is not None)
        self.status.setText("")
        if policy is None:
            self.name.setText("<i>none — File ▸ Open Policy, or drop a checkpoint folder here</i>"
                              if self.slot == "policy" else "<i>none — e.g. a regression policy</i>")
            return
        self.name.setText(f"<b>{policy.name}</b>")
        rows = spec_rows(policy)
        self.name.setToolTip("\n".join(f"{label}: {text}" for label, text in rows))
        if self.compact:   # the baseline: what it is and where it came from; the rest on hover
            rows = [(label, text) for label, text in rows if label in COMPACT_ROWS]
        for label, text in rows:
            value = QtWidgets.QLabel(text)
            value.setWordWrap(True)
            value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            if label == "Source":
                value.setToolTip(policy.source)
            self.form.addRow(label, value)

    def show_status(self, text: str) -> None:
        self.status.setText(text)

    # ---- opening -----------------------------------------------------------------------------
    def browse(self) -> None:
        start = recent_policies()[0] if recent_policies() else str(Path.cwd())
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, f"Open {self.slot} checkpoint", start)
        if folder:
            self.openRequested.emit(self.slot, folder)

    def ask_plugin(self) -> None:
        text, ok = QtWidgets.QInputDialog.getText(
            self, "Open planner plugin", "module:attr of an object implementing the Planner protocol:")
        if ok and text.strip():
            self.openRequested.emit(self.slot, text.strip())

    def _fill_menu(self) -> None:
        self.menu.clear()
        self.menu.addAction("Checkpoint folder…", self.browse)
        self.menu.addAction("Plugin (module:attr)…", self.ask_plugin)
        recent = recent_policies()
        if recent:
            self.menu.addSeparator()
            for source in recent:
                self.menu.addAction(source, lambda s=source: self.openRequested.emit(self.slot, s))

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if self._dropped_folder(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:  # noqa: N802 (Qt override)
        folder = self._dropped_folder(event.mimeData())
        if folder:
            event.acceptProposedAction()
            self.openRequested.emit(self.slot, folder)

    @staticmethod
    def _dropped_folder(mime: QtCore.QMimeData) -> str | None:
        for url in mime.urls():
            path = Path(url.toLocalFile())
            if path.is_dir():
                return str(path)
            if path.name in ("config.json", "model.safetensors"):
                return str(path.parent)
        return None


class PolicyPanel(QtWidgets.QWidget):
    """Both slots, kept in step with InspectorState."""

    openRequested = QtCore.Signal(str, str)
    clearRequested = QtCore.Signal(str)

    def __init__(self, state: InspectorState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.slots = {slot: PolicySlot(slot, compact=(slot == "baseline")) for slot in SLOTS}
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for slot in self.slots.values():
            slot.openRequested.connect(self.openRequested)
            slot.clearRequested.connect(self.clearRequested)
            layout.addWidget(slot)
        layout.addStretch(1)
        state.events.policy.connect(self.slots["policy"].show_policy)
        state.events.baseline.connect(self.slots["baseline"].show_policy)

    def show_status(self, slot: str, text: str) -> None:
        self.slots[slot].show_status(text)
