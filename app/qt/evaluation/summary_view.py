"""Evaluation view: the report's summary inside the app (verdict, success table, worst rollouts,
and the report's own charts), fed by an app.core.evaluation.summary.EvalSummary.

Two widgets so the window can dock them apart: `EvaluationSummaryView` (verdict, per-cell table,
worst rollouts; activating a rollout emits `rolloutActivated(path, row)`) and
`EvaluationChartsView` (the report's SVG charts in tabs, drawn by QtSvg from the same code that
writes the HTML, so the app and the report can never disagree).
"""
from __future__ import annotations

import math

from PySide6 import QtCore, QtGui, QtSvgWidgets, QtWidgets

from app.core.evaluation.summary import EvalSummary

Qt = QtCore.Qt
ACCEPT_CSS = "background:#1f4d2e;color:#e8f5ec;border:1px solid #3d8a57;border-radius:6px;padding:8px"
REJECT_CSS = "background:#5a2323;color:#fbeaea;border:1px solid #a04545;border-radius:6px;padding:8px"
WORST_COLUMNS = ("id", "policy", "seed", "perturbation", "result", "label", "unsafe",
                 "clearance mm", "mode switches")


def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.0f}%"


def _item(text: str, numeric: bool = False) -> QtWidgets.QTableWidgetItem:
    item = QtWidgets.QTableWidgetItem(text)
    item.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled)
    if numeric:
        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    return item


