"""Mouse in the 3-D scene view: Shift+drag moves the observed mug on the table plane (what-if);
a plain click (press and release without moving) selects the plan drawn nearest the cursor.

The mouse ray is unprojected through the view's projection and view matrices and intersected
with the horizontal plane at the mug's height; the mug's new (x, y) goes to a callback
`on_move(x, y, finished)` (finished on release). Without Shift the view orbits as usual.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6 import QtCore, QtGui

from app.core.inspector.state import InspectorState, observed_positions


def view_projection(view) -> QtGui.QMatrix4x4:
    """The GL view's projection x view matrix over its whole widget (logical pixels)."""
    viewport = view.getViewport()
    return view.projectionMatrix(viewport, viewport) * view.viewMatrix()


def ray_plane_xy(view, px: float, py: float, z: float) -> tuple[float, float] | None:
    """World (x, y) where the ray through widget pixel (px, py) meets the plane at height z."""
    w, h = max(view.width(), 1), max(view.height(), 1)
    ndc_x, ndc_y = 2.0 * px / w - 1.0, 1.0 - 2.0 * py / h
    mvp = view_projection(view)
    inv, ok = mvp.inverted()
    if not ok:
        return None
    near = inv.map(QtGui.QVector4D(ndc_x, ndc_y, -1.0, 1.0))
    far = inv.map(QtGui.QVector4D(ndc_x, ndc_y, 1.0, 1.0))
    a = np.array([near.x(), near.y(), near.z()]) / near.w()
    b = np.array([far.x(), far.y(), far.z()]) / far.w()
    d = b - a
    if abs(d[2]) < 1e-9:
        return None
    t = (z - a[2]) / d[2]
    if t < 0:
        return None
    p = a + t * d
    return float(p[0]), float(p[1])


PICK_RADIUS_PX = 10.0


def project_points(view, points: np.ndarray) -> np.ndarray:
    """World points [..., 3] -> widget pixel coordinates [..., 2] (nan behind the camera)."""
    mvp = view_projection(view)
    m = np.array(mvp.data(), dtype=np.float64).reshape(4, 4).T     # Qt stores column-major
    flat = points.reshape(-1, 3)
    clip = np.c_[flat, np.ones(len(flat))] @ m.T
    w = clip[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        ndc = clip[:, :2] / w[:, None]
    px = np.stack([(ndc[:, 0] + 1) * 0.5 * view.width(), (1 - ndc[:, 1]) * 0.5 * view.height()], 1)
    px[w <= 0] = np.nan
    return px.reshape(*points.shape[:-1], 2)


def pick_plan(view, state: InspectorState, px: float, py: float,
              radius: float = PICK_RADIUS_PX) -> int | None:
    """Index of the visible plan with a waypoint within `radius` pixels of (px, py), nearest first."""
    paths = state.plans_at_step()
    if paths is None or not len(paths):
        return None
    visible = np.flatnonzero(state.visible_mask())
    if not visible.size:
        return None
    screen = project_points(view, np.asarray(paths[visible, :, :3], dtype=np.float64))
    d = np.hypot(screen[..., 0] - px, screen[..., 1] - py)
    d = np.where(np.isfinite(d), d, np.inf).min(axis=1)
    best = int(np.argmin(d))
    return int(visible[best]) if d[best] <= radius else None


class SceneMouse(QtCore.QObject):
    """Event filter on the 3-D view: Shift+drag moves the mug, a click picks a plan."""

    def __init__(self, view, state: InspectorState, on_move: Callable[[float, float, bool], None]) -> None:
        super().__init__(view)
        self.view = view
        self.state = state
        self.on_move = on_move
        self._dragging = False
        self._press: QtCore.QPointF | None = None
        view.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind == QtCore.QEvent.Type.MouseButtonPress and event.button() == QtCore.Qt.MouseButton.LeftButton:
            self._press = event.position()
        elif kind == QtCore.QEvent.Type.MouseButtonRelease and not self._dragging \
                and self._press is not None:
            moved = (event.position() - self._press).manhattanLength()
            self._press = None
            if moved <= 3:   # a click, not an orbit: pick a plan (the view still gets the event)
                index = pick_plan(self.view, self.state, event.position().x(), event.position().y())
                if index is not None:
                    self.state.select(index)
        if kind == QtCore.QEvent.Type.MouseButtonPress:
            if (event.button() == QtCore.Qt.MouseButton.LeftButton
                    and event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier
                    and "mug" in observed_positions(self.state.observation)):
                self._dragging = True
                self._emit(event, False)
                return True
        elif kind == QtCore.QEvent.Type.MouseMove and self._dragging:
            self._emit(event, False)
            return True
        elif kind == QtCore.QEvent.Type.MouseButtonRelease and self._dragging:
            self._dragging = False
            self._emit(event, True)
            return True
        return False

    def _emit(self, event, finished: bool) -> None:
        mug = observed_positions(self.state.observation).get("mug")
        if mug is None:
            return
        pos = event.position()
        hit = ray_plane_xy(self.view, pos.x(), pos.y(), float(mug[2]))
        if hit is not None:
            self.on_move(hit[0], hit[1], finished)
