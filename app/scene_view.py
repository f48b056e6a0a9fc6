"""SceneView: the central 3-D view, a pyqtgraph.opengl mirror of a PyBullet scene.

The static shapes come from `Scene.describe()` once (`set_scene`): one transform node per link
with one GLMeshItem child per visual shape (URDF mesh or primitive, in its local pose). Every frame
only the link nodes' transforms change (`set_poses` / `refresh_poses`), nothing is re-created.

Extension points for feature views (inspector plans, review trajectories, ...):

    view.add_overlay("plans", item)     # any GLGraphicsItem, drawn in world coordinates (metres)
    view.overlay("plans")               # -> the item or None
    view.remove_overlay("plans")
    view.set_pose_source(callable)      # () -> [L, 7] poses; `refresh_poses()` pulls from it
    view.render_image(w, h)             # -> [h, w, 4] uint8 RGBA, rendered off-screen

Orbit (left drag), pan (middle drag or ctrl+left), zoom (wheel) are pyqtgraph's; `reset_view()`
(or a double-click) returns to the default camera looking at the scene's workspace.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

import numpy as np
import pyqtgraph.opengl as gl
from pyqtgraph import Vector
from pyqtgraph.opengl import shaders
from PySide6 import QtCore, QtGui

from app.gl_meshes import pose_matrix, shape_mesh
from app.mesh_io import MeshReadError

if TYPE_CHECKING:
    from scenes.api import SceneDescription

BACKGROUND = (30, 33, 38)        # matches the dark theme's base colour
VERTICAL_FOV_DEG = 27.0          # kept constant on resize; pyqtgraph's opts["fov"] is horizontal
MIN_HORIZONTAL_FOV_DEG = 33.0    # ... unless the view is narrow: then the width is kept
GRID_COLOR = (120, 130, 145, 70)

# Key light from above-front plus a dimmer fill from the other side, two-sided, so meshes with
# inconsistent normals (common in URDF assets) never render black.
_LIT = shaders.ShaderProgram("planscope_lit", [
    shaders.VertexShader("""
        uniform mat4 u_mvp;
        uniform mat3 u_normal;
        attribute vec4 a_position;
        attribute vec3 a_normal;
        attribute vec4 a_color;
        varying vec4 v_color;
        varying vec3 v_normal;
        void main() {
            v_normal = normalize(u_normal * a_normal);
            v_color = a_color;
            gl_Position = u_mvp * a_position;
        }
    """),
    shaders.FragmentShader("""
        #ifdef GL_ES
        precision mediump float;
        #endif
        varying vec4 v_color;
        varying vec3 v_normal;
        void main() {
            vec3 n = normalize(v_normal);
            float key = abs(dot(n, normalize(vec3(0.35, 0.55, 0.75))));
            float fill = abs(dot(n, normalize(vec3(-0.6, -0.2, 0.4))));
            vec3 rgb = v_color.rgb * (0.32 + 0.58 * key + 0.18 * fill);
            gl_FragColor = vec4(min(rgb, vec3(1.0)), v_color.a);
        }
    """),
])


class SceneView(gl.GLViewWidget):
    """3-D mirror of a scene. See the module docstring for the overlay API."""

    framePainted = QtCore.Signal(float)  # paint duration of the last frame, ms

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackgroundColor(BACKGROUND)
        self.setMinimumSize(320, 240)
        self._links: list[gl.GLGraphicsItem] = []
        self._link_names: list[tuple[str, int]] = []
        self._overlays: dict[str, gl.GLGraphicsItem] = {}
        self._pose_source: Callable[[], np.ndarray] | None = None
        self._workspace = ((-0.2, -0.6, 0.0), (1.0, 0.6, 0.9))
        self._frame_times: list[float] = []
        self.last_paint_ms = 0.0
        self.mesh_errors: list[str] = []
        self.grid = gl.GLGridItem(color=GRID_COLOR)
        self.grid.setSize(6, 6)
        self.grid.setSpacing(0.25, 0.25)
        self.addItem(self.grid)
        self.reset_view()

    # ---- scene mirror -----------------------------------------------------------------------
    def set_scene(self, description: "SceneDescription", poses: np.ndarray | None = None) -> None:
        """Build the mirror from a scene description (static shapes, once). `poses` [L, 7]."""
        self.clear_scene()
        self._workspace = description.workspace
        for link in description.links:
            node = gl.GLGraphicsItem.GLGraphicsItem()
            # identical shapes at the same pose draw nothing new (PyBullet can report one per
            # material of a mesh file); drawing them once keeps the frame time down
            for shape in dict.fromkeys(link.shapes):
                try:
                    mesh, _has_colors = shape_mesh(shape)  # face colours win over rgba
                except (MeshReadError, ValueError) as exc:
                    # one broken asset should not hide the rest of the scene; the window reports it
                    self.mesh_errors.append(f"{link.body}[{link.link_index}]: {exc}")
                    continue
                item = gl.GLMeshItem(meshdata=mesh, smooth=False, shader=_LIT,
                                     color=tuple(shape.rgba), drawEdges=False,
                                     glOptions="translucent" if shape.rgba[3] < 0.99 else "opaque")
                item.setTransform(QtGui.QMatrix4x4(
                    pose_matrix(shape.local_position, shape.local_orientation).ravel().tolist()))
                item.setParentItem(node)
            self.addItem(node)
            self._links.append(node)
            self._link_names.append((link.body, link.link_index))
        if poses is not None:
            self.set_poses(poses)
            self._put_grid_on_floor(description, poses)
        self.reset_view()

    def _put_grid_on_floor(self, description: "SceneDescription", poses: np.ndarray) -> None:
        """Move the ground grid to the lowest point of the scene (e.g. under the table's legs)
        so it never z-fights with a surface at z = 0."""
        lowest = 0.0
        for node, pose in zip(self._links, np.asarray(poses, dtype=np.float64)):
            link_t = pose_matrix(pose[:3], pose[3:7])
            for item in node.childItems():
                md = item.opts.get("meshdata")
                if md is None:
                    continue
                local = np.array(item.transform().data(), dtype=np.float64).reshape(4, 4).T
                verts = md.vertexes()
                world_z = (link_t @ local)[2, :3] @ verts.T + (link_t @ local)[2, 3]
                lowest = min(lowest, float(world_z.min()))
        self.grid.resetTransform()
        self.grid.translate(0, 0, lowest - 1e-3)

    def clear_scene(self) -> None:
        for node in self._links:
            self.removeItem(node)
        self._links.clear()
        self._link_names.clear()
        self.mesh_errors.clear()
        self.update()

    @property
    def link_names(self) -> list[tuple[str, int]]:
        """(body, link_index) per mirrored link, in describe() order."""
        return list(self._link_names)

    def set_poses(self, poses: np.ndarray) -> None:
        """poses [L, 7]: xyz (m) + quaternion xyzw per link, in describe().links order."""
        poses = np.asarray(poses, dtype=np.float64)
        if len(poses) != len(self._links):
            raise ValueError(f"got {len(poses)} link poses for {len(self._links)} mirrored links")
        for node, pose in zip(self._links, poses):
            node.setTransform(QtGui.QMatrix4x4(pose_matrix(pose[:3], pose[3:7]).ravel().tolist()))
        self.update()

    def set_pose_source(self, source: Callable[[], np.ndarray] | None) -> None:
        """Where `refresh_poses()` reads link poses from (e.g. `session.link_poses`)."""
        self._pose_source = source

    def refresh_poses(self) -> None:
        """Pull the current link poses from the pose source and redraw."""
        if self._pose_source is not None and self._links:
            self.set_poses(self._pose_source())

    # ---- overlays ---------------------------------------------------------------------------
    def add_overlay(self, key: str, item: gl.GLGraphicsItem) -> gl.GLGraphicsItem:
        """Add (or replace) the overlay stored under `key`; returns the item."""
        self.remove_overlay(key)
        self._overlays[key] = item
        self.addItem(item)
        return item

    def remove_overlay(self, key: str) -> None:
        item = self._overlays.pop(key, None)
        if item is not None and item in self.items:
            self.removeItem(item)

    def overlay(self, key: str) -> gl.GLGraphicsItem | None:
        return self._overlays.get(key)

    def overlay_keys(self) -> list[str]:
        return list(self._overlays)

    # ---- camera -----------------------------------------------------------------------------
    def reset_view(self) -> None:
        """Default camera: in front of the robot, slightly raised, framing the workspace."""
        lo, hi = (np.asarray(v, dtype=float) for v in self._workspace)
        center = (lo + hi) / 2
        # robots stand at the workspace's low-x side: pull the target toward them a little
        center[0] -= 0.15 * (hi[0] - lo[0])
        center[2] = lo[2] + 0.4 * (hi[2] - lo[2])
        extent = float(np.linalg.norm(hi - lo))
        self.setCameraPosition(pos=Vector(*center), distance=max(1.5, 2.5 * extent),
                               elevation=26, azimuth=-40)

    def mouseDoubleClickEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        """Double-click: back to the default camera (same as View ▸ Reset view)."""
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.reset_view()
            self.update()
            event.accept()
        else:
            super().mouseDoubleClickEvent(event)

    # ---- rendering --------------------------------------------------------------------------
    def _fit_fov(self, width: int, height: int) -> None:
        """Keep the vertical field of view fixed, so a narrower view (docks open) shows the
        same height of the scene instead of shrinking it, down to a minimum horizontal field."""
        aspect = max(width, 1) / max(height, 1)
        half = np.radians(VERTICAL_FOV_DEG / 2)
        horizontal = float(np.degrees(2 * np.arctan(np.tan(half) * aspect)))
        # a tall, narrow view (wide docks) keeps a minimum horizontal field instead of cropping
        self.opts["fov"] = max(horizontal, MIN_HORIZONTAL_FOV_DEG)

    def resizeGL(self, w: int, h: int) -> None:  # noqa: N802 (Qt override)
        self._fit_fov(w, h)
        super().resizeGL(w, h)

    def paintGL(self) -> None:  # noqa: N802 (Qt override)
        start = time.perf_counter()
        super().paintGL()
        now = time.perf_counter()
        self.last_paint_ms = (now - start) * 1e3
        self._frame_times.append(now)
        if len(self._frame_times) > 60:
            del self._frame_times[:-60]
        self.framePainted.emit(self.last_paint_ms)

    def fps(self) -> float:
        """Frames painted per second over the last (up to) 60 frames and 2 s; 0 when idle."""
        now = time.perf_counter()
        recent = [t for t in self._frame_times if now - t < 2.0]
        if len(recent) < 3:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    def render_image(self, width: int | None = None, height: int | None = None) -> np.ndarray:
        """Render the view off-screen at width x height pixels -> [h, w, 4] uint8 RGBA.

        Works while the widget is hidden as long as it has a GL context (it was shown once, or
        the window was created under a real or virtual X display)."""
        width = int(width or max(self.width(), 1))
        height = int(height or max(self.height(), 1))
        self._fit_fov(width, height)
        try:
            bgra = self.renderToArray((width, height))
        finally:
            self._fit_fov(self.width(), self.height())
        return np.ascontiguousarray(bgra[..., [2, 1, 0, 3]])