class EvaluationSummaryView(QtWidgets.QWidget):
    """Verdict, success per policy x perturbation with 95 % CIs, and the worst rollouts."""
    rolloutActivated = QtCore.Signal(str, int)      # artifact path, summary row
    openRequested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary: EvalSummary | None = None
        self._rows: list[int] = []
        layout = QtWidgets.QVBoxLayout(self)
        top = QtWidgets.QHBoxLayout()
        self.title = QtWidgets.QLabel("No evaluation open")
        self.title.setWordWrap(True)
        self.open_button = QtWidgets.QPushButton("Open evaluation…")
        self.open_button.clicked.connect(self.openRequested)
        top.addWidget(self.title, 1)
        top.addWidget(self.open_button)
        layout.addLayout(top)
        self.verdict = QtWidgets.QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.verdict.hide()
        layout.addWidget(self.verdict)
        self.cells = QtWidgets.QTableWidget(0, 6)
        self.cells.setHorizontalHeaderLabels(["policy", "perturbation", "success", "95% CI",
                                              "unsafe", "n"])
        self._setup_table(self.cells)
        layout.addWidget(self.cells, 2)
        layout.addWidget(QtWidgets.QLabel("Worst rollouts (double-click to review):"))
        self.worst = QtWidgets.QTableWidget(0, len(WORST_COLUMNS))
        self.worst.setHorizontalHeaderLabels(list(WORST_COLUMNS))
        self._setup_table(self.worst)
        self.worst.cellDoubleClicked.connect(self._activate)
        self.worst.itemActivated.connect(lambda item: self._activate(item.row(), 0))
        layout.addWidget(self.worst, 3)

    @staticmethod
    def _setup_table(table: QtWidgets.QTableWidget) -> None:
        table.verticalHeader().hide()
        table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        table.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        table.horizontalHeader().setStretchLastSection(True)
        table.setAlternatingRowColors(True)

    def set_summary(self, summary: EvalSummary | None, k_worst: int = 20) -> None:
        self.summary = summary
        self.cells.setRowCount(0)
        self.worst.setRowCount(0)
        self._rows = []
        if summary is None:
            self.title.setText("No evaluation open")
            self.verdict.hide()
            return
        name = QtCore.QFileInfo(summary.path).fileName()
        partial = f" — PARTIAL ({summary.num_rollouts}/{summary.total_jobs})" if summary.partial else ""
        self.title.setText(f"<b>{name}</b>: {' vs '.join(summary.policies)} on {summary.scene}, "
                           f"{len(summary.config['eval']['seeds'])} seeds × "
                           f"{len(summary.perturbations)} cells{partial}")
        self._show_verdict(summary)
        for policy in summary.policies:
            for pert in summary.perturbations:
                c = summary.cells.get((policy, pert))
                if c is None:
                    continue
                r = self.cells.rowCount()
                self.cells.insertRow(r)
                for col, (text, num) in enumerate(((policy, False), (pert, False),
                                                   (_pct(c.rate), True),
                                                   (f"[{_pct(c.ci[0])}, {_pct(c.ci[1])}]", True),
                                                   (str(c.unsafe_events), True), (str(c.n), True))):
                    self.cells.setItem(r, col, _item(text, num))
        self.cells.resizeColumnsToContents()
        cols = summary.columns
        for row in summary.worst(k_worst):
            r = self.worst.rowCount()
            self.worst.insertRow(r)
            ok = bool(cols["success"][row])
            clearance = summary.metric("min_clearance")[row]
            values = (str(int(cols["id"][row])), str(cols["policy"][row]), str(int(cols["seed"][row])),
                      str(cols["perturbation"][row]), "success" if ok else "failed",
                      str(cols["failure_label"][row]),
                      f"{summary.metric('contacts')[row]:.0f}",
                      "" if not math.isfinite(clearance) else f"{1000 * clearance:.1f}",
                      f"{summary.metric('mode_switches')[row]:.0f}")
            for col, text in enumerate(values):
                item = _item(text, col in (0, 2, 6, 7, 8))
                if col == 4 and not ok:
                    item.setForeground(QtGui.QColor("#ff6b6b"))
                self.worst.setItem(r, col, item)
            self._rows.append(row)
        self.worst.resizeColumnsToContents()

    def _show_verdict(self, summary: EvalSummary) -> None:
        if len(summary.policies) < 2:
            self.verdict.hide()
            return
        from app.core.evaluation.acceptance import decide, format_decision
        ev = summary.config["eval"]
        d = decide(summary, metric=ev.get("accept_metric", "success"),
                   min_improvement=float(ev.get("min_improvement", 0.10)))
        lines = format_decision(d).split("\n")
        self.verdict.setText(f"<b style='font-size:15px'>{d.verdict}</b> "
                             f"{lines[0][len(d.verdict) + 1:]}<br>" +
                             "<br>".join(t.strip() for t in lines[1:]))
        self.verdict.setStyleSheet(ACCEPT_CSS if d.accept else REJECT_CSS)
        self.verdict.show()

    def worst_rows(self) -> list[int]:
        """Summary rows listed in the worst-rollouts table, in order."""
        return list(self._rows)

    def _activate(self, table_row: int, _col: int) -> None:
        if self.summary is not None and 0 <= table_row < len(self._rows):
            self.rolloutActivated.emit(self.summary.path, self._rows[table_row])


class _Svg(QtSvgWidgets.QSvgWidget):
    """An SVG chart that keeps its aspect ratio when the dock is resized."""

    def __init__(self, text: str) -> None:
        super().__init__()
        from app.core.evaluation.svg import themed
        # follow the app's theme: a dark window gets light ink on its own background
        self.dark = self.palette().color(QtGui.QPalette.Window).lightness() < 128
        self.text = themed(text, self.dark)
        self.load(QtCore.QByteArray(self.text.encode("utf-8")))
        self.renderer().setAspectRatioMode(Qt.KeepAspectRatio)
        self.setMinimumSize(320, 140)
        if not self.dark:
            self.setStyleSheet("background:white")


class EvaluationChartsView(QtWidgets.QTabWidget):
    """The report's charts: success, collisions, modes, latency (one tab each)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.charts: dict[str, str] = {}

    def set_summary(self, summary: EvalSummary | None) -> None:
        from app.core.evaluation.report import chart_svgs
        self.clear()
        self.charts = {} if summary is None else chart_svgs(summary)
        for title, text in self.charts.items():
            self.addTab(_Svg(text), title)
