"""3-D overlays of the inspector in the scene view (pyqtgraph.opengl, world metres).

- every plan at the current chain step as ONE GLLinePlotItem (mode="lines": vertex pairs, one
  colour per vertex, so mode colours cost nothing extra); infeasible final plans fainter;
- the selected plan: a thick white strip with its waypoints;
- red points at the first colliding waypoint of each infeasible plan;
- the baseline's plan: a thick magenta strip;
- the observation: the end-effector target (blue point) and the mug (ring at its base height,
  a tick for its yaw);
- a recorded frame (state.data) whose actions are hand positions: its demonstrated chunk (chartreuse)
  and the K nearest frames' chunks (grey) with the plans; other action spaces are not positions,
  so nothing of them is drawn in 3-D (the chain dock's curves and PCA show them).
Items are created once and updated with setData; the view owns them through `add_overlay`.
"""
from __future__ import annotations


import numpy as np
import pyqtgraph.opengl as gl
from PySide6 import QtCore

from app.core.clock import default_clock
from app.core.inspector.state import InspectorState, observed_positions, preview_subset
from app.qt.plots.mode_colors import BASELINE_HEX, INFEASIBLE_HEX, SELECTED_HEX, hex_to_rgba, label_colours
from app.qt.plots.dataset_inspection import DEMO_HEX
from app.qt.plots.plan_projection import plan_alpha

KEY_PREFIX = "inspector."
BATCH_3D_DELAY_MS = 1
PARTIAL_3D_S = 1.0   # a 3-D frame costs several 2-D frames: preview the 3-D cloud once a second
MUG_RING_RADIUS_M = 0.06


