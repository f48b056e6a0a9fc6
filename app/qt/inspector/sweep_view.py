"""Solver sweep view: mode shares, feasibility and milliseconds against solver steps, per solver,
and the one-line answer "fewest steps that keep the distribution". Runs off the GUI thread.

Steps axis is logarithmic (1 … 100). Line style tells the solver (ddpm solid, ddim dashed,
dpmpp dotted); colour tells the mode (same palette as every other view).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.core.inspector.state import InspectorState
from app.core.inspector.sweep import STEPS, SweepResult, run_frame_sweep, run_sweep
from app.qt.plots.mode_colors import UNLABELLED_HEX, mode_hex

Qt = QtCore.Qt
SOLVER_STYLE = {"ddpm": (Qt.PenStyle.SolidLine, "o"), "ddim": (Qt.PenStyle.DashLine, "s"),
                "dpmpp": (Qt.PenStyle.DotLine, "t")}
SOLVER_COLOUR = {"ddpm": "#E8E8E8", "ddim": "#56B4E9", "dpmpp": "#E69F00"}


def _plot(title: str, left: str) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setTitle(title, size="9pt")
    plot.setLabel("bottom", "solver steps (log)")
    plot.setLabel("left", left)
    plot.getAxis("left").enableAutoSIPrefix(False)
    plot.setLogMode(x=True, y=False)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMenuEnabled(False)
    # label only the step counts that were run (log axis: positions are log10(steps))
    plot.getAxis("bottom").setTicks([[(float(np.log10(s)), str(s)) for s in STEPS], []])
    return plot


class SweepView(QtWidgets.QWidget):
    def __init__(self, state: InspectorState, controller: Any, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.controller = controller
        self.result: SweepResult | None = None
        self._job = None
        self.run_button = QtWidgets.QPushButton("Run sweep")
        self.run_button.setToolTip(f"Sample with steps {', '.join(map(str, STEPS))} for every solver")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.num = QtWidgets.QSpinBox()
        self.num.setRange(8, 1024)
        self.num.setValue(64)   # 21 settings x 163 steps in all: keep a sweep under a minute on CPU
        self.num.setPrefix("N = ")
        self.num.setToolTip("Samples per setting (same seed and observation for all)")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setFormat("%v / %m settings")
        self.progress.setValue(0)
        self.answer = QtWidgets.QLabel("Run the sweep to find the fewest steps that keep the distribution.")
        self.answer.setWordWrap(True)
        self.answer.setStyleSheet("font-weight: bold;")
        top = QtWidgets.QHBoxLayout()
        for w in (self.run_button, self.cancel_button, self.num, self.progress):
            top.addWidget(w)
        top.setStretch(3, 1)
        self.shares_plot = _plot("mode shares (colour: mode)", "share of samples (%)")
        self.feasible_plot = _plot("feasible plans", "feasible (%)")
        self.ms_plot = _plot("time per batch", "ms")
        self.key = QtWidgets.QLabel("line style = solver: ddpm ━ solid · ddim ╌ dashed · dpmpp ┈ dotted;"
                                    " vertical lines: the fewest steps that keep the distribution")
        self.key.setStyleSheet("color: #9AA0A8;")
        self.ms_plot.setLogMode(x=True, y=True)
        self.ms_legend = self.ms_plot.addLegend(offset=(5, 5), labelTextSize="8pt")
        plots = QtWidgets.QHBoxLayout()
        for p in (self.shares_plot, self.feasible_plot, self.ms_plot):
            plots.addWidget(p)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.answer)
        layout.addWidget(self.key)
        layout.addLayout(plots, 1)

    def run(self) -> None:
        state = self.state
        if state.policy is None:
            state.events.message.emit("load a policy first (File ▸ Open Policy)")
            return
        if self._job is not None:
            return
        policy = state.policy
        planner, shares = policy.planner, policy.data_shares
        settings, n = state.settings, int(self.num.value())
        solvers = [s for s in ("ddpm", "ddim", "dpmpp")] if state.policy.spec.kind == "diffusion" \
            else [settings.solver]
        progress = self._progress

        if state.source is not None:
            # at a recorded frame: its observation, modes = the local data modes the Modes dock reads
            inspection = state.data
            if inspection is None or inspection.policy != policy.spec.name:
                state.events.message.emit("sample at this recorded frame first: the sweep reads "
                                          "its plans against that sampling's local data modes")
                return

            def frame_job(handle):
                return run_frame_sweep(planner, inspection, num_samples=n, seed=settings.seed,
                                       temperature=settings.temperature, solvers=solvers,
                                       progress=lambda done, total, r: handle.progress((done, total, r)),
                                       cancelled=lambda: handle.cancelled)
            self._start(len(solvers), self.controller.submit_plain(
                frame_job, self._done, "Solver sweep failed", on_progress=progress, name="sweep"))
            return

        def job(handle, scene):
            from app.qt.inspector.controller import policy_observation   # the scene-feature mapping
            obs = policy_observation(policy, {k: v for k, v in scene.observe().items() if k != "image"}, scene)
            return run_sweep(planner, scene, obs, num_samples=n, seed=settings.seed,
                             temperature=settings.temperature, solvers=solvers, data_shares=shares,
                             progress=lambda done, total, r: handle.progress((done, total, r)),
                             cancelled=lambda: handle.cancelled)

        self._start(len(solvers), self.controller.submit(job, self._done, "Solver sweep failed",
                                                         on_progress=progress, name="sweep"))

    def _start(self, num_solvers: int, job) -> None:
        """Show a submitted sweep running (`job` None: it already ran, synchronously)."""
        self._job = job
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, num_solvers * len(STEPS))
        self.progress.setValue(0 if job is not None else num_solvers * len(STEPS))
        if self._job is None:  # synchronous controller (snapshots, scripts): done already
            self._finish()
        else:
            self.answer.setText("sweeping…")

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _progress(self, payload) -> None:
        done, total, partial = payload
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.show_result(partial, final=False)

    def _done(self, result: SweepResult) -> None:
        self.show_result(result)
        self._finish()

    def _finish(self) -> None:
        self._job = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def show_result(self, result: SweepResult, final: bool = True) -> None:
        self.result = result
        self.state.sweep = result
        for plot in (self.shares_plot, self.feasible_plot, self.ms_plot):
            plot.clear()
        self.ms_legend.clear()
        no_scene = bool(result.points) and not any(np.isfinite(p.feasible) for p in result.points)
        self.feasible_plot.setTitle("feasible plans" + (": no scene checks a recorded frame"
                                                        if no_scene else ""), size="9pt")
        for solver in result.solvers:
            series = result.series(solver)
            steps = np.array([p.steps for p in series], dtype=float)
            style, symbol = SOLVER_STYLE.get(solver, (Qt.PenStyle.SolidLine, "o"))
            for m, name in enumerate(result.names):
                y = [100 * p.shares[m] if m < len(p.shares) else 0 for p in series]
                self.shares_plot.plot(steps, y, pen=pg.mkPen(mode_hex(m), width=2, style=style),
                                      symbol=symbol, symbolSize=6, symbolBrush=mode_hex(m),
                                      name=f"{name} · {solver}")
            none = [100 * p.none_share for p in series]
            if max(none, default=0) > 0:
                self.shares_plot.plot(steps, none, pen=pg.mkPen(UNLABELLED_HEX, width=1.5, style=style),
                                      symbol=symbol, symbolSize=5, symbolBrush=UNLABELLED_HEX,
                                      name=f"no mode · {solver}")
            colour = SOLVER_COLOUR.get(solver, "#C8C8C8")
            if any(np.isfinite(p.feasible) for p in series):   # at a recorded frame: no scene
                self.feasible_plot.plot(steps, [100 * p.feasible for p in series],
                                        pen=pg.mkPen(colour, width=2, style=style), symbol=symbol,
                                        symbolSize=6, symbolBrush=colour, name=solver)
            self.ms_plot.plot(steps, [max(p.ms, 1e-3) for p in series],
                              pen=pg.mkPen(colour, width=2, style=style), symbol=symbol,
                              symbolSize=6, symbolBrush=colour, name=solver)
            fewest = result.fewest.get(solver)
            if fewest is not None:
                line = pg.InfiniteLine(pos=np.log10(fewest), angle=90,
                                       pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine))
                self.shares_plot.addItem(line)
        self.shares_plot.setYRange(0, 100, padding=0.02)
        self.feasible_plot.setYRange(0, 100, padding=0.02)
        steps = [p.steps for p in result.points] or list(STEPS)
        for plot in (self.shares_plot, self.feasible_plot, self.ms_plot):
            plot.setXRange(np.log10(min(steps)) - 0.08, np.log10(max(steps)) + 0.08, padding=0)
        ms = [p.ms for p in result.points if p.ms > 0]
        if ms:   # decades only: a log axis over less than a decade labels every minor tick
            lo, hi = int(np.floor(np.log10(min(ms)))), int(np.ceil(np.log10(max(ms))))
            self.ms_plot.getAxis("left").setTicks([[(float(d), f"{10.0 ** d:g}") for d in range(lo, hi + 1)], []])
            self.ms_plot.setYRange(lo, hi, padding=0.02)
        text = result.answer()
        self.answer.setText(text if final else f"(running) {text}")
        if result.cancelled:
            self.answer.setText("sweep cancelled — " + text)
