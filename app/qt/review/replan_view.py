"""What the planner was choosing between: the plans sampled at the current replan, coloured by
mode, beside the chunk that was executed (2-D top view x-y, plus one GL item for the 3-D view),
and the chunk-boundary view: consecutive predicted chunks over the executed path, to see jitter
or roll-back where one chunk hands over to the next.

Samples of one mode are drawn as one curve item with a `connect` array (no item per plan).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.core.review.data import RolloutData
from app.qt.plots.mode_colors import INFEASIBLE_HEX, MODE_HEX, UNLABELLED_HEX, hex_to_rgba
from app.qt.shell.theme import cache_axes
from recordings.rollout import ReplanRecord
from scenes.api import END_EFFECTOR_KEYS

EXECUTED_HEX = "#FFFFFF"
PATH_HEX = "#9A9A9A"
NO_MODE = ("", "none", "no mode", "unknown", "unlabelled", "averaging", "between")
DIM_NAMES = ("x", "y", "z", "gripper")


class ModePalette:
    """Stable colour per mode label across rollouts (first seen, first colour); unlabelled and
    averaging plans are grey."""

    def __init__(self, known: tuple[str, ...] = ("left", "right")) -> None:
        self._index: dict[str, int] = {m: i for i, m in enumerate(known)}

    def index(self, label: str) -> int:
        if label.lower() in NO_MODE:
            return -1
        if label not in self._index:
            self._index[label] = len(self._index)
        return self._index[label]

    def hex(self, label: str) -> str:
        i = self.index(label)
        return UNLABELLED_HEX if i < 0 else MODE_HEX[i % len(MODE_HEX)]


def polyline_arrays(paths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[M, H, 2] paths -> (x [M*H], y [M*H], connect [M*H] bool) for one PlotDataItem."""
    m, h = paths.shape[:2]
    connect = np.ones((m, h), bool)
    connect[:, -1] = False
    return paths[..., 0].ravel(), paths[..., 1].ravel(), connect.ravel()


def mode_shares(replan: ReplanRecord) -> dict[str, float]:
    labels = [m or "no mode" for m in replan.mode_labels]
    values, counts = np.unique(labels, return_counts=True)
    order = np.argsort(-counts)
    return {str(values[i]): float(counts[i]) / len(labels) for i in order}


