"""Modes view: which modes the plans fall into, against the demonstration data, with a verdict.

Bars: the policy's share of samples per mode (mode colour) with its 95 % Wilson interval (white
whiskers), the baseline's share (magenta, when one was sampled) and the data's share (grey
outline): the training data's, or another data set chosen
with "Compare with data…" (a recording's demonstrations or typed shares). Below: the signed
averaging position of the plans (0 = the data's most common mode, 1 = its second), normalized
entropy, coverage, what the reading is judged against, the verdict badge (multimodal / skewed /
collapsed / averaging / no-mode / out-of-distribution / unimodal-as-data) with its one-line
reason, and the baseline's verdict beside it. Clicking a bar or a mode button isolates that
mode's plans. docs/mode-analysis.md explains every number.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.core.analysis import ModeSummary
from app.core.inspector.state import NO_MODE, InspectorState
from app.qt.plots.mode_colors import BASELINE_HEX, UNLABELLED_HEX, mode_hex

VERDICT_COLOURS = {"multimodal": "#009E73", "unimodal-as-data": "#009E73", "skewed": "#F0E442",
                   "collapsed": "#E69F00", "averaging": "#FF3B30", "no-mode": "#FF3B30",
                   "out-of-distribution": "#CC79A7", "": "#5A5F66"}
POSITION_BINS = np.linspace(-0.25, 1.25, 13)   # signed averaging position histogram (0 = mode A)
BAR_WIDTH = 0.38
BAR_WIDTH_3 = 0.27      # three bars per mode (policy, baseline, data) when a baseline was sampled
REASON_LINES = 2        # a verdict's reason and the metrics line get at most this many lines;
METRIC_LINES = 2        # the rest is in the tooltip (the dock is ~250 px high at 1280x800)
ROOMY_HEIGHT = 340      # px: a Modes view this tall gives reasons 2 more lines, the metrics 1


class FitLabel(QtWidgets.QLabel):
    """A word-wrapped rich-text label that never takes more than `max_lines` lines: at its width
    it paints as many of its pieces (joined by `sep`) as fit, then "…", with the whole text in
    its tooltip, and its height is fixed to the lines painted, so a small dock never draws text
    over its neighbours or cuts a line in half. `text()` stays the whole text."""

    def __init__(self, sep: str, max_lines: int) -> None:
        super().__init__("")
        self.sep, self.max_lines = sep, max_lines
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.setWordWrap(True)      # never widen the dock (and the window) for one line
        self._pieces: list[str] = []
        self.shown_text = ""

    def set_pieces(self, pieces: list[str]) -> None:
        self._pieces = list(pieces)
        self.setText(self.sep.join(self._pieces))
        self._refit()

    def _document(self, html: str):
        """The label's one text document (a child: never garbage another thread collects),
        laid out for `html` at the label's width."""
        from PySide6 import QtGui
        doc = getattr(self, "_doc", None)
        if doc is None:
            doc = self._doc = QtGui.QTextDocument(self)
        doc.setDefaultFont(self.font())
        doc.setDocumentMargin(0)
        doc.setTextWidth(max(self.contentsRect().width(), 1))
        doc.setHtml(html)
        return doc

    def _refit(self) -> None:
        from PySide6 import QtGui
        full = self.text()
        width = self.contentsRect().width()
        if not self.isVisible() or width < 40 or not self._pieces:
            self.shown_text = full          # not laid out yet: the next resize fits it
            return
        line = self._document("X").size().height()     # the document's own line height
        shown, pieces = full, self._pieces
        for k in range(len(pieces), 0, -1):
            shown = self.sep.join(pieces[:k]) + ("" if k == len(pieces) else self.sep + "…")
            if self._document(shown).size().height() <= self.max_lines * line + 2:
                break
        self.shown_text = shown
        self.setToolTip(full if shown != full else "")
        height = int(min(self._document(shown).size().height(), self.max_lines * line) + 0.999) + 2
        margins = self.contentsMargins()
        self.setFixedHeight(height + margins.top() + margins.bottom())
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802  Qt API
        super().resizeEvent(event)
        self._refit()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._refit()

    def paintEvent(self, event) -> None:  # noqa: N802
        if self.shown_text == self.text():
            super().paintEvent(event)
            return
        from PySide6 import QtGui
        painter = QtGui.QPainter(self)
        context = QtGui.QAbstractTextDocumentLayout.PaintContext()
        context.palette.setColor(QtGui.QPalette.ColorRole.Text,
                                 self.palette().color(self.foregroundRole()))
        painter.translate(self.contentsRect().topLeft())
        self._document(self.shown_text).documentLayout().draw(painter, context)
        painter.end()


