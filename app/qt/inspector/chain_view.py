"""Denoising chain view: scrub the solver steps T -> 0 of the current PlanBatch.

Controls: play/pause, a slider over chain index k = 0 (pure noise, t = T) .. S (final plans),
speed, and an x_t / x0-estimate toggle. Below: top (x–y) and side (x–z) projections of every plan
at step k coloured by its FINAL mode (so you watch noise turn into modes), and a per-step plot of
sample spread (metres) and cluster count with markers at the steps where samples commit.
Clicking a plan selects it in every view (through InspectorState).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.core.inspector.state import InspectorState, observed_positions, preview_subset
from app.qt.plots.mode_colors import (BASELINE_HEX, INFEASIBLE_HEX, MODE_HEX, SELECTED_HEX, UNLABELLED_HEX,
                                      mode_hex)
from app.qt.plots.dataset_inspection import DEMO_HEX, NEIGHBOUR_HEX, DataPlanView, _lines
from app.qt.plots.plan_projection import PlanProjection
from app.qt.shell.theme import cache_axes, glyph_icon

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
BASE_STEPS_PER_S = 6.0
MIN_PLOT_HEIGHT = 160   # px: below this the projections' ticks overlap (issue 20)


def legend_html(state: InspectorState) -> str:
    """One line naming every mark the plan views draw, in their colours."""
    summary = state.result.summary if state.result is not None else None
    names = summary.names if summary is not None else []
    parts = [f'<span style="color:{mode_hex(i)}">━ {name}</span>' for i, name in enumerate(names)]
    if summary is not None and (summary.labels < 0).any():
        parts.append(f'<span style="color:{UNLABELLED_HEX}">━ no mode</span>')
    parts += ["┄ infeasible", f'<span style="color:{INFEASIBLE_HEX}">✕ first collision</span>',
              f'<span style="color:{SELECTED_HEX}">━● selected</span>']
    if state.baseline_result is not None:
        parts.append(f'<span style="color:{BASELINE_HEX}">┅ baseline</span>')
    data = state.data
    if data is not None:       # a recorded frame: no scene, so no feasibility marks
        parts = [p for p in parts if "infeasible" not in p and "collision" not in p]
        parts += [f'<span style="color:{DEMO_HEX}">━ demonstrated chunk</span>',
                  f'<span style="color:{NEIGHBOUR_HEX}">┄ {len(data.neighbours)} nearest '
                  "frames' chunks</span>"]
        if data.end_effector:
            parts.append('<span style="color:#56B4E9">◆ end effector</span>')
        return "&nbsp;&nbsp;&nbsp;".join(parts)
    parts += ['<span style="color:#D0D0D0">● mug</span>', '<span style="color:#56B4E9">◆ end effector</span>']
    return "&nbsp;&nbsp;&nbsp;".join(parts)


def selected_plan_text(state: InspectorState) -> str:
    """The selected plan in one line: index, final mode, commit step (solver step after which it
    stays in its mode), feasibility and where it first collides (waypoint index and body)."""
    index, result = state.selected, state.result
    if index is None or result is None:
        return "no plan selected — click a plan"
    parts = [f"plan #{index}"]
    summary = result.summary
    if summary is not None:
        label = int(summary.labels[index])
        name = summary.names[label] if 0 <= label < len(summary.names) else "no mode"
        parts.append(f'mode <span style="color:{mode_hex(label) if label >= 0 else UNLABELLED_HEX}">'
                     f"<b>{name}</b></span>")
        if summary.commit_step is not None:
            commit = int(summary.commit_step[index])
            parts.append(f"commits at step {commit}" if commit >= 0 else "never commits")
    feas = result.feasibility
    if feas is not None:
        if bool(feas.feasible[index]):
            parts.append("feasible")
        else:
            body = feas.collides_with[index] if index < len(feas.collides_with) else ""
            hit = f"first collision at waypoint {int(feas.bad_waypoint[index])}" + (f" ({body})" if body else "")
            parts.append(f'<span style="color:{INFEASIBLE_HEX}">infeasible</span> · {hit}')
    return " · ".join(parts)


class ChainView(QtWidgets.QWidget):
    """Reacts to InspectorState events; writes step / show_x0 / selection back to it."""

    def __init__(self, state: InspectorState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self._advance)
        self._build()
        ev = state.events
        ev.batch.connect(lambda _r: self.refresh_all())
        ev.step.connect(lambda _k: self.refresh_plans())
        ev.selection.connect(lambda _i: self.refresh_selection())
        ev.isolation.connect(lambda _m: self.refresh_plans())
        ev.partial.connect(self._on_partial)
        ev.baseline.connect(lambda _p: self.refresh_plans())
        ev.observation.connect(lambda _o: self.refresh_plans())
        self.refresh_all()

    # ---- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        # drawn icons, not "▶"/"⏸" text: the pause glyph is missing from common UI fonts
        self.play_button = QtWidgets.QToolButton()
        self._set_play_icon(False)
        self.play_button.setToolTip("Play / pause the denoising animation (Space)")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self.set_playing)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setToolTip("Chain step: left = pure noise (t = T), right = final plans (←/→)")
        self.slider.valueChanged.connect(self.state.set_step)
        from app.qt.shell.focus import jump_to_click
        jump_to_click(self.slider)     # a click on the groove goes to that chain step
        self.step_label = QtWidgets.QLabel("no plans")
        self.step_label.setMinimumWidth(190)
        self.speed = QtWidgets.QComboBox()
        self.speed.addItems([f"{s:g}×" for s in SPEEDS])
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("Playback speed")
        self.speed.currentIndexChanged.connect(lambda _i: self._retime())
        self.x0_toggle = QtWidgets.QCheckBox("x0-estimate")
        self.x0_toggle.setToolTip("Show the model's estimate of the clean plan instead of x_t")
        self.x0_toggle.toggled.connect(self.state.set_show_x0)
        self.legend = QtWidgets.QLabel()
        self.legend.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.legend.setToolTip("Plans are coloured by the mode of their FINAL plan at every step")
        self.selection_label = QtWidgets.QLabel()
        self.selection_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.selection_label.setToolTip("The selected plan: index, final mode, the solver step after "
                                        "which it stays in that mode, feasibility, first collision")
        controls = QtWidgets.QHBoxLayout()
        for w in (self.play_button, self.slider, self.step_label, self.speed, self.x0_toggle):
            controls.addWidget(w)
        controls.setStretch(1, 1)

        self.top = PlanProjection((0, 1), "top view (x–y)")
        self.side = PlanProjection((0, 2), "side view (x–z)")
        self._data_items: list[tuple[pg.PlotDataItem, pg.PlotDataItem]] = []
        for proj in (self.top, self.side):
            proj.sampleClicked.connect(self.state.select)
            # a recorded frame's neighbours' chunks (grey, dashed) and demonstrated chunk (white)
            neighbours = pg.PlotDataItem(pen=pg.mkPen(NEIGHBOUR_HEX, width=1,
                                                      style=QtCore.Qt.PenStyle.DashLine))
            demo = pg.PlotDataItem(pen=pg.mkPen(DEMO_HEX, width=3))
            neighbours.setZValue(-1)
            demo.setZValue(5)
            proj.addItem(neighbours)
            proj.addItem(demo)
            self._data_items.append((neighbours, demo))
        # a recorded frame whose actions are not hand positions: per-dimension curves and PCA
        self.data_view = DataPlanView()
        self.stats = pg.PlotWidget()
        self.stats.setTitle("sample spread and modes per step", size="9pt")
        self.stats.setLabel("bottom", "chain step k (0 = noise)")
        self.stats.setLabel("left", "spread (m)")
        self.stats.getAxis("left").enableAutoSIPrefix(False)
        self.stats.showGrid(x=True, y=True, alpha=0.15)
        cache_axes(self.stats)
        self.stats.setMenuEnabled(False)
        self.stats.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self._spread = self.stats.plot(pen=pg.mkPen("#56B4E9", width=2), name="spread (m)")
        self._clusters_vb = pg.ViewBox()
        self.stats.getPlotItem().showAxis("right")
        self.stats.getPlotItem().scene().addItem(self._clusters_vb)
        self.stats.getPlotItem().getAxis("right").linkToView(self._clusters_vb)
        self.stats.getPlotItem().getAxis("right").setLabel("modes (count)")
        self.stats.getPlotItem().getAxis("right").setTickSpacing(1, 1)   # counts are integers
        self._clusters_vb.setXLink(self.stats.getPlotItem())
        self.stats.getPlotItem().vb.sigResized.connect(self._sync_views)
        self._clusters = pg.PlotDataItem(pen=pg.mkPen("#E69F00", width=2), stepMode="center")
        self._clusters_vb.addItem(self._clusters)
        self.stats.getPlotItem().legend.addItem(self._clusters, "modes (count)")
        self._commits = pg.ScatterPlotItem(symbol="t1", pen=None)
        self.stats.addItem(self._commits)
        self.stats.getPlotItem().legend.addItem(self._commits, "commit steps")
        self._cursor = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#FFFFFF", width=1))
        self._cursor.sigPositionChanged.connect(
            lambda line: self.state.set_step(int(round(line.value()))))
        self.stats.addItem(self._cursor)
        self._selected_commit = pg.InfiniteLine(
            angle=90, pen=pg.mkPen("#FFFFFF", width=1, style=QtCore.Qt.PenStyle.DotLine))
        self.stats.addItem(self._selected_commit)

        paths = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        for w in (self.top, self.side):
            paths.addWidget(w)
        paths.setChildrenCollapsible(False)
        self.plan_views = QtWidgets.QStackedWidget()
        self.plan_views.addWidget(paths)            # 0: hand positions (scene or data)
        self.plan_views.addWidget(self.data_view)   # 1: any other action space of a data set
        plots = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        for w in (self.plan_views, self.stats):
            plots.addWidget(w)
        plots.setSizes([2, 1])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)     # every pixel here is one the plots' 160 px floor costs the window
        layout.addLayout(controls)
        layout.addWidget(self.legend)
        layout.addWidget(self.selection_label)
        layout.addWidget(plots, 1)
        # the plots' floor, not the view's: the dock can never squeeze them to unreadable ticks
        # (controls, legend and readout above come on top of it)
        plots.setMinimumHeight(MIN_PLOT_HEIGHT)
        plots.setChildrenCollapsible(False)

    def _sync_views(self) -> None:
        vb = self.stats.getPlotItem().vb
        self._clusters_vb.setGeometry(vb.sceneBoundingRect())
        self._clusters_vb.linkedViewChanged(vb, self._clusters_vb.XAxis)

    # ---- playback ----------------------------------------------------------------------------
    def _set_play_icon(self, playing: bool) -> None:
        self.play_button.setIcon(glyph_icon("pause" if playing else "play"))

    def set_playing(self, playing: bool) -> None:
        if playing and self.state.num_steps == 0:
            playing = False
        if playing and self.state.step >= self.state.num_steps:
            self.state.set_step(0)  # play from the noise again
        if self.play_button.isChecked() != playing:
            self.play_button.setChecked(playing)
            return
        self._set_play_icon(playing)
        if playing:
            self._retime()
            self._timer.start()
        else:
            self._timer.stop()

    def toggle_playing(self) -> None:
        self.set_playing(not self._timer.isActive())

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def step_by(self, delta: int) -> None:
        self.set_playing(False)
        self.state.set_step(self.state.step + delta)

    def _retime(self) -> None:
        speed = SPEEDS[self.speed.currentIndex()]
        self._timer.setInterval(int(1000 / (BASE_STEPS_PER_S * speed)))

    def _advance(self) -> None:
        if self.state.step >= self.state.num_steps:
            self.set_playing(False)
        else:
            self.state.set_step(self.state.step + 1)

    # ---- drawing -----------------------------------------------------------------------------
    def refresh_all(self) -> None:
        s = self.state.num_steps
        self.slider.blockSignals(True)
        self.slider.setRange(0, s)
        self.slider.setValue(self.state.step)
        self.slider.blockSignals(False)
        self.slider.setEnabled(s > 0)
        self.play_button.setEnabled(s > 0)
        batch = self.state.batch
        data = self.state.data
        self._show_data_context()
        if batch is not None and (data is None or data.end_effector):
            finite = batch.plans[..., :3][np.isfinite(batch.plans[..., :3]).all(axis=-1)]
            points = [finite] + [p[None] for p in observed_positions(self.state.observation).values()]
            if data is not None:
                points += [np.asarray(c, np.float64).reshape(-1, c.shape[-1])[:, :3]
                           for c in (data.demo, data.neighbours) if len(c)]
            allp = np.concatenate(points) if len(finite) else np.zeros((1, 3))
            lo, hi = allp.min(axis=0), allp.max(axis=0)
            for proj in (self.top, self.side):
                proj.set_range_from(lo, hi)
        self._refresh_stats()
        self.legend.setText(legend_html(self.state))
        self.refresh_plans(force=True)

    def _show_data_context(self) -> None:
        """A recorded frame's demonstrated chunk and neighbours' chunks with the plans: in the
        top / side projections for hand positions, else the per-dimension curves and PCA."""
        data = self.state.data
        summary = self.state.result.summary if self.state.result is not None else None
        flat = data is not None and not data.end_effector
        self.plan_views.setCurrentIndex(1 if flat else 0)
        units = "normalised" if flat else "m"
        self.stats.setLabel("left", f"spread ({units})")
        for sample, label in self.stats.getPlotItem().legend.items:
            if sample.item is self._spread:
                label.setText(f"spread ({units})")
        if flat:
            self.data_view.set_context(data, summary.num_modes if summary is not None else 0)
        for proj, (neighbours, demo) in zip((self.top, self.side), self._data_items):
            i, j = proj.axes_ij
            if data is None or flat or data.plans.shape[2] <= j:
                neighbours.setData([], [])
                demo.setData([], [])
                continue
            if len(data.neighbours):
                x, y, c = _lines(data.neighbours[:, :, j], data.neighbours[:, :, i])
                neighbours.setData(x, y, connect=c)
            else:
                neighbours.setData([], [])
            demo.setData(np.asarray(data.demo[:, i], np.float64), np.asarray(data.demo[:, j], np.float64))

    def _refresh_stats(self) -> None:
        result = self.state.result
        stats = result.stats if result is not None else None
        if stats is None:
            self._spread.setData([], [])
            self._clusters.setData([], [])
            self._commits.setData([])
            return
        k = np.arange(len(stats.spread_m))
        self._spread.setData(k, stats.spread_m)
        edges = np.arange(len(stats.clusters) + 1) - 0.5
        self._clusters.setData(edges, stats.clusters.astype(float))
        self._clusters_vb.setYRange(0, max(3, int(stats.clusters.max()) + 1), padding=0)
        self.stats.setXRange(0, max(1, len(k) - 1), padding=0.02)
        summary = result.summary
        spots = []
        if summary is not None and summary.commit_step is not None:
            top = float(np.nanmax(stats.spread_m)) if len(stats.spread_m) else 1.0
            for mode in range(summary.num_modes):
                steps = summary.commit_step[(summary.labels == mode) & (summary.commit_step >= 0)]
                values, counts = np.unique(steps, return_counts=True)
                for v, c in zip(values, counts):
                    spots.append({"pos": (float(v), top * (0.04 + 0.06 * mode)),
                                  "size": float(6 + 10 * np.sqrt(c / len(summary.labels))),
                                  "brush": pg.mkBrush(MODE_HEX[mode % len(MODE_HEX)])})
        self._commits.setData(spots)

    def _step_text(self) -> str:
        batch = self.state.batch
        if batch is None:
            return "no plans — sample first"
        s, k = batch.num_steps, self.state.step
        if s == 0:
            return f"{batch.planner or 'planner'}: no denoising chain"
        t = f"t = {int(batch.timesteps[k])}" if k < s else "t = 0 (final)"
        kind = "x0-estimate" if self.state.show_x0 else "x_t"
        return f"step {k}/{s} · {t} · {kind}"

    def _plans_key(self) -> tuple:
        """Everything refresh_plans draws from: an event that changes none of it (the step event
        that follows every new batch, after refresh_all drew it) skips the redraw."""
        s = self.state
        r = s.result
        return (id(r), id(getattr(r, "summary", None)), id(getattr(r, "feasibility", None)),
                id(s.baseline_result), id(s.observation), s.step, s.show_x0, s.isolated,
                id(s.partial))

    def refresh_plans(self, force: bool = False) -> None:
        state = self.state
        key = self._plans_key()
        if not force and key == getattr(self, "_drawn_key", None):
            return
        self._drawn_key = key
        self.slider.blockSignals(True)
        self.slider.setValue(state.step)
        self.slider.blockSignals(False)
        self._cursor.blockSignals(True)
        self._cursor.setValue(state.step)
        self._cursor.blockSignals(False)
        self.step_label.setText(self._step_text())
        self.x0_toggle.blockSignals(True)
        self.x0_toggle.setChecked(state.show_x0)
        self.x0_toggle.blockSignals(False)
        paths = state.plans_at_step()
        result = state.result
        summary = result.summary if result is not None else None
        labels = summary.labels if summary is not None else None
        final = state.batch is not None and state.step >= state.num_steps
        feas = result.feasibility if (result is not None and final) else None
        baseline = state.baseline_result.batch.plans[0] if state.baseline_result is not None else None
        markers = []
        for name, pos in observed_positions(state.observation).items():
            markers.append((pos, "#D0D0D0" if name == "mug" else "#56B4E9", "o" if name == "mug" else "d"))
        if self.plan_views.currentIndex() == 1:      # not positions: the projections stay empty
            self.data_view.set_plans(paths, labels, state.visible_mask() if paths is not None else None,
                                     state.selected)
            paths, baseline, markers = None, None, []
        for proj in (self.top, self.side):
            proj.set_plans(paths, labels, state.visible_mask() if paths is not None else None,
                           feas.feasible if feas is not None else None,
                           feas.bad_waypoint if feas is not None else None)
            proj.set_baseline(baseline)
            proj.set_markers(markers)
        self.refresh_selection()

    def refresh_selection(self) -> None:
        state = self.state
        paths = state.plans_at_step()
        index = state.selected
        summary = state.result.summary if state.result is not None else None
        label = int(summary.labels[index]) if (summary is not None and index is not None) else -1
        self.selection_label.setText(selected_plan_text(state))
        if self.plan_views.currentIndex() == 1:
            self.data_view.set_selected(paths[index] if (paths is not None and index is not None
                                                         and index < len(paths)) else None)
            paths = None
        for proj in (self.top, self.side):
            proj.set_selected(paths[index] if (paths is not None and index is not None) else None, label)
        commit = -1
        if index is not None and summary is not None and summary.commit_step is not None:
            commit = int(summary.commit_step[index])
        self._selected_commit.setVisible(commit >= 0)
        if commit >= 0:
            self._selected_commit.setValue(commit)
            self._selected_commit.setPen(pg.mkPen(mode_hex(label), width=2,
                                                  style=QtCore.Qt.PenStyle.DotLine))

    def _on_partial(self, partial) -> None:
        """While sampling: draw the newest streamed x_t of up to PREVIEW_PLANS samples in grey
        (modes are not known yet; a preview must stay cheap so the GUI stays responsive)."""
        if partial is None or partial.chain.shape[0] == 0:
            return
        paths = partial.x0_estimates[-1] if self.state.show_x0 and partial.num_steps else partial.chain[-1]
        paths = paths[preview_subset(len(paths))]
        k, total = self.state.progress
        self.step_label.setText(f"sampling… step {k}/{total}")
        if self.plan_views.currentIndex() == 1:
            self.data_view.set_plans(paths, None)
            return
        for proj in (self.top, self.side):
            proj.set_plans(paths, None)
            proj.set_selected(None)