class ReplanTopView(pg.PlotWidget):
    """Top view (x-y, metres) of the sampled plans at the current replan."""

    def __init__(self, palette: ModePalette | None = None, parent=None) -> None:
        super().__init__(parent)
        self.palette = palette or ModePalette()
        self.setAspectLocked(True)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setLabel("bottom", "x (m)")
        self.setLabel("left", "y (m)")
        self.path_item = self.plot([], [], pen=pg.mkPen(PATH_HEX, width=2))
        self.mode_items: dict[str, pg.PlotDataItem] = {}
        self.infeasible_item = self.plot([], [], pen=pg.mkPen(INFEASIBLE_HEX, width=1,
                                                              style=QtCore.Qt.DashLine),
                                         antialias=False)
        self.plan_item = self.plot([], [], pen=pg.mkPen(EXECUTED_HEX, width=1.5,
                                                        style=QtCore.Qt.DotLine))
        self.chunk_item = self.plot([], [], pen=pg.mkPen(EXECUTED_HEX, width=3.5))
        self.ee_item = self.plot([], [], pen=None, symbol="o", symbolSize=9,
                                 symbolBrush=EXECUTED_HEX, symbolPen="#000000")
        self.object_item = pg.ScatterPlotItem(pxMode=False, symbol="o", size=0.08,
                                              brush=pg.mkBrush(200, 60, 50, 90),
                                              pen=pg.mkPen("#FF6B5E", width=1.5))
        self.addItem(self.object_item)
        self.object_label = pg.TextItem("", color="#FF8A80", anchor=(0.5, -0.6))
        self.addItem(self.object_label)
        for axis in ("bottom", "left"):
            self.getPlotItem().getAxis(axis).enableAutoSIPrefix(False)
        cache_axes(self)
        self.setTitle("Plans at replan", size="9pt")
        self.setToolTip("Top view (x-y, metres) of the plans sampled at the replan in force, "
                        "coloured by mode (red dashed: infeasible). White: the chunk that ran; "
                        "white dotted: the rest of the executed plan; grey: the end-effector "
                        "path so far; red disc: the object.")
        self._fitted_for = None
        self._shown_replan: tuple | None = None  # (rollout, replan step) drawn now

    def show_replan(self, data: RolloutData | None, replan: ReplanRecord | None, step: int) -> None:
        if data is None:
            self.path_item.setData([], [])
            self.ee_item.setData([], [])
            self._show_samples(None)
            self._shown_replan = None
            return
        path = data.ee_path
        upto = path[: step + 1]
        self.path_item.setData(upto[:, 0], upto[:, 1])
        self.ee_item.setData([path[step, 0]], [path[step, 1]])
        self._show_objects(data, step)
        shown = (id(data), None if replan is None else replan.step)
        if shown != self._shown_replan:   # 256 plans are re-sent only when the replan changes
            self._shown_replan = shown
            self._show_samples(replan)
        if replan is None:
            self.setTitle(f"step {step}: no plans recorded" if not data.has_replans
                          else f"step {step}: before the first replan", size="9pt")
        else:
            self.setTitle(self.caption(replan), size="9pt")
        if self._fitted_for is not data:
            self._fitted_for = data
            self.autoRange(padding=0.1)

    def caption(self, replan: ReplanRecord) -> str:
        """Two-line HTML title: mode shares in their colours, infeasible count, what ran."""
        shares = " ".join(f"<span style='color:{self.palette.hex(m)}'>■ {m} {s:.0%}</span>"
                          for m, s in mode_shares(replan).items())
        bad = int((~replan.feasible).sum())
        chosen = replan.mode_labels[replan.executed_index] if replan.executed_index >= 0 else "?"
        return (f"Replan at step {replan.step}: {len(replan.samples)} plans; executed "
                f"<b>{chosen or 'no mode'}</b><br>{shares}"
                + (f" <span style='color:{INFEASIBLE_HEX}'>┅ {bad} infeasible</span>" if bad
                   else ""))

    def _show_objects(self, data: RolloutData, step: int) -> None:
        """Objects the plans must reach or avoid (obs fields "<name>_pos" other than the end
        effector), as 8 cm discs at their recorded position."""
        names = [k for k in data.obs if k.endswith("_pos") and k not in END_EFFECTOR_KEYS
                 and data.obs[k].shape[1] >= 2]
        if not names:
            self.object_item.setData([], [])
            self.object_label.setText("")
            return
        xy = np.asarray([data.obs[k][step, :2] for k in names])
        self.object_item.setData(xy[:, 0], xy[:, 1])
        self.object_label.setText(names[0][:-4])
        self.object_label.setPos(xy[0, 0], xy[0, 1])

    def _show_samples(self, replan: ReplanRecord | None) -> None:
        by_mode: dict[str, list[int]] = {}
        if replan is not None:
            for i, label in enumerate(replan.mode_labels):
                if replan.feasible[i]:
                    by_mode.setdefault(label or "no mode", []).append(i)
        for label in by_mode:
            if label not in self.mode_items:
                pen = pg.mkPen(self.palette.hex(label), width=1)
                # hundreds of overlapping thin plans: antialiasing would double the paint time
                self.mode_items[label] = self.plot([], [], pen=pen, antialias=False)
        for label, item in self.mode_items.items():
            idx = by_mode.get(label)
            if idx:
                x, y, c = polyline_arrays(replan.samples[idx][..., :2])
                item.setData(x, y, connect=c)
            else:
                item.setData([], [])
        if replan is None:
            for item in (self.infeasible_item, self.plan_item, self.chunk_item):
                item.setData([], [])
            return
        bad = np.flatnonzero(~replan.feasible)
        if bad.size:
            x, y, c = polyline_arrays(replan.samples[bad][..., :2])
            self.infeasible_item.setData(x, y, connect=c)
        else:
            self.infeasible_item.setData([], [])
        plan = replan.executed_plan
        self.plan_item.setData(plan[:, 0], plan[:, 1])
        chunk = replan.executed_chunk
        self.chunk_item.setData(chunk[:, 0], chunk[:, 1])