def segment_vertices(paths: np.ndarray, colours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """paths [M, H, >=3], colours [M, 4] -> (pos [M*(H-1)*2, 3], color [same, 4]) for mode="lines"."""
    m, h = paths.shape[:2]
    xyz = np.asarray(paths[:, :, :3], dtype=np.float32)
    pairs = np.stack([xyz[:, :-1], xyz[:, 1:]], axis=2).reshape(-1, 3)      # [M*(H-1)*2, 3]
    cols = np.repeat(np.asarray(colours, dtype=np.float32), (h - 1) * 2, axis=0)
    return pairs, cols


class PlanOverlay:
    """Owns the inspector's GL items and keeps them in step with an InspectorState.

    `attach(view)` adds the items to a SceneView-like object (add_overlay/remove_overlay) or,
    failing that, to a plain GLViewWidget (addItem)."""

    def __init__(self, state: InspectorState) -> None:
        self.state = state
        # no line smoothing: under software OpenGL (llvmpipe) it doubles the frame time
        self.plans = gl.GLLinePlotItem(mode="lines", width=1.5, antialias=False,
                                       glOptions="translucent")
        self.selected = gl.GLLinePlotItem(mode="line_strip", width=4.0,
                                          color=hex_to_rgba(SELECTED_HEX), glOptions="translucent")
        self.selected_points = gl.GLScatterPlotItem(size=7, color=hex_to_rgba(SELECTED_HEX),
                                                    glOptions="translucent")
        self.collisions = gl.GLScatterPlotItem(size=9, color=hex_to_rgba(INFEASIBLE_HEX),
                                               glOptions="translucent")
        self.baseline = gl.GLLinePlotItem(mode="line_strip", width=4.0,
                                          color=hex_to_rgba(BASELINE_HEX), glOptions="translucent")
        self.observation = gl.GLScatterPlotItem(size=13, glOptions="translucent")
        self.mug_ring = gl.GLLinePlotItem(mode="lines", width=2.0, glOptions="translucent",
                                          color=(0.85, 0.85, 0.85, 0.9))
        self.data_demo = gl.GLLinePlotItem(mode="line_strip", width=4.0, glOptions="translucent",
                                           color=hex_to_rgba(DEMO_HEX, 0.95))
        self.data_neighbours = gl.GLLinePlotItem(mode="lines", width=1.0, glOptions="translucent",
                                                 color=(0.6, 0.6, 0.6, 0.45))
        self.items = {"plans": self.plans, "selected": self.selected,
                      "selected_points": self.selected_points, "collisions": self.collisions,
                      "baseline": self.baseline, "observation": self.observation,
                      "mug_ring": self.mug_ring, "data_demo": self.data_demo,
                      "data_neighbours": self.data_neighbours}
        for item in self.items.values():
            item.setDepthValue(10)  # drawn after the opaque scene meshes
        self.view = None
        self._last_partial = 0.0
        ev = state.events
        for emitter in (ev.step, ev.selection, ev.isolation, ev.baseline, ev.observation):
            emitter.connect(lambda *_a: self._refresh_unless_pending())
        # A new batch redraws every view at once; the 3-D part follows one frame later so no
        # single frame (and GUI stall) pays for the 2-D views, the modes and the 3-D view together.
        self._pending = False
        ev.batch.connect(lambda *_a: self._refresh_next_frame())
        ev.partial.connect(self._on_partial)
        # the first 3-D preview comes PARTIAL_3D_S after sampling starts: a short (interactive)
        # sampling goes straight to its final plans without paying for a 3-D preview frame
        ev.sampling.connect(lambda running: running and setattr(self, "_last_partial", default_clock().now()))

    def _refresh_unless_pending(self) -> None:
        # a new batch's deferred refresh will draw the latest state anyway: drawing it now as
        # well would put the 3-D frame back into the same stall as the 2-D views
        if not self._pending:
            self.refresh()

    def _refresh_next_frame(self) -> None:
        if not self._pending:
            self._pending = True
            QtCore.QTimer.singleShot(BATCH_3D_DELAY_MS, self._deferred_refresh)

    def _deferred_refresh(self) -> None:
        self._pending = False
        self.refresh()

    def attach(self, view) -> None:
        self.view = view
        for key, item in self.items.items():
            if hasattr(view, "add_overlay"):
                view.add_overlay(KEY_PREFIX + key, item)
            else:
                view.addItem(item)
        self.refresh()

    def detach(self) -> None:
        if self.view is None:
            return
        for key, item in self.items.items():
            if hasattr(self.view, "remove_overlay"):
                self.view.remove_overlay(KEY_PREFIX + key)
            else:
                self.view.removeItem(item)
        self.view = None

    # ---- drawing -----------------------------------------------------------------------------
    def _set_lines(self, paths: np.ndarray | None, colours: np.ndarray | None) -> None:
        if paths is None or len(paths) == 0:
            self.plans.setData(pos=np.zeros((0, 3), np.float32), color=np.zeros((0, 4), np.float32))
            return
        pos, col = segment_vertices(paths, colours)
        self.plans.setData(pos=pos, color=col)

    def _positions_drawn(self) -> bool:
        """False while the plans are a recorded frame's actions that are not hand positions."""
        data = self.state.data
        return data is None or bool(data.end_effector)

    def _refresh_data(self) -> None:
        data = self.state.data
        empty = np.zeros((0, 3), np.float32)
        if data is None or not data.end_effector or data.plans.shape[2] < 3:
            self.data_demo.setData(pos=empty)
            self.data_neighbours.setData(pos=empty)
            return
        self.data_demo.setData(pos=np.asarray(data.demo[:, :3], np.float32))
        near = np.asarray(data.neighbours, np.float32)
        if len(near):
            pos, _ = segment_vertices(near, np.zeros((len(near), 4), np.float32))
            self.data_neighbours.setData(pos=pos)
        else:
            self.data_neighbours.setData(pos=empty)

    def refresh(self) -> None:
        state = self.state
        self._refresh_data()
        paths = state.plans_at_step() if self._positions_drawn() else None
        result = state.result
        if paths is not None:
            finite = np.isfinite(paths[..., :3].reshape(len(paths), -1)).all(axis=1)
            visible = state.visible_mask() & finite
            summary = result.summary if result is not None else None
            labels = summary.labels if summary is not None else np.full(len(paths), -1)
            alpha = plan_alpha(int(visible.sum())) / 255.0
            colours = label_colours(labels, alpha)
            final = state.step >= state.num_steps
            feas = result.feasibility if (result is not None and final) else None
            if feas is not None:
                # infeasible plans keep their mode colour (so modes stay readable when many
                # collide) but fainter; the red point at the colliding waypoint marks them
                colours[~feas.feasible, 3] *= 0.55
                bad = visible & ~feas.feasible & (feas.bad_waypoint >= 0)
                rows = np.flatnonzero(bad)
                points = paths[rows, feas.bad_waypoint[rows], :3] if rows.size else np.zeros((0, 3))
                self.collisions.setData(pos=np.asarray(points, np.float32))
            else:
                self.collisions.setData(pos=np.zeros((0, 3), np.float32))
            self._set_lines(paths[visible], colours[visible])
        else:
            self._set_lines(None, None)
            self.collisions.setData(pos=np.zeros((0, 3), np.float32))
        self._refresh_selected(paths)
        base = state.baseline_result.batch.plans[0, :, :3] if state.baseline_result is not None else None
        self.baseline.setData(pos=np.asarray(base if base is not None else np.zeros((0, 3)), np.float32))
        self._refresh_observation()

    def _refresh_selected(self, paths: np.ndarray | None) -> None:
        index = self.state.selected
        if paths is None or index is None or index >= len(paths):
            empty = np.zeros((0, 3), np.float32)
            self.selected.setData(pos=empty)
            self.selected_points.setData(pos=empty)
            return
        path = np.asarray(paths[index, :, :3], np.float32)
        self.selected.setData(pos=path)
        self.selected_points.setData(pos=path)

    def _refresh_observation(self) -> None:
        obs = self.state.observation if self._positions_drawn() else None
        found = observed_positions(obs)
        pts, cols = [], []
        if "ee" in found:
            pts.append(found["ee"])
            cols.append(hex_to_rgba("#56B4E9"))
        if "mug" in found:
            mug = found["mug"]
            angle = np.linspace(0, 2 * np.pi, 33)
            ring = np.stack([mug[0] + MUG_RING_RADIUS_M * np.cos(angle),
                             mug[1] + MUG_RING_RADIUS_M * np.sin(angle),
                             np.full_like(angle, mug[2] + 0.002)], axis=1)
            segs = np.stack([ring[:-1], ring[1:]], axis=1).reshape(-1, 3)
            yaw = obs.get("mug_yaw") if obs else None
            if yaw is not None and np.asarray(yaw).size >= 2:
                c, s = np.asarray(yaw, dtype=np.float64).reshape(-1)[:2]
                tip = mug + np.array([c, s, 0.0]) * MUG_RING_RADIUS_M * 1.6
                segs = np.concatenate([segs, np.stack([mug + [0, 0, 0.002], tip + [0, 0, 0.002]])])
            self.mug_ring.setData(pos=segs.astype(np.float32))
        else:
            self.mug_ring.setData(pos=np.zeros((0, 3), np.float32))
        self.observation.setData(pos=np.asarray(pts, np.float32).reshape(-1, 3),
                                 color=np.asarray(cols, np.float32).reshape(-1, 4))

    def _on_partial(self, partial) -> None:
        """Streamed x_t while sampling: grey, modes are not known yet. At most every
        PARTIAL_3D_S: a 3-D frame costs far more than a 2-D one under software OpenGL, and the
        GUI must stay responsive while sampling (the 2-D views follow every streamed step)."""
        if partial is None or partial.chain.shape[0] == 0 or not self._positions_drawn():
            return
        now = default_clock().now()          # the throttle reads the injectable clock
        if now - self._last_partial < PARTIAL_3D_S:
            return
        self._last_partial = now
        paths = partial.chain[-1][preview_subset(partial.num_samples)]
        finite = np.isfinite(paths[..., :3].reshape(len(paths), -1)).all(axis=1)
        colours = label_colours(np.full(len(paths), -1), plan_alpha(len(paths)) / 255.0)
        self._set_lines(paths[finite], colours[finite])
        self._refresh_selected(None)
        self.collisions.setData(pos=np.zeros((0, 3), np.float32))