def baseline_shares(summary: ModeSummary, base: ModeSummary | None) -> tuple[np.ndarray, float] | None:
    """The baseline's share (%) of each of the policy's modes, matched by mode name ([M], 0 for a
    mode the baseline's analysis does not name), and its share (%) in no mode; None without one."""
    if base is None or not len(base.labels):
        return None
    labels = np.asarray(base.labels)
    shares = np.array([100 * float(np.mean(labels == base.names.index(name))) if name in base.names else 0.0
                       for name in summary.names[:summary.num_modes]])
    return shares, 100 * float(np.mean(labels < 0))


def badge_style(verdict: str) -> str:
    # a qualified verdict ("multimodal · 36 % off the data's modes") keeps its verdict's colour
    colour = VERDICT_COLOURS.get(verdict.split(" · ")[0], "#5A5F66")
    return (f"QLabel {{ background: {colour}; color: #101215; font-weight: bold; "
            f"border-radius: 6px; padding: 3px 10px; }}")


class VerdictBox(QtWidgets.QWidget):
    """Title, badge and one-line reason for one planner's verdict."""

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(parent)
        self.title = QtWidgets.QLabel(f"<b>{title}</b>")
        self.badge = QtWidgets.QLabel("—")
        self.badge.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.reason = FitLabel(" ", REASON_LINES)
        self.reason.setStyleSheet("color: #B8BEC6;")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.title)
        row.addWidget(self.badge)
        row.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.reason)
        self.set_verdict("", "")

    @property
    def reason_text(self) -> str:
        """The whole reason (the label may paint it elided; its tooltip has it too)."""
        return self._reason

    def set_verdict(self, verdict: str, reason: str, name: str = "") -> None:
        import html
        self.badge.setText(verdict or "—")
        self.badge.setStyleSheet(badge_style(verdict))
        self._reason = reason
        self.reason.set_pieces([html.escape(w) for w in reason.split(" ")] if reason else [])
        self.badge.setToolTip(f"{name}: {verdict} — {reason}" if name else reason)


def _small_font():
    from PySide6 import QtGui
    font = QtGui.QFont()
    font.setPointSizeF(8.0)
    return font


class LegendRow(QtWidgets.QLabel):
    """The share chart's legend as one line of text above it: a swatch per entry (the policy's
    bars are in mode colours, the baseline's magenta, the data's a dashed outline)."""

    def __init__(self) -> None:
        super().__init__()
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.setStyleSheet("color: #B8BEC6; font-size: 8pt;")
        # one line that asks for no width: the dock's width is the layout's to decide
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self._entries: list[tuple[object, str, str]] = []     # (item, label, swatch html)

    def addItem(self, item, label: str) -> None:  # noqa: N802  pyqtgraph LegendItem's name
        swatch = {"policy": f'<span style="color:{mode_hex(0)}">■</span><span style="color:{mode_hex(1)}">■</span>',
                  "baseline": f'<span style="color:{BASELINE_HEX}">■</span>',
                  "data": '<span style="color:#C8C8C8">▭</span>'}.get(label, "■")
        self._entries.append((item, label, swatch))
        self._render()

    def removeItem(self, item) -> None:  # noqa: N802
        self._entries = [e for e in self._entries if e[0] is not item]
        self._render()

    @property
    def labels(self) -> list[str]:
        return [label for _item, label, _s in self._entries]

    def _render(self) -> None:
        order = {"policy": 0, "baseline": 1, "data": 2}
        entries = sorted(self._entries, key=lambda e: order.get(e[1], 3))
        self.setText("&nbsp; ".join(f"{sw}{label}" for _i, label, sw in entries))
        self.setToolTip("Bars: the policy's share of its plans per mode (mode colours) with its "
                        "95 % interval (whiskers), the baseline's (magenta) and the data's "
                        "(dashed outline)")


