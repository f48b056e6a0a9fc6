"""Compare: two rollouts side by side, time-synchronised (e.g. the same seed under two policies).

Left: the current rollout; right: the comparison rollout (by default the same seed in another
open file or under another policy; any rollout can be picked). Both sides show the top view of
the end-effector path with the plans of the replan in force, and the gripper/z curves with a
shared time cursor at the session's step (clipped to each rollout's length).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.core.review.data import RolloutData
from app.core.review.state import ReviewSession, RolloutKey
from app.qt.review.replan_view import ModePalette, ReplanTopView
from app.qt.shell.theme import cache_axes

Qt = QtCore.Qt


def perturbation_text(perturbation: dict | str) -> str:
    """{"delay": 2} or '{"delay":2}' -> "delay=2"; nothing -> "nominal"."""
    if isinstance(perturbation, str):
        import json
        try:
            perturbation = json.loads(perturbation) if perturbation else {}
        except ValueError:
            return perturbation
    return ", ".join(f"{k}={v}" for k, v in sorted(perturbation.items())) or "nominal"


def describe(data: RolloutData | None, name: str = "") -> str:
    if data is None:
        return "—"
    verdict = "success" if data.success else f"FAILED ({data.failure_label}) at step {data.failure_step}"
    return (f"{name}  rollout {data.rollout_id} · seed {data.seed} · {data.policy or 'demo'} · "
            f"{perturbation_text(data.perturbation)} · {verdict}")


def on_screen(widget: QtWidgets.QWidget) -> bool:
    """Visible AND not covered: a dock tabbed behind another reports isVisible() True."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


class CompareSide(QtWidgets.QWidget):
    def __init__(self, palette: ModePalette, parent=None) -> None:
        super().__init__(parent)
        self.data: RolloutData | None = None
        self.title = QtWidgets.QLabel("—")
        self.title.setWordWrap(True)
        self.top = ReplanTopView(palette)
        self.top.setMinimumHeight(110)    # review fits 1280x800 with Compare in the bottom dock
        self.curves = pg.PlotWidget()
        self.curves.setLabel("bottom", "control step")
        self.curves.setLabel("left", "z (m) / gripper")
        self.curves.addLegend(offset=(4, 4), labelTextSize="8pt")
        self.curves.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        cache_axes(self.curves)
        self.z_curve = self.curves.plot([], [], pen=pg.mkPen("#009E73", width=1.5), name="z")
        self.g_curve = self.curves.plot([], [], pen=pg.mkPen("#CC79A7", width=1.5), name="gripper")
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#FFFFFF", width=1.5))
        self.curves.addItem(self.cursor)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.top, 3)
        layout.addWidget(self.curves, 2)

    def set_rollout(self, data: RolloutData | None, name: str = "") -> None:
        self.data = data
        self.title.setText(describe(data, name))
        self.title.setStyleSheet("" if data is None or data.success else "color: #FF6B5E;")
        if data is None:
            self.z_curve.setData([], [])
            self.g_curve.setData([], [])
            self.top.show_replan(None, None, 0)
            return
        steps = np.arange(data.num_steps)
        self.z_curve.setData(steps, data.actions[:, 2])
        if data.actions.shape[1] > 3:
            self.g_curve.setData(steps, data.actions[:, 3])

    def set_step(self, step: int) -> None:
        if self.data is None or self.data.num_steps == 0:
            return
        s = int(np.clip(step, 0, self.data.num_steps - 1))
        self.cursor.setValue(s)
        replan = self.data.replan(self.data.replan_index_at(s))
        self.top.show_replan(self.data, replan, s)


