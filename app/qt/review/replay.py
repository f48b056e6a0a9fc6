"""3-D replay of a recorded rollout in the central scene view.

The scene is put into the recorded simulator STATE of the step being drawn (`set_state`, one
[S] row read from the file), never re-simulated from actions, so what you see is what was
recorded. Overlays (in world metres): the executed end-effector path (grey), the plans sampled at
the replan in force, coloured by mode, as ONE GLLinePlotItem, and the executed chunk (white).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6 import QtCore, QtWidgets

from app.core.review.data import RolloutData
from app.qt.plots.mode_colors import hex_to_rgba
from app.qt.review.replan_view import ModePalette, plans_gl_arrays
from recordings.errors import UserFacingError
from scenes.replay import fit_state, live_pending

OVERLAY_KEYS = ("review_path", "review_plans", "review_chunk", "review_compare_path")
COMPARE_RGBA = (1.0, 0.54, 0.24, 0.9)   # the compared rollout's path, orange


BANNER_STYLE = ("QLabel { background: rgba(150, 30, 30, 225); color: white; font-weight: bold;"
                " padding: 6px 10px; border-radius: 4px; }")


class _Banner(QtCore.QObject):
    """A label over the top of the 3-D view that stays while the rollout cannot replay (a status
    message vanishes; a reviewer must never mistake a stale pose for this rollout's)."""

    def __init__(self, view: QtWidgets.QWidget) -> None:
        super().__init__(view)
        self.view = view
        self.label = QtWidgets.QLabel(view)
        self.label.setObjectName("replay_banner")
        self.label.setWordWrap(True)
        self.label.setStyleSheet(BANNER_STYLE)
        self.label.hide()
        view.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802  Qt API
        if obj is self.view and event.type() == QtCore.QEvent.Resize:
            self.place()
        return False

    def place(self) -> None:
        width = max(self.view.width() - 16, 100)
        self.label.setFixedWidth(width)
        self.label.adjustSize()
        self.label.move(8, 8)

    def set_text(self, text: str) -> None:
        if text:
            self.label.setText("3-D replay off — " + text + ". The scene shows the rollout's "
                               "start (reset), not its recorded states.")
            self.place()
            self.label.show()
            self.label.raise_()
        else:
            self.label.hide()


class SceneReplay:
    """Drives `window.session` (the live SceneSession) and `window.scene_view` for review."""

    def __init__(self, window: Any, palette: ModePalette) -> None:
        self.window = window
        self.palette = palette
        self.data: RolloutData | None = None
        self._replan_index = -2
        self.problem = ""          # why the 3-D view cannot replay this rollout ("" when it can)
        self._items: dict[str, Any] = {}
        self.visible = False
        self._banner: _Banner | None = None

    @property
    def banner_text(self) -> str:
        """The text of the banner over the 3-D view ("" when hidden)."""
        b = self._banner
        return b.label.text() if b is not None and not b.label.isHidden() else ""

    def _show_problem(self) -> None:
        """Banner on (or off) for self.problem; on a problem the live scene is reset to the
        rollout's seed so no earlier rollout's pose is left on screen."""
        view = getattr(self.window, "scene_view", None)
        if view is None:
            return
        if self._banner is None:
            if not self.problem:
                return
            self._banner = _Banner(view)
        self._banner.set_text(self.problem if self.visible else "")
        if self.problem and self.visible:
            session = self.window.session
            try:
                if session.loaded:
                    session.reset(self.data.seed if self.data is not None else None)
            except Exception:  # noqa: BLE001  the banner already says replay is off
                pass

    # ---- overlays
    def _make_items(self) -> None:
        if self._items:
            return
        import pyqtgraph.opengl as gl
        self._items = {
            "review_path": gl.GLLinePlotItem(pos=np.zeros((2, 3)), color=(0.7, 0.7, 0.7, 0.9),
                                             width=2.0, mode="line_strip", antialias=True),
            # hundreds of plans: smoothed GL lines cost ~25 ms a frame on software GL
            "review_plans": gl.GLLinePlotItem(pos=np.zeros((2, 3)), color=(1, 1, 1, 0.0),
                                              width=1.5, mode="lines", antialias=False),
            "review_chunk": gl.GLLinePlotItem(pos=np.zeros((2, 3)),
                                              color=hex_to_rgba("#FFFFFF", 1.0), width=4.0,
                                              mode="line_strip", antialias=True),
            "review_compare_path": gl.GLLinePlotItem(pos=np.zeros((2, 3)), color=(0, 0, 0, 0),
                                                     width=2.0, mode="line_strip",
                                                     antialias=True),
        }
        for item in self._items.values():
            item.setGLOptions("translucent")

    def show(self, visible: bool) -> None:
        """Add the overlays to the scene view (review workspace) or take them out."""
        view = getattr(self.window, "scene_view", None)
        if view is None:
            return
        self.visible = visible
        if visible:
            self._make_items()
            for key, item in self._items.items():
                if view.overlay(key) is None:
                    view.add_overlay(key, item)
        else:
            for key in OVERLAY_KEYS:
                if view.overlay(key) is not None:
                    view.remove_overlay(key)
        if self._banner is not None:
            self._banner.set_text(self.problem if visible else "")

    # ---- rollout and step
    def set_rollout(self, data: RolloutData | None, scene_name: str) -> None:
        """Prepare the live scene for `data` (load the recording's scene if another is live)."""
        self.data = data
        self._replan_index = -2
        self.problem = ""
        self._show_problem()
        if data is None or not self.visible:
            return
        if not data.has_states:
            self.problem = "this file has no simulator states: the 3-D view cannot replay it"
            self._show_problem()
            return
        session = self.window.session
        live = session.loaded and (not scene_name or session.scene_name == scene_name)
        if not live:
            try:
                from scenes import scene_names
                known = scene_names()
            except Exception:  # noqa: BLE001  scenes unavailable: nothing to replay into
                known = ()
            if scene_name and scene_name not in known:
                self.problem = (f"scene {scene_name!r} of this recording is not installed: "
                                "the 3-D view cannot replay it")
                self._show_problem()
                return
            if not self.window.load_scene(scene_name or None):
                self.problem = f"scene {scene_name or session.scene_name!r} could not be loaded"
                self._show_problem()
                return
        if self.visible:
            path = np.asarray(data.ee_path, dtype=np.float32)
            self._items["review_path"].setData(pos=path if len(path) > 1 else np.zeros((2, 3)))
            self._focus(path)

    def _focus(self, path: np.ndarray) -> None:
        """Look at the region the end effector worked in, once per scene (the user's own camera
        moves are kept after that)."""
        view = self.window.scene_view
        if getattr(self, "_focused", False) or len(path) == 0:
            return
        from pyqtgraph import Vector
        self._focused = True
        centre = (path.min(axis=0) + path.max(axis=0)) / 2
        view.setCameraPosition(pos=Vector(float(centre[0]), float(centre[1]), 0.12),
                               distance=2.0, elevation=35, azimuth=-30)

    def set_compare_path(self, path: np.ndarray | None) -> None:
        """Overlay the compared rollout's end-effector path [T, 3] (None hides it); its
        simulator state is not replayed (one scene, one state)."""
        if not self._items:
            return
        item = self._items["review_compare_path"]
        if path is None or len(path) < 2:
            item.setData(pos=np.zeros((2, 3)), color=(0, 0, 0, 0))
        else:
            item.setData(pos=np.asarray(path, np.float32), color=COMPARE_RGBA)

    def draw(self, step: int) -> None:
        """Put the scene in the recorded state of `step` and update the plan overlays."""
        data = self.data
        if data is None or not self.visible:
            return  # another workspace owns the live scene now; redrawn when review returns
        if not self.problem:
            try:
                state = data.state_at(step)
                if state is not None:
                    session = self.window.session
                    # a delay-perturbed rollout's states carry its pending actions: fit them
                    # to the live (nominal) scene's layout; the poses are what is drawn
                    size = getattr(session.scene, "state_size", None)
                    if size is not None:
                        state = fit_state(state, data.state_layout, int(size),
                                          live_pending(session.scene))
                    session.set_state(state, step)
            except UserFacingError as exc:
                self.problem = str(exc)
            except Exception as exc:  # noqa: BLE001  a state of another scene's size, etc.
                self.problem = f"recorded state does not fit the live scene ({exc})"
            if self.problem:
                self._show_problem()
                if hasattr(self.window, "status"):
                    self.window.status(f"3-D replay off: {self.problem}", 8000)
        if not self.visible:
            return
        index = data.replan_index_at(step)
        if index != self._replan_index:
            self._replan_index = index
            replan = data.replan(index)
            plans, chunk = self._items["review_plans"], self._items["review_chunk"]
            if replan is None:
                plans.setData(pos=np.zeros((2, 3)), color=(0, 0, 0, 0))
                chunk.setData(pos=np.zeros((2, 3)), color=(0, 0, 0, 0))
            else:
                pos, colours = plans_gl_arrays(replan, self.palette)
                plans.setData(pos=pos, color=colours)
                c = replan.executed_chunk[:, :3]
                chunk.setData(pos=c if len(c) > 1 else np.zeros((2, 3)),
                              color=hex_to_rgba("#FFFFFF", 1.0))