class ModesView(QtWidgets.QWidget):
    """Reacts to InspectorState's batch/isolation events; isolates a mode on click."""

    def __init__(self, state: InspectorState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setLabel("left", "share (%)")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.showGrid(y=True, alpha=0.15)
        self.plot.setYRange(0, 105, padding=0)
        self.plot.setMinimumHeight(90)    # the inspector fits 1280x800 (issue 20)
        self.plot.getAxis("left").label.setFont(_small_font())
        self.plot.getAxis("bottom").setStyle(tickFont=_small_font())
        # the legend is a line of text above the plots, never drawn over the bars
        legend = LegendRow()
        self._bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH)
        self._data_bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH,
                                          brush=pg.mkBrush(255, 255, 255, 30),
                                          pen=pg.mkPen("#C8C8C8", width=1.5,
                                                       style=QtCore.Qt.PenStyle.DashLine))
        self._none_bar = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=UNLABELLED_HEX)
        self._whiskers = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0),
                                         bottom=np.zeros(0), beam=0.12, pen=pg.mkPen("#F2F2F2", width=1.2))
        for item in (self._data_bars, self._bars, self._none_bar, self._whiskers):
            self.plot.addItem(item)
        self._base_bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH_3,
                                          brush=pg.mkBrush(BASELINE_HEX), pen=None)
        self.plot.addItem(self._base_bars)
        self._legend = legend
        legend.addItem(self._bars, "policy")
        legend.addItem(self._data_bars, "data")
        self.plot.scene().sigMouseClicked.connect(self._on_click)

        self.position_plot = pg.PlotWidget()
        self.position_plot.setMenuEnabled(False)
        self.position_plot.setMouseEnabled(x=False, y=False)
        self.position_plot.setMinimumHeight(90)
        self.position_plot.setMinimumWidth(90)
        self.position_plot.getAxis("bottom").label.setFont(_small_font())
        # three fixed ticks: automatic ones ran together ("-0.20.2") in a narrow, empty plot
        self.position_plot.getAxis("bottom").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")], []])
        self.position_plot.getAxis("left").setStyle(showValues=False)
        self.position_plot.setXRange(POSITION_BINS[0], POSITION_BINS[-1], padding=0)
        self._positions = pg.BarGraphItem(x=[], height=[], width=float(np.diff(POSITION_BINS)[0]) * 0.9,
                                          brush="#8FA3BF")
        self.position_plot.addItem(self._positions)
        for x in (0.0, 1.0):
            self.position_plot.addItem(pg.InfiniteLine(x, angle=90, pen=pg.mkPen("#C8C8C8", width=1)))
        self.position_plot.setToolTip("Where the plans sit between the data's two most common modes: "
                                      "0 = at the first, 1 = at the second. A healthy policy piles up "
                                      "at 0 and 1; a regression average of 70/30 data sits near 0.3.")
        self.compare_button = QtWidgets.QPushButton("Compare with data…")
        self.compare_button.setToolTip("Judge the modes against another recording's demonstrations or "
                                       "typed shares instead of the policy's training data")
        self.compare_button.clicked.connect(self._choose_reference)
        self.metrics = FitLabel(" · ", METRIC_LINES)
        self.buttons_row = QtWidgets.QHBoxLayout()
        self.mode_buttons: list[QtWidgets.QPushButton] = []
        self.policy_verdict = VerdictBox("Policy")
        self.baseline_verdict = VerdictBox("Baseline")
        verdicts = QtWidgets.QHBoxLayout()
        verdicts.addWidget(self.policy_verdict, 1)
        verdicts.addWidget(self.baseline_verdict, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(3)          # every pixel counts at 1280x800
        layout.addLayout(verdicts)
        layout.addWidget(legend)
        plots = QtWidgets.QHBoxLayout()
        plots.addWidget(self.plot, 3)
        plots.addWidget(self.position_plot, 2)
        layout.addLayout(plots, 1)
        metrics_row = QtWidgets.QHBoxLayout()
        metrics_row.addWidget(self.metrics, 1)
        metrics_row.addWidget(self.compare_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        layout.addLayout(metrics_row)
        layout.addLayout(self.buttons_row)
        ev = state.events
        ev.batch.connect(lambda _r: self.refresh())
        ev.isolation.connect(lambda _m: self._refresh_buttons())
        ev.baseline.connect(lambda _p: self.refresh())
        ev.reference.connect(lambda _r: self._show_reference_button())
        self.refresh()

    # ---- drawing -----------------------------------------------------------------------------
    def refresh(self) -> None:
        result = self.state.result
        summary = result.summary if result is not None else None
        self._draw_summary(summary)
        name = self.state.policy.name if self.state.policy is not None else ""
        if summary is None:
            text = "no mode analysis (the scene knows no modes)" if result is not None else ""
            self.policy_verdict.set_verdict("", text or "sample to see the modes")
        else:
            self.policy_verdict.set_verdict(summary.verdict, summary.reason, name)
        base = self.state.baseline_result
        base_summary = base.summary if base is not None else None
        self.baseline_verdict.setVisible(self.state.baseline is not None or base is not None)
        if base_summary is not None:
            self.baseline_verdict.set_verdict(base_summary.verdict, base_summary.reason,
                                              self.state.baseline.name if self.state.baseline else "")
        else:
            self.baseline_verdict.set_verdict("", "sampled together with the policy")

    def _draw_summary(self, summary: ModeSummary | None) -> None:
        self._draw_positions(summary)
        if summary is None or summary.num_modes == 0:
            for item in (self._bars, self._data_bars, self._none_bar, self._base_bars):
                item.setOpts(x=[], height=[])
            self._whiskers.setData(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0), bottom=np.zeros(0))
            self._set_metrics([])
            self._rebuild_buttons([])
            return
        m = summary.num_modes
        x = np.arange(m, dtype=float)
        shares = 100 * np.asarray(summary.shares, dtype=float)
        base = self.state.baseline_result
        based = baseline_shares(summary, base.summary if base is not None else None)
        # policy | baseline (magenta) | data, side by side per mode; without a baseline: policy | data
        w = BAR_WIDTH if based is None else BAR_WIDTH_3
        left, right = (-w / 2, w / 2) if based is None else (-w, w)
        self._bars.setOpts(x=x + left, height=shares, width=w,
                           brushes=[mode_hex(i) for i in range(m)], pens=[None] * m)
        if summary.data_shares is not None:
            self._data_bars.setOpts(x=x + right, height=100 * np.asarray(summary.data_shares), width=w)
        else:
            self._data_bars.setOpts(x=[], height=[])
        self._legend_entry(self._data_bars, "data", summary.data_shares is not None)
        self._show_baseline_legend(based is not None)
        if summary.low is not None and summary.high is not None:
            self._whiskers.setData(x=x + left, y=shares,
                                   top=np.maximum(100 * np.asarray(summary.high) - shares, 0.0),
                                   bottom=np.maximum(shares - 100 * np.asarray(summary.low), 0.0))
        else:
            self._whiskers.setData(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0), bottom=np.zeros(0))
        none_share = 100 * float(np.mean(np.asarray(summary.labels) < 0)) if len(summary.labels) else 0
        ticks = [(i, summary.names[i]) for i in range(m)]
        base_x, base_h = list(x), list(based[0]) if based is not None else []
        if none_share > 0 or (based is not None and based[1] > 0):
            self._none_bar.setOpts(x=[m + left], height=[none_share], width=w)
            ticks.append((m, "none"))
            if based is not None:
                base_x, base_h = base_x + [float(m)], base_h + [based[1]]
        else:
            self._none_bar.setOpts(x=[], height=[])
        self._base_bars.setOpts(x=base_x if based is not None else [], height=base_h)
        self.plot.getAxis("bottom").setTicks([ticks])
        self.plot.setXRange(-0.7, len(ticks) - 0.3, padding=0)
        parts = [f"entropy <b>{max(summary.entropy, 0.0):.2f}</b>"]
        if summary.coverage is not None:
            parts.append(f"coverage <b>{summary.coverage:.0%}</b>")
        if none_share > 0:
            parts.append(f"<b>{none_share:.0f} %</b> in no mode")
        if self.state.result is not None and self.state.result.feasibility is not None:
            parts.append(f"feasible <b>{self.state.result.feasibility.fraction_feasible:.0%}</b>")
        if summary.data_shares is not None:
            parts.append(f"judged against {summary.reference or 'the data'}")
        self._set_metrics(parts)
        texts = [f"{i + 1}  {summary.names[i]} {shares[i]:.0f} %" for i in range(m)]
        modes = list(range(m))
        if none_share > 0:
            texts.append(f"0  no mode {none_share:.0f} %")
            modes.append(NO_MODE)
        self._rebuild_buttons(texts, modes)

    def _set_metrics(self, parts: list[str]) -> None:
        self.metrics.set_pieces(parts)

    def resizeEvent(self, event) -> None:  # noqa: N802  Qt API
        """A tall dock (1600x1000, the demo) shows more of the reasons — 4 lines from
        ROOMY_HEIGHT, one more per 50 px, up to 8 — a short one (the inspector at 1280x800) 2
        lines each. The lines added are far fewer pixels than the room that allows them, so the
        longer texts never make the dock (and the window) grow."""
        super().resizeEvent(event)
        room = event.size().height() - ROOMY_HEIGHT
        # each line is ~16 px: one more per 50 px of room keeps the minimum well below the height
        reason = REASON_LINES if room < 0 else min(8, REASON_LINES + 2 + room // 50)
        metric = METRIC_LINES if room < 0 else min(4, METRIC_LINES + 1 + room // 100)
        for label, lines in ((self.policy_verdict.reason, reason),
                             (self.baseline_verdict.reason, reason), (self.metrics, metric)):
            if label.max_lines != lines:
                label.max_lines = lines
                label.set_pieces(label._pieces)

    def _show_baseline_legend(self, on: bool) -> None:
        self._legend_entry(self._base_bars, "baseline", on)

    def _legend_entry(self, item, label: str, on: bool) -> None:
        """The legend names only the bars that are drawn (no 'data' without data shares)."""
        shown = label in self._legend.labels
        if on and not shown:
            self._legend.addItem(item, label)
        elif shown and not on:
            self._legend.removeItem(item)

    def _draw_positions(self, summary: ModeSummary | None) -> None:
        positions = None if summary is None else summary.positions
        if positions is None or summary.pair is None:
            self._positions.setOpts(x=[], height=[])
            self.position_plot.setLabel("bottom", "" if summary is None else "position (no reference plans)")
            return
        finite = np.asarray(positions, dtype=float)
        finite = np.clip(finite[np.isfinite(finite)], POSITION_BINS[0], POSITION_BINS[-1])
        counts = np.histogram(finite, bins=POSITION_BINS)[0]
        centres = 0.5 * (POSITION_BINS[:-1] + POSITION_BINS[1:])
        self._positions.setOpts(x=centres, height=counts)
        self.position_plot.setYRange(0, max(1, int(counts.max(initial=0))), padding=0.05)
        a, b = summary.pair
        self.position_plot.setLabel("bottom", f"position: 0 {a}, 1 {b}")

    def _show_reference_button(self) -> None:
        ref = self.state.reference
        self.compare_button.setText("Compare with data…" if ref is None else f"Compared with {ref.source} ▾")

    def _choose_reference(self) -> None:
        """A menu: another recording (.h5), typed shares, or back to the training data."""
        menu = QtWidgets.QMenu(self)
        from_file = menu.addAction("Demonstrations in a recording (.h5)…")
        typed = menu.addAction("Mode shares (e.g. left=0.7,right=0.3)…")
        training = menu.addAction("The policy's training data")
        training.setEnabled(self.state.reference is not None)
        chosen = menu.exec(self.compare_button.mapToGlobal(self.compare_button.rect().bottomLeft()))
        if chosen is None:
            return
        from planners.mode_reference import parse_shares, shares_from_recording
        from recordings.errors import UserFacingError
        try:
            if chosen is from_file:
                path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Compare with data", "",
                                                                "Recordings (*.h5 *.hdf5)")
                if path:
                    self.state.set_reference(shares_from_recording(path))
            elif chosen is typed:
                text, ok = QtWidgets.QInputDialog.getText(self, "Compare with data", "Mode shares:",
                                                          text="left=0.5,right=0.5")
                if ok and text.strip():
                    self.state.set_reference(parse_shares(text))
            else:
                self.state.set_reference(None)
        except UserFacingError as exc:
            from app.qt.shell.dialogs import show_error
            show_error(self, "Cannot compare with that data", exc)

    def _rebuild_buttons(self, texts: list[str], modes: list[int] | None = None) -> None:
        """One checkable button per mode (mode index, or NO_MODE for the plans in no mode);
        a checked button is filled with its mode's colour: that mode is isolated."""
        modes = list(range(len(texts))) if modes is None else modes
        if modes == getattr(self, "_button_modes", None) and len(texts) == len(self.mode_buttons):
            # same modes: relabel in place (re-creating the row re-lays out the dock, which
            # repaints the whole share plot in the same frame as every other view)
            for button, text in zip(self.mode_buttons, texts):
                if button.text() != text:
                    button.setText(text)
            self._refresh_buttons()
            return
        for button in self.mode_buttons:
            self.buttons_row.removeWidget(button)
            button.hide()            # gone now, not only when the event loop gets to deleteLater
            button.setParent(None)
            button.deleteLater()
        self.mode_buttons = []
        self._button_modes = modes
        for i, text in zip(modes, texts):
            button = QtWidgets.QPushButton(text)
            button.setCheckable(True)
            key = 0 if i == NO_MODE else i + 1
            button.setToolTip(f"Show only {'the plans in no mode' if i == NO_MODE else 'this mode' + chr(39) + 's plans'}"
                              f" (key {key}; click again or Esc shows all)")
            colour = UNLABELLED_HEX if i == NO_MODE else mode_hex(i)
            # a styled button loses the native pressed look: the checked one is filled instead
            button.setStyleSheet(f"QPushButton {{ border-left: 6px solid {colour}; padding: 2px 8px; }}"
                                 f"QPushButton:checked {{ background: {colour}; color: #101215; "
                                 f"font-weight: bold; border: 2px solid #F2F2F2; border-left: 6px solid {colour}; }}")
            button.clicked.connect(lambda _checked=False, m=i: self.toggle_isolation(m))
            self.buttons_row.addWidget(button)
            self.mode_buttons.append(button)
        self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        for i, button in zip(getattr(self, "_button_modes", []), self.mode_buttons):
            button.setChecked(self.state.isolated == i)

    def toggle_isolation(self, mode: int) -> None:
        self.state.isolate(None if self.state.isolated == mode else mode)

    def _on_click(self, event) -> None:
        vb = self.plot.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        x = vb.mapSceneToView(event.scenePos()).x()
        summary = self.state.result.summary if self.state.result is not None else None
        if summary is None:
            return
        mode = int(round(x))
        if 0 <= mode < summary.num_modes:
            self.toggle_isolation(mode)
        elif mode == summary.num_modes and (np.asarray(summary.labels) < 0).any():
            self.toggle_isolation(NO_MODE)    # the grey "no mode" bar