class CompareView(QtWidgets.QWidget):
    """Both sides plus a picker for the comparison rollout."""

    def __init__(self, session: ReviewSession, palette: ModePalette | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.session = session
        palette = palette or ModePalette()
        self.left = CompareSide(palette)
        self.right = CompareSide(palette)
        self.picker = QtWidgets.QComboBox(
            toolTip="Rollout to compare with: the same seed and perturbation under the other "
                    "policy first, then the same seed under other perturbations")
        self.picker.setMinimumContentsLength(30)
        self.picker.activated.connect(self._picked)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Compare with:"))
        row.addWidget(self.picker, 1)
        # one time axis and one space for both sides: same ranges, panned together
        self.right.curves.setXLink(self.left.curves)
        self.right.curves.setYLink(self.left.curves)
        sides = QtWidgets.QSplitter(Qt.Horizontal)
        sides.addWidget(self.left)
        sides.addWidget(self.right)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(row)
        layout.addWidget(sides, 1)
        self._stale = True
        session.events.rollout_changed.connect(self._on_rollout)
        session.events.compare_changed.connect(self._on_compare)

    def _name(self, key: RolloutKey | None) -> str:
        if key is None or len(self.session.recordings) < 2:
            return ""
        return self.session.recordings[key.file].name + ":"

    def _on_rollout(self, data: RolloutData | None) -> None:
        self.left.set_rollout(data, self._name(self.session.current))
        if on_screen(self):
            self._fill_picker()

    def _on_compare(self, _key) -> None:
        self._stale = True
        if on_screen(self):
            self.refresh()

    def refresh(self) -> None:
        """Read the comparison rollout (if not yet) and draw both sides at the current step."""
        if self._stale:
            self._stale = False
            try:
                data = self.session.compare_rollout
            except Exception as exc:  # noqa: BLE001  dialog; the app keeps running
                from app.qt.shell.dialogs import show_error
                show_error(self, "Review", exc)
                data = None
            self.right.set_rollout(data, self._name(self.session.compare))
            self._fill_picker()
            self.align()
        self.set_step(self.session.step)

    def align(self) -> None:
        """Both sides on the same time range (the longer rollout) and the same curve and
        top-view ranges (the union of both), so shapes compare by eye."""
        datas = [d for d in (self.left.data, self.right.data) if d is not None and d.num_steps]
        if not datas:
            return
        t = max(d.num_steps for d in datas)
        self.left.curves.setXRange(0, max(t - 1, 1), padding=0.02)
        acts = np.concatenate([d.actions[:, 2:4].reshape(-1) for d in datas])
        acts = acts[np.isfinite(acts)]
        if acts.size:
            self.left.curves.setYRange(float(acts.min()), float(acts.max()), padding=0.05)
        paths = np.concatenate([d.ee_path[:, :2] for d in datas])
        paths = paths[np.all(np.isfinite(paths), axis=1)]
        if len(paths):
            lo, hi = paths.min(axis=0), paths.max(axis=0)
            span = max(float((hi - lo).max()), 0.05) / 2 * 1.3
            mid = (lo + hi) / 2
            for side in (self.left, self.right):   # aspect-locked: set, not linked
                side.top.setRange(xRange=(mid[0] - span, mid[0] + span),
                                  yRange=(mid[1] - span, mid[1] + span), padding=0)
        for side in (self.left, self.right):
            side.top._fitted_for = side.data   # no per-side auto-fit after this shared range

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()

    def _fill_picker(self) -> None:
        """Candidates with the current seed in every open file, best pairing first (same
        perturbation, other policy), each naming its policy and perturbation (summary only)."""
        s = self.session
        self.picker.blockSignals(True)
        self.picker.clear()
        self.picker.addItem("(none)", None)
        for key in s.compare_candidates()[:60]:
            rec = s.recordings[key.file]
            row = key.row
            ok = "ok" if rec.cell(row, "success") else "FAILED"
            self.picker.addItem(
                f"{rec.name}: rollout {rec.rollout_id(row)} · seed {rec.cell(row, 'seed')}"
                f" · {rec.cell(row, 'policy')} · {perturbation_text(rec.cell(row, 'perturbation'))}"
                f" · {ok}", key)
        index = next((i for i in range(self.picker.count())
                      if self.picker.itemData(i) == s.compare), 0)
        self.picker.setCurrentIndex(index)
        self.picker.blockSignals(False)

    def _picked(self, index: int) -> None:
        try:
            self.session.set_compare(self.picker.itemData(index))
        except Exception as exc:  # noqa: BLE001  dialog; the app keeps running
            from app.qt.shell.dialogs import show_error
            show_error(self, "Review", exc)

    def set_step(self, step: int) -> None:
        self.left.set_step(step)
        self.right.set_step(step)
