"""Shift+drag in the 3-D scene view moves the observed mug on the table plane (what-if).

The mouse ray is unprojected through the view's projection and view matrices and intersected
with the horizontal plane at the mug's height; the mug's new (x, y) goes to a callback
`on_move(x, y, finished)` (finished on release). Without Shift the view orbits as usual.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6 import QtCore, QtGui

from app.state.inspector import InspectorState, observed_positions


def ray_plane_xy(view, px: float, py: float, z: float) -> tuple[float, float] | None:
    """World (x, y) where the ray through widget pixel (px, py) meets the plane at height z."""
    w, h = max(view.width(), 1), max(view.height(), 1)
    ndc_x, ndc_y = 2.0 * px / w - 1.0, 1.0 - 2.0 * py / h
    mvp = view.projectionMatrix() * view.viewMatrix()
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


class MugDragger(QtCore.QObject):
    def __init__(self, view, state: InspectorState, on_move: Callable[[float, float, bool], None]) -> None:
        super().__init__(view)
        self.view = view
        self.state = state
        self.on_move = on_move
        self._dragging = False
        view.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
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
