"""Policy dock: the loaded policy and an optional baseline, with what each was trained for.

Two slots ("policy", "baseline"). Each shows what the files say (`spec_rows`): the source library
and version (LeRobot's file layout, diffusion_policy's policy class), kind and scene, features with
kinds and shapes, which scene keys feed them, the action, To / H / Ta, the scheduler (type, train
timesteps, betas, prediction type, clip) and default solver, parameter count, the normalisation per
feature, the precision the sampler chose, the data's mode shares and where it came from. A slot is
filled through its Open menu (a diffusion_policy .ckpt, a planscope or LeRobot folder, module:attr,
recent), by dropping one on it, or by the controller (File ▸ Open Policy, `--policy`). The panel
only asks (`openRequested(slot, source)`); the controller loads off the GUI thread and refuses a
policy the scene cannot feed with one dialog naming both sides.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app.core.inspector.state import InspectorState, LoadedPolicy
from app.qt.shell.window_files import choose_policy, policy_source

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
    """(label, text) rows describing a loaded policy's spec: what the files say (library and
    version, features with kinds and shapes, To / H / Ta, scheduler, parameters, normalisation)."""
    spec = policy.spec
    extra = getattr(spec, "extra", None) or {}
    rows = [("Library", library_text(spec, extra)),
            ("Kind", f"{spec.kind} · scene {spec.scene or 'any'}")]
    features = tuple(getattr(spec, "features", ()) or ())
    if features:
        rows.append(("Features", "\n".join(f"{f.name} {list(f.shape)} {f.kind}" for f in features)))
    else:
        obs_keys = getattr(spec, "obs_keys", ()) or ()
        rows.append(("Observation", f"{spec.obs_dim}" + (" = " + " + ".join(f"{k}[{n}]" for k, n in obs_keys)
                                                         if obs_keys else "")))
    fmap = getattr(policy, "feature_map", None)
    if fmap is not None and not fmap.identity:
        rows.append(("Scene feeds", fmap.describe().replace("; ", "\n")))
    rows.append(("Action", action_text(spec, extra)))
    to, ta = getattr(spec, "n_obs_steps", 1), getattr(spec, "n_action_steps", 0)
    rows.append(("Horizons", f"To = {to} · H = {spec.horizon} · Ta = {ta or 'runner default'}"
                 if features else f"H = {spec.horizon} waypoints"))
    rows.append(("Scheduler", scheduler_text(spec, extra)))
    if spec.kind == "diffusion" and spec.control_solver and \
            (spec.control_solver, spec.control_steps) != (spec.default_solver, spec.default_steps):
        rows.append(("Rollouts", f"{spec.control_solver}, {spec.control_steps} steps (closed loop)"))
    rows.append(("Parameters", f"{spec.num_parameters:,}" if spec.num_parameters else "unknown"))
    norm = normalisation_text(extra)
    if norm:
        rows.append(("Normalisation", norm))
    precision = extra.get("precision")
    if isinstance(precision, dict) and precision.get("reason"):   # planners/acceleration's state
        rows.append(("Precision", precision["reason"]))
    elif isinstance(precision, str) and precision:
        rows.append(("Precision", precision))
    if policy.data_shares:
        rows.append(("Data modes", ", ".join(f"{k} {v:.0%}" for k, v in policy.data_shares.items())))
    rows.append(("Source", elide_middle(policy.source)))
    return rows


def library_text(spec, extra: dict) -> str:
    """Where the weights come from, with the version the files tell (LeRobot writes none: its
    file layout dates it; a diffusion_policy .ckpt records none)."""
    source = extra.get("source_library")
    if source:
        return f"{source} {extra.get('version', '')}".strip() + (f" · {extra['policy_type']} policy"
                                                                  if extra.get("policy_type") else "")
    library = getattr(spec, "library", "") or ("planscope" if "training" in extra else "")
    if library == "diffusion_policy":
        return f"diffusion_policy · {extra.get('policy_class', 'policy')} ({extra.get('weights', 'model')} weights; " \
               "no version recorded in the .ckpt)"
    return library or "plugin (module:attr)" if spec.kind == "plugin" else library or "—"


def action_text(spec, extra: dict) -> str:
    """action [D] with its names when known: planscope's own are end-effector targets."""
    d = spec.action_dim
    for feature in extra.get("features", ()) or ():
        if feature.get("type") == "ACTION":
            return f"{feature['name']} [{d}]" + (f" · {feature['normalization']}" if feature.get("normalization") else "")
    if getattr(spec, "library", "") == "planscope" or "training" in extra:
        return f"{d} (x, y, z m, gripper)" if d == 4 else f"{d}"
    return f"action [{d}]"


