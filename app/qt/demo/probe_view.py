"""The teaching probe in one picture: forward noising and reverse denoising of a 2-D line.

Three pyqtgraph plots side by side, made once and updated with setData:
  - Forward noising q(tau_t | tau_0): the clean line tau_0 and tau_1..tau_T fading to noise;
  - Reverse denoising p(tau_{t-1} | tau_t): from tau_T back to the final plan;
  - Endpoint distance to the goal at every step (rises while noising, falls while denoising).
`set_step(k)` highlights step k of the 2T+1-step story (0 = clean line, T = pure noise,
2T = denoised); `play()` walks it so the tour and its MP4 show it moving: a QTimer only says
when to look, the step follows the elapsed time of an injectable clock (app/core/clock.py), so
tests advance a ManualClock instead of waiting on the wall clock.

Data comes from `ProbeTrace` (plain numpy): positions in the probe's unit-less 2-D plane.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.core.clock import Clock, default_clock

STEP_SECONDS = 0.7   # one story step per 0.7 s: slow enough to narrate
POLL_MS = 50         # how often the view looks at the clock while playing


@dataclass
class ProbeTrace:
    """tau0 [H,2] clean line; goal [2]; abar [T] signal kept at each forward step;
    forward [T,H,2] tau_1..tau_T; reverse [T,H,2] the plan after each reverse step
    (reverse[-1] is the final plan); forward_dist [T] / reverse_dist [T]: endpoint distance to
    the goal after each step."""
    tau0: np.ndarray
    goal: np.ndarray
    abar: np.ndarray
    forward: np.ndarray
    reverse: np.ndarray
    x0_estimates: np.ndarray | None = None   # [T,H,2] the denoiser's tau_0 estimate per step

    @property
    def num_steps(self) -> int:
        return int(self.abar.shape[0])

    @property
    def forward_dist(self) -> np.ndarray:
        return np.linalg.norm(self.forward[:, -1] - self.goal, axis=1)

    @property
    def reverse_dist(self) -> np.ndarray:
        return np.linalg.norm(self.reverse[:, -1] - self.goal, axis=1)

    def story(self) -> np.ndarray:
        """[2T+1, H, 2]: tau_0, the forward steps, then the reverse steps."""
        return np.concatenate([self.tau0[None], self.forward, self.reverse], axis=0)

    def story_dist(self) -> np.ndarray:
        """[2T+1] endpoint distance to the goal along story()."""
        return np.linalg.norm(self.story()[:, -1] - self.goal, axis=1)


def compute_probe_trace(seed: int = 7) -> ProbeTrace:
    """Run the teaching probe (planners/probe.py, the seed's worked example) and collect the
    forward and reverse trajectories."""
    from planners import probe

    trace = probe.forward_reverse_trace(seed=seed)
    fields = ("tau0", "goal", "abar", "forward", "reverse", "x0_estimates")
    return ProbeTrace(**{k: np.asarray(trace[k], dtype=np.float64) for k in fields if k in trace})


# Noise is warm (orange -> red), clean is cool (blue), the final plan green: separable for
# red-green colour-blind viewers too because lightness differs as well as hue.
CLEAN = (31, 119, 180)
NOISY = (214, 39, 40)
FINAL = (0, 150, 90)
GOAL = (20, 20, 20)


def _blend(a: tuple[int, int, int], b: tuple[int, int, int], f: float, alpha: int = 255) -> QtGui.QColor:
    f = float(np.clip(f, 0.0, 1.0))
    return QtGui.QColor(*(int(round(x + (y - x) * f)) for x, y in zip(a, b)), alpha)


class ProbeView(QtWidgets.QWidget):
    """Forward / reverse / distance plots of one ProbeTrace, with a highlighted current step."""

    step_changed = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None, *, line_width: float = 2.5,
                 clock: Clock | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("probe_view")
        self.trace: ProbeTrace | None = None
        self.step = 0
        self._line_width = line_width
        self.clock = clock or default_clock()
        self.step_seconds = STEP_SECONDS
        self._step_started = 0.0       # clock time at which the current step began
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.tick)

        # 2 x 2 grid: forward | reverse on top, distance bottom-left; the bottom-right cell is
        # left free on purpose: the tour card sits there without covering a plot.
        layout = QtWidgets.QGridLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.forward_plot = self._make_plot("Forward noising  q(τₜ | τ₀)", "x", "y")
        self.reverse_plot = self._make_plot("Reverse denoising  p(τₜ₋₁ | τₜ)", "x", "y")
        self.dist_plot = self._make_plot("Endpoint distance to the goal", "step (0 clean → 5 noise → 10 denoised)",
                                         "distance")
        self.dist_plot.getAxis("left").enableAutoSIPrefix(False)
        layout.addWidget(self.forward_plot, 0, 0)
        layout.addWidget(self.reverse_plot, 0, 1)
        self.caption = QtWidgets.QLabel(self)
        self.caption.setObjectName("probe_caption")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("QLabel#probe_caption { font-size: 15pt; padding: 6px; }")
        bottom_left = QtWidgets.QVBoxLayout()
        bottom_left.addWidget(self.caption)
        bottom_left.addWidget(self.dist_plot, 1)
        layout.addLayout(bottom_left, 1, 0)
        layout.addItem(QtWidgets.QSpacerItem(10, 10, QtWidgets.QSizePolicy.Expanding,
                                             QtWidgets.QSizePolicy.Expanding), 1, 1)
        layout.setRowStretch(0, 3)
        layout.setRowStretch(1, 2)
        layout.setColumnStretch(0, 1)
        layout.setColumnStretch(1, 1)
        self._forward_items: list[pg.PlotDataItem] = []
        self._reverse_items: list[pg.PlotDataItem] = []
        self._dist_curve = self.dist_plot.plot([], [], pen=pg.mkPen((90, 90, 90), width=line_width),
                                               symbol="o", symbolSize=9)
        self._dist_cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen(NOISY, width=line_width,
                                                                   style=QtCore.Qt.DashLine))
        self.dist_plot.addItem(self._dist_cursor)
        # The current step is drawn in the plots' foreground colour (white on the dark theme,
        # near-black on a light one) so it stands out from every step colour.
        fg = pg.mkColor(pg.getConfigOption("foreground"))
        self._current = {p: p.plot([], [], pen=pg.mkPen(fg, width=line_width * 1.6),
                                   symbol="o", symbolSize=12, symbolBrush=fg)
                         for p in (self.forward_plot, self.reverse_plot)}
        for plot in (self.forward_plot, self.reverse_plot):
            legend = plot.addLegend(offset=(-10, -10), labelTextSize="12pt")
            if plot is self.forward_plot:
                legend.addItem(pg.PlotDataItem(pen=pg.mkPen(CLEAN, width=5)), "clean line τ₀")
            legend.addItem(pg.PlotDataItem(pen=pg.mkPen(NOISY, width=5)), "noisy τ₅")
            if plot is self.reverse_plot:
                legend.addItem(pg.PlotDataItem(pen=pg.mkPen(FINAL, width=5)), "denoised plan")
            legend.addItem(pg.PlotDataItem(pen=pg.mkPen(fg, width=5)), "current step")
            plot.plot([1.0], [0.0], pen=None, symbol="star", symbolSize=28, name="goal (1, 0)",
                      symbolBrush=(250, 200, 0), symbolPen=pg.mkPen((40, 40, 40), width=1.5))

    def _make_plot(self, title: str, xlabel: str, ylabel: str) -> pg.PlotWidget:
        plot = pg.PlotWidget(self)
        plot.setTitle(title, size="15pt")
        plot.setLabel("bottom", xlabel)
        plot.setLabel("left", ylabel)
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setMenuEnabled(False)
        plot.setMinimumSize(200, 200)
        return plot

    # -- data -----------------------------------------------------------------------------
    def set_trace(self, trace: ProbeTrace) -> None:
        """Draw a new trace (creates its per-step curve items once; T is small, e.g. 5)."""
        self.trace = trace
        t = trace.num_steps
        for plot, items in ((self.forward_plot, self._forward_items),
                            (self.reverse_plot, self._reverse_items)):
            for item in items:
                plot.removeItem(item)
            items.clear()
        w = self._line_width
        self._forward_items.append(self.forward_plot.plot(
            trace.tau0[:, 0], trace.tau0[:, 1], pen=pg.mkPen(CLEAN, width=w * 1.6),
            symbol="o", symbolSize=8, symbolBrush=CLEAN))
        for k in range(t):
            color = _blend(CLEAN, NOISY, (k + 1) / t, alpha=150)
            self._forward_items.append(self.forward_plot.plot(
                trace.forward[k, :, 0], trace.forward[k, :, 1], pen=pg.mkPen(color, width=w),
                symbol="o", symbolSize=6, symbolBrush=color))
        start = trace.forward[-1]
        self._reverse_items.append(self.reverse_plot.plot(
            start[:, 0], start[:, 1], pen=pg.mkPen(NOISY, width=w), symbol="o", symbolSize=6,
            symbolBrush=NOISY))
        for k in range(t):
            color = _blend(NOISY, FINAL, (k + 1) / t, alpha=255 if k == t - 1 else 150)
            width = w * (1.6 if k == t - 1 else 1.0)
            self._reverse_items.append(self.reverse_plot.plot(
                trace.reverse[k, :, 0], trace.reverse[k, :, 1], pen=pg.mkPen(color, width=width),
                symbol="o", symbolSize=6, symbolBrush=color))
        dist = trace.story_dist()
        brushes = [_blend(CLEAN, NOISY, k / t) if k <= t else _blend(NOISY, FINAL, (k - t) / t)
                   for k in range(dist.size)]
        self._dist_curve.setData(np.arange(dist.size), dist, symbolBrush=brushes)
        self.dist_plot.setXRange(-0.3, dist.size - 0.7, padding=0)
        self.dist_plot.setYRange(0, float(dist.max()) * 1.15 + 1e-6, padding=0)
        both = trace.story().reshape(-1, 2)
        lo, hi = both.min(axis=0), both.max(axis=0)
        pad = 0.1 * float(max(hi[0] - lo[0], hi[1] - lo[1], 1e-3))
        for plot in (self.forward_plot, self.reverse_plot):
            plot.setXRange(lo[0] - pad, hi[0] + pad, padding=0)
            plot.setYRange(lo[1] - pad, hi[1] + pad, padding=0)
        self.set_step(min(self.step, dist.size - 1))

    @property
    def num_story_steps(self) -> int:
        return 0 if self.trace is None else 2 * self.trace.num_steps + 1

    def set_step(self, k: int) -> None:
        """Highlight story step k (0 = clean, T = noise, 2T = denoised)."""
        if self.trace is None:
            return
        k = int(np.clip(k, 0, self.num_story_steps - 1))
        self.step = k
        t = self.trace.num_steps
        story = self.trace.story()
        fwd, rev = self._current[self.forward_plot], self._current[self.reverse_plot]
        if k <= t:
            fwd.setData(story[k, :, 0], story[k, :, 1])
            rev.setData([], [])
        else:
            fwd.setData([], [])
            rev.setData(story[k, :, 0], story[k, :, 1])
        self._dist_cursor.setValue(k)
        dist = self.trace.story_dist()[k]
        if k == 0:
            phase = "the clean line"
        elif k <= t:
            phase = f"forward step {k} of {t}  (signal kept ᾱ = {self.trace.abar[k - 1]:.2f})"
        else:
            phase = f"reverse step {k - t} of {t}"
        self.caption.setText(f"<b>Step {k}</b>: {phase}; endpoint {dist:.3f} from the goal")
        self.step_changed.emit(k)

    # -- animation ------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def play(self, interval_ms: int | None = None) -> None:
        """Walk the story from the current step, one step per `interval_ms` of clock time
        (default STEP_SECONDS); it loops back to the clean line after the denoised plan."""
        if interval_ms is not None:
            self.step_seconds = max(int(interval_ms), 1) / 1000.0
        if self.trace is not None:
            self._step_started = self.clock.now()
            self._timer.start()

    def pause(self) -> None:
        self._timer.stop()

    def tick(self) -> None:
        """Move by the whole steps the clock has passed since the current step began (the
        timer calls this; a late timer catches up instead of slowing the story down)."""
        if self.trace is None:
            return
        steps = int((self.clock.now() - self._step_started) / self.step_seconds)
        if steps <= 0:
            return
        self._step_started += steps * self.step_seconds
        # Loop with a pause on the clean line, so a narrator can talk over each cycle.
        self.set_step((self.step + steps) % self.num_story_steps)

    def set_foreground(self, color) -> None:
        """Colour of the current-step highlight (white on dark plots, near-black on light)."""
        fg = pg.mkColor(color)
        for item in self._current.values():
            item.setPen(pg.mkPen(fg, width=self._line_width * 1.6))
            item.setSymbolBrush(fg)

    def set_line_width(self, width: float) -> None:
        """Presentation mode draws thicker lines."""
        self._line_width = width
        if self.trace is not None:
            self.set_trace(self.trace)