class ChunkBoundaryView(pg.PlotWidget):
    """One action dimension over time: the executed actions and, from every replan step, the
    predicted plan it executed (H steps), alternating colours, so a jump or a roll-back at a
    chunk switch shows as a gap between two colours."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.dim = 0
        self.data: RolloutData | None = None
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setLabel("bottom", "control step")
        self.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        cache_axes(self)
        self.addLegend(offset=(4, 4), labelTextSize="8pt")
        self.executed = self.plot([], [], pen=pg.mkPen(EXECUTED_HEX, width=2.5), name="executed")
        self.chunks = [self.plot([], [], pen=pg.mkPen(c, width=1.5), name=n) for c, n in
                       (("#56B4E9", "predicted (even replans)"), ("#E69F00", "predicted (odd)"))]
        self.switches = self.plot([], [], pen=None, symbol="x", symbolSize=8,
                                  symbolPen=pg.mkPen(INFEASIBLE_HEX, width=2), name="switch jump")
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#FFFFFF", width=1))
        self.addItem(self.cursor)

    def set_dim(self, dim: int) -> None:
        self.dim = int(dim)
        self.set_rollout(self.data)

    def set_rollout(self, data: RolloutData | None) -> None:
        self.data = data
        if data is None:
            for item in [self.executed, self.switches, *self.chunks]:
                item.setData([], [])
            return
        d = min(self.dim, data.actions.shape[1] - 1)
        self.setLabel("left", f"{DIM_NAMES[d] if d < 4 else d} " + ("(0..1)" if d == 3 else "(m)"))
        steps = np.arange(data.num_steps)
        self.executed.setData(steps, data.actions[:, d])
        parts = ([], [])  # per parity: list of (x [H], y [H])
        jumps_x, jumps_y = [], []
        previous = None
        for r in range(len(data.replan_steps)):
            replan = data.replan(r)
            if replan is None:
                continue
            plan = replan.executed_plan[:, d]
            xs = replan.step + np.arange(len(plan))
            parts[r % 2].append((xs, plan))
            if previous is not None:
                # where the previous prediction said we would be at this step, vs the new one
                px, py = previous
                k = replan.step - px[0]
                if 0 <= k < len(py):
                    jumps_x.append(replan.step)
                    jumps_y.append(plan[0])
            previous = (xs, plan)
        for item, segs in zip(self.chunks, parts):
            if segs:
                x = np.concatenate([s[0] for s in segs])
                y = np.concatenate([s[1] for s in segs])
                c = np.concatenate([np.r_[np.ones(len(s[0]) - 1, bool), False] for s in segs])
                item.setData(x, y, connect=c)
            else:
                item.setData([], [])
        self.switches.setData(jumps_x, jumps_y)
        jumps = self.switch_jumps(data, d) if len(data.replan_steps) > 1 else np.zeros(0)
        worst = ""
        if np.isfinite(jumps).any():
            k = int(np.nanargmax(jumps))
            unit, scale = ("", 1.0) if d == 3 else (" cm", 100.0)
            worst = (f" · largest jump at a switch: {jumps[k] * scale:.2f}{unit} "
                     f"(step {int(data.replan_steps[k + 1])})")
        self.setTitle(f"Chunk boundaries: {len(data.replan_steps)} replans{worst}", size="9pt")

    def set_cursor(self, step: int) -> None:
        self.cursor.setValue(step)

    @staticmethod
    def switch_jumps(data: RolloutData, dim: int) -> np.ndarray:
        """[R-1] |new plan's first waypoint - previous plan's prediction for that step| along
        `dim`, per chunk switch (NaN where the previous plan did not reach that far)."""
        out = []
        prev = None
        for r in range(len(data.replan_steps)):
            replan = data.replan(r)
            plan = replan.executed_plan[:, dim]
            if prev is not None:
                k = replan.step - prev[0]
                out.append(abs(plan[0] - prev[1][k]) if 0 <= k < len(prev[1]) else np.nan)
            prev = (replan.step, plan)
        return np.asarray(out, dtype=np.float64)


class ReplanPanel(QtWidgets.QWidget):
    """Tabs: plans at the current replan (top view) and the chunk-boundary view."""

    def __init__(self, palette: ModePalette | None = None, parent=None) -> None:
        super().__init__(parent)
        self.top_view = ReplanTopView(palette)
        self.chunk_view = ChunkBoundaryView()
        self.dim_box = QtWidgets.QComboBox(toolTip="Action dimension in the chunk-boundary view")
        self.dim_box.addItems(list(DIM_NAMES))
        self.dim_box.currentIndexChanged.connect(self.chunk_view.set_dim)
        chunk_page = QtWidgets.QWidget()
        chunk_layout = QtWidgets.QVBoxLayout(chunk_page)
        chunk_layout.setContentsMargins(0, 0, 0, 0)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Dimension:"))
        row.addWidget(self.dim_box)
        row.addStretch(1)
        chunk_layout.addLayout(row)
        chunk_layout.addWidget(self.chunk_view, 1)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.top_view, "Plans at replan (top view)")
        self.tabs.addTab(chunk_page, "Chunk boundaries")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)


def plans_gl_arrays(replan: ReplanRecord, palette: ModePalette,
                    alpha: float = 0.55) -> tuple[np.ndarray, np.ndarray]:
    """Every sampled plan as line segments for ONE GLLinePlotItem(mode="lines"):
    (positions [N*(H-1)*2, 3] metres, colours [N*(H-1)*2, 4] RGBA), coloured by mode, infeasible
    plans red, the executed plan white and opaque."""
    samples = replan.samples[..., :3]
    n, h = samples.shape[:2]
    seg = np.stack([samples[:, :-1], samples[:, 1:]], axis=2).reshape(n, (h - 1) * 2, 3)
    colours = np.empty((n, (h - 1) * 2, 4), np.float32)
    for i, label in enumerate(replan.mode_labels):
        hex_colour = palette.hex(label) if replan.feasible[i] else INFEASIBLE_HEX
        colours[i] = hex_to_rgba(hex_colour, alpha)
    if 0 <= replan.executed_index < n:
        colours[replan.executed_index] = hex_to_rgba(EXECUTED_HEX, 1.0)
    return seg.reshape(-1, 3).astype(np.float32), colours.reshape(-1, 4)
