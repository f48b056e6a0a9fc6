"""Sampling panel: how many plans, which solver, how many steps, temperature, seed, device.

Edits go straight into InspectorState.settings (validated there). Sample (Ctrl+Enter) and Cancel
are signals; the controller runs the sampling off the GUI thread and the panel shows per-step
progress and the timings of the finished batch (ms per step, total).
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from app.core.analysis import SampleResult
from app.core.inspector.state import MAX_SAMPLES, InspectorState, SamplingSettings

SOLVER_CHOICES = ("ddpm", "ddim", "dpmpp")


def set_progress_lazily(bar: QtWidgets.QProgressBar, value: int, total: int) -> None:
    """QProgressBar.setValue repaints synchronously, and in a window holding a GL view every
    repaint composites the whole window: set the value with updates off and let the next frame
    (shared with the streamed plans) paint it."""
    bar.setUpdatesEnabled(False)
    bar.setRange(0, max(1, total))
    bar.setValue(value)
    bar.setUpdatesEnabled(True)
    bar.update()


class SamplingPanel(QtWidgets.QWidget):
    sampleRequested = QtCore.Signal()
    cancelRequested = QtCore.Signal()

    def __init__(self, state: InspectorState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.num = QtWidgets.QSpinBox()
        self.num.setRange(1, MAX_SAMPLES)
        self.num.setToolTip("Number of plans sampled for this observation (1–1024)")
        self.solver = QtWidgets.QComboBox()
        self.solver.addItems(SOLVER_CHOICES)
        self.solver.setToolTip("Noise scheduler (diffusers): DDPM, DDIM or DPM-Solver++")
        self.steps = QtWidgets.QSpinBox()
        self.steps.setRange(1, 1000)
        self.steps.setToolTip("Solver steps S (denoising steps from noise to plan)")
        self.temperature = QtWidgets.QDoubleSpinBox()
        self.temperature.setRange(0.05, 5.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(2)
        self.temperature.setToolTip("Scales the initial and per-step noise (1 = trained distribution)")
        self.seed = QtWidgets.QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Sampling seed: the same seed gives the same plans")
        self.new_seed = QtWidgets.QToolButton(text="New seed")
        self.new_seed.setToolTip("Draw a random seed")
        self.new_seed.clicked.connect(lambda: self.state.new_seed())
        self.device = QtWidgets.QComboBox()
        self.device.addItems(["cpu", "cuda"])
        self.device.setToolTip("Where the denoiser runs (cuda only when a GPU is available)")
        self.set_cuda_available(False)
        seed_row = QtWidgets.QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.new_seed)

        self.sample_button = QtWidgets.QPushButton("Sample")
        self.sample_button.setToolTip("Sample N plans for the current observation (Ctrl+Enter)")
        self.sample_button.setDefault(True)
        self.sample_button.clicked.connect(self.sampleRequested)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop sampling within one denoising step")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.cancel_button.setEnabled(False)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.sample_button, 1)
        buttons.addWidget(self.cancel_button)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setFormat("step %v / %m")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.timings = QtWidgets.QLabel("—")
        self.timings.setWordWrap(True)

        box = QtWidgets.QGroupBox("Sampling")
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(box)
        form = QtWidgets.QFormLayout(box)
        form.setContentsMargins(6, 4, 6, 4)
        form.addRow("Samples N", self.num)
        form.addRow("Solver", self.solver)
        form.addRow("Steps", self.steps)
        form.addRow("Temperature", self.temperature)
        form.addRow("Seed", seed_row)
        form.addRow("Device", self.device)
        form.addRow(buttons)
        form.addRow(self.progress)
        form.addRow("Timing", self.timings)

        self._show_settings(state.settings)
        self.num.valueChanged.connect(lambda v: self._apply(num_samples=int(v)))
        self.solver.currentTextChanged.connect(lambda v: self._apply(solver=v))
        self.steps.valueChanged.connect(lambda v: self._apply(steps=int(v)))
        self.temperature.valueChanged.connect(lambda v: self._apply(temperature=float(v)))
        self.seed.valueChanged.connect(lambda v: self._apply(seed=int(v)))
        self.device.currentTextChanged.connect(lambda v: self._apply(device=v))
        ev = state.events
        ev.settings.connect(self._show_settings)
        ev.sampling.connect(self._on_sampling)
        ev.progress.connect(self._on_progress)
        ev.batch.connect(self._on_batch)
        ev.policy.connect(lambda p: self.sample_button.setEnabled(p is not None and not state.sampling))
        self.sample_button.setEnabled(state.policy is not None)

    def set_cuda_available(self, available: bool) -> None:
        item = self.device.model().item(1)
        item.setEnabled(available)
        if not available and self.device.currentText() == "cuda":
            self.device.setCurrentIndex(0)

    def _apply(self, **changes) -> None:
        try:
            self.state.update_settings(**changes)
        except ValueError as exc:  # the widgets' ranges make this rare; say what was refused
            self.state.events.message.emit(str(exc))
            self._show_settings(self.state.settings)

    def _show_settings(self, s: SamplingSettings) -> None:
        widgets = (self.num, self.solver, self.steps, self.temperature, self.seed, self.device)
        for w in widgets:
            w.blockSignals(True)
        self.num.setValue(s.num_samples)
        if self.solver.findText(s.solver) < 0:
            self.solver.addItem(s.solver)   # a plugin planner's own solver name
        self.solver.setCurrentText(s.solver)
        self.steps.setValue(s.steps)
        self.temperature.setValue(s.temperature)
        self.seed.setValue(s.seed)
        self.device.setCurrentText(s.device)
        for w in widgets:
            w.blockSignals(False)

    def _on_sampling(self, running: bool) -> None:
        self.sample_button.setEnabled(not running and self.state.policy is not None)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setRange(0, max(1, self.state.settings.steps))
            self.progress.setValue(0)
            self.timings.setText("sampling…")
        else:   # back to ready however sampling ended (done, cancelled, failed): never "sampling…"
            self._on_batch(self.state.result)
            if self.state.result is None:
                self.progress.setValue(0)

    def _on_progress(self, k: int, total: int) -> None:
        set_progress_lazily(self.progress, k, total)

    def _on_batch(self, _result: SampleResult | None) -> None:
        result = self.state.result   # the event also fires for the baseline's batch
        if result is None:
            self.timings.setText("—")
            return
        b = result.batch
        if b.has_chain:
            per_step = float(np.mean(b.step_ms))
            self.progress.setRange(0, b.num_steps)
            self.progress.setValue(b.num_steps)
            text = (f"{b.num_samples} plans · {b.num_steps} {b.solver} steps · "
                    f"{per_step:.1f} ms/step · total {b.wall_ms:.0f} ms")
        else:
            text = f"{b.num_samples} plans · no chain · total {b.wall_ms:.0f} ms"
        if b.has_nonfinite:
            text += f" · ⚠ {int(b.nonfinite_samples.sum())} non-finite plans"
        self.timings.setText(text)