def scheduler_text(spec, extra: dict) -> str:
    """Scheduler type, training timesteps, prediction type, clip; the solver used by default."""
    if spec.kind != "diffusion":
        return "— (no denoising chain)"
    sched = extra.get("scheduler") or {}
    default = f"{spec.default_solver}, {spec.default_steps} steps"
    if not sched:
        return default
    kind = sched.get("type") or sched.get("solver", "").upper()
    clip = (f"clip ±{sched.get('clip_sample_range', 1.0):g}" if sched.get("clip_sample") else "no clip")
    return (f"{kind} · {sched.get('num_train_timesteps', '?')} train timesteps · "
            f"{sched.get('beta_schedule', '')} · {sched.get('prediction_type', '?')} prediction · {clip}"
            f"\ndefault: {default}")


def normalisation_text(extra: dict) -> str:
    """One line per feature: its mode and range (LeRobot), or scale/offset (diffusion_policy)."""
    norm = extra.get("normalization") or {}
    lines = []
    for name, stats in (norm.get("features") or {}).items():      # LeRobot: mode + statistics
        mode = stats.get("mode", "?")
        detail = ""
        if mode == "MIN_MAX" and "min" in stats:
            detail = f" to [-1, 1] from data in [{min(stats['min']):.3g}, {max(stats['max']):.3g}]"
        elif mode == "MEAN_STD" and "mean" in stats:
            detail = f" mean {_span(stats['mean'])}, std {_span(stats['std'])}"
        lines.append(f"{name}: {mode}{detail}")
    if "features" not in norm:
        for name, stats in norm.items():                           # diffusion_policy: x * scale + offset
            if isinstance(stats, dict) and "scale" in stats:
                lines.append(f"{name}: x · scale + offset (scale {_span(stats['scale'])})")
    layout = norm.get("layout")
    if lines and layout:
        lines.append("statistics: " + ("policy_preprocessor / postprocessor files" if layout == "processor"
                                       else "buffers in model.safetensors" if layout == "buffers" else str(layout)))
    return "\n".join(lines)


def _span(values) -> str:
    """A vector in a few characters: one value, or its min..max."""
    if not isinstance(values, (list, tuple)) or not values:
        return str(values)
    low, high = min(values), max(values)
    return f"{low:.3g}" if len(values) == 1 or low == high else f"{low:.3g}..{high:.3g}"


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
        self.open_button.setToolTip("Open a policy: planscope or LeRobot folder, diffusion_policy .ckpt "
                                    "(or drop one here)")
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
            self.name.setText("<i>none — File ▸ Open Policy, or drop a checkpoint folder or .ckpt here</i>"
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
        """A .ckpt file, or the config.json of a LeRobot / planscope folder (one dialog)."""
        recent = [r for r in recent_policies() if ":" not in r or Path(r).exists()]
        source = choose_policy(self, recent[0] if recent else str(Path.cwd()), f"Open {self.slot} policy")
        if source:
            self.openRequested.emit(self.slot, source)

    def browse_folder(self) -> None:
        start = recent_policies()[0] if recent_policies() else str(Path.cwd())
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, f"Open {self.slot} checkpoint folder", start)
        if folder:
            self.openRequested.emit(self.slot, folder)

    def ask_plugin(self) -> None:
        text, ok = QtWidgets.QInputDialog.getText(
            self, "Open planner plugin", "module:attr of an object implementing the Planner protocol:")
        if ok and text.strip():
            self.openRequested.emit(self.slot, text.strip())

    def _fill_menu(self) -> None:
        self.menu.clear()
        self.menu.addAction("Policy file (.ckpt, or a folder's config.json)…", self.browse)
        self.menu.addAction("Checkpoint folder (planscope, LeRobot pretrained_model)…", self.browse_folder)
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
        """A dropped policy: a folder, a file inside one (its folder), or a .ckpt file."""
        for url in mime.urls():
            path = Path(url.toLocalFile())
            if path.is_dir() or (path.suffix == ".ckpt" and path.is_file()):
                return str(path)
            if path.name in ("config.json", "model.safetensors", "normalizer.json"):
                return policy_source(str(path))
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
