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
from OpenGL import GL
from pyqtgraph import Vector
from pyqtgraph.opengl import shaders
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from PySide6 import QtCore, QtGui, QtOpenGL, QtWidgets

from app.core.mesh_io import MeshReadError
from app.qt.shell.gl_meshes import pose_matrix, shape_mesh

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
        void main() {
            vec3 n = normalize(u_normal * a_normal);
            float key = abs(dot(n, normalize(vec3(0.35, 0.55, 0.75))));
            float fill = abs(dot(n, normalize(vec3(-0.6, -0.2, 0.4))));
            v_color = vec4(min(a_color.rgb * (0.32 + 0.58 * key + 0.18 * fill), vec3(1.0)), a_color.a);
            gl_Position = u_mvp * a_position;
        }
    """),
    shaders.FragmentShader("""
        #ifdef GL_ES
        precision mediump float;
        #endif
        varying vec4 v_color;
        void main() {
            gl_FragColor = v_color;
        }
    """),
])


# The window container deletes its surface, but a QObject made in Python without a parent is
# Python's: PySide deletes it at exit (its clean-up visits wrappers in no set order), and
# ~QApplication then meets the container with a dangling window (segfault). Constructed with a
# QWindow parent, the surface is C++'s from the start; createWindowContainer then reparents it
# (on the C++ side only), and this never-shown placeholder parent stays empty.
_PLACEHOLDER: list = []


def _placeholder_parent() -> QtGui.QWindow:
    if not _PLACEHOLDER:
        _PLACEHOLDER.append(QtGui.QWindow())
    return _PLACEHOLDER[0]


class _GLSurface(GLViewMixin, QtOpenGL.QOpenGLWindow):
    """The GL half of a SceneView: pyqtgraph's GL view logic on a native QOpenGLWindow.

    A QOpenGLWidget makes Qt compose its WHOLE top-level window through OpenGL on every repaint
    (under software GL: 20-40 ms for any status message or plot update). A native child window
    is presented on its own, so the rest of the window keeps the raster backing store."""

    def __init__(self, owner: "SceneView") -> None:
        self._stale = True   # set by update(), cleared by a painted frame
        super().__init__(parent=_placeholder_parent())
        self._owner = owner
        fmt = QtGui.QSurfaceFormat.defaultFormat()
        fmt.setDepthBufferSize(24)
        fmt.setSwapInterval(0)   # never block the GUI thread waiting for a (virtual) vblank
        self.setFormat(fmt)

    def update(self) -> None:
        self._stale = True
        super().update()

    def event(self, event: QtCore.QEvent) -> bool:
        # an update request whose frame a synchronous repaint() already drew: skip, do not
        # paint the same frame twice
        kind = event.type()
        if kind == QtCore.QEvent.Type.UpdateRequest and not self._stale:
            return True
        if kind in (QtCore.QEvent.Type.Expose, QtCore.QEvent.Type.Resize):
            self._stale = True   # Qt repaints these itself (C++ update(), not ours)
        return super().event(event)

    def devicePixelRatioF(self) -> float:  # noqa: N802 (GLViewMixin expects QWidget's name)
        return float(self.devicePixelRatio())

    def rect(self) -> QtCore.QRect:
        """QWidget's rect(): GL items that paint text with QPainter (GLTextItem) ask for it."""
        return QtCore.QRect(0, 0, self.width(), self.height())

    def resizeGL(self, w: int, h: int) -> None:  # noqa: N802 (Qt override)
        self._owner._fit_fov(w, h)

    def paintGL(self) -> None:  # noqa: N802 (Qt override)
        start = time.perf_counter()
        self._stale = False
        GL.glViewport(0, 0, self.deviceWidth(), self.deviceHeight())
        GLViewMixin.paintGL(self)
        self._owner._frame_done((time.perf_counter() - start) * 1e3)

    def mouseDoubleClickEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        self._owner.mouseDoubleClickEvent(event)


class SceneView(QtWidgets.QWidget):
    """3-D mirror of a scene. See the module docstring for the overlay API.

    A plain widget holding the native GL window (`_GLSurface`) in a window container; the GL
    view API (opts, items, addItem, setCameraPosition, projectionMatrix, viewMatrix, makeCurrent,
    renderToArray, ...) is the surface's, reached through attribute delegation."""

    framePainted = QtCore.Signal(float)  # paint duration of the last frame, ms

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._surface = _GLSurface(self)
        self._container = QtWidgets.QWidget.createWindowContainer(self._surface, self)
        self._container.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._container)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)
        self.setBackgroundColor(BACKGROUND)
        self.setMinimumSize(320, 240)
        self._links: list[gl.GLGraphicsItem] = []
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
        self.mesh_errors.clear()
        self.update()

    @property
    def link_nodes(self) -> list[gl.GLGraphicsItem]:
        """One scene-graph node per mirrored link (its shapes are the children), in describe()
        order; `planscope bench scene` counts and merges their triangles."""
        return list(self._links)

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

    def _frame_done(self, paint_ms: float) -> None:
        now = time.perf_counter()
        self.last_paint_ms = paint_ms
        self._frame_times.append(now)
        if len(self._frame_times) > 60:
            del self._frame_times[:-60]
        self.framePainted.emit(self.last_paint_ms)

    # ---- the GL view's API, delegated to the native surface ----------------------------------
    def __getattr__(self, name: str):
        # only reached for names QWidget and this class lack (opts, items, addItem, ...)
        try:
            surface = self.__dict__["_surface"]
        except KeyError:
            raise AttributeError(name) from None
        return getattr(surface, name)

    @property
    def surface(self) -> QtOpenGL.QOpenGLWindow:
        """The native GL window (for event filters and tests that need it)."""
        return self._surface

    def update(self, *args) -> None:  # noqa: D401 (Qt override)
        """Schedule a GL frame (and the widget's own, empty, paint)."""
        super().update(*args)
        self._surface.update()

    def repaint(self, *args) -> None:
        """Paint now, as QWidget.repaint() does: the GL frame is drawn and presented before
        this returns (update() only schedules it, on the surface's own update timer)."""
        super().repaint(*args)
        self._surface.update()
        if self._surface.isExposed():
            QtCore.QCoreApplication.sendEvent(self._surface,
                                              QtCore.QEvent(QtCore.QEvent.Type.UpdateRequest))

    def installEventFilter(self, obj: QtCore.QObject) -> None:  # noqa: N802 (Qt override)
        """Mouse and key events reach the native surface, not this widget: filter both."""
        super().installEventFilter(obj)
        self._surface.installEventFilter(obj)

    def removeEventFilter(self, obj: QtCore.QObject) -> None:  # noqa: N802 (Qt override)
        super().removeEventFilter(obj)
        self._surface.removeEventFilter(obj)

    def setFocus(self, *args) -> None:  # noqa: N802 (Qt override)
        self._container.setFocus(*args)

    def _ensure_context(self) -> bool:
        """Create the surface's GL context if it has none yet (never shown). False if it cannot."""
        surface = self._surface
        if not surface.isValid():
            surface.create()
            size = QtCore.QSize(max(self.width(), 1), max(self.height(), 1))
            if surface.size() != size:
                surface.resize(size)
            QtCore.QCoreApplication.sendEvent(surface, QtGui.QResizeEvent(size, size))
        return surface.isValid()

    def grabFramebuffer(self) -> QtGui.QImage:  # noqa: N802 (QOpenGLWidget's name)
        """The view as it is drawn now, at its size in device pixels.

        An exposed surface draws a frame into its back buffer and reads it before any swap (a
        presented back buffer is undefined), so QPainter-drawn items (GLTextItem) are included;
        a hidden one renders off-screen (`render_image`, without QPainter text)."""
        surface = self._surface
        if surface.isExposed() and surface.isValid():
            surface.makeCurrent()
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, surface.defaultFramebufferObject())
            surface.paintGL()
            GL.glFinish()
            image = surface.grabFramebuffer()
            if not image.isNull():
                return image
        dpr = surface.devicePixelRatio()
        w, h = max(int(self.width() * dpr), 1), max(int(self.height() * dpr), 1)
        rgba = self.render_image(w, h)
        image = QtGui.QImage(rgba.data, w, h, 4 * w, QtGui.QImage.Format.Format_RGBA8888).copy()
        image.setDevicePixelRatio(dpr)
        return image

    def fps(self) -> float:
        """Frames painted per second over the last (up to) 60 frames and 2 s; 0 when idle."""
        now = time.perf_counter()
        recent = [t for t in self._frame_times if now - t < 2.0]
        if len(recent) < 3:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    def render_image(self, width: int | None = None, height: int | None = None) -> np.ndarray:
        """Render the view off-screen at width x height pixels -> [h, w, 4] uint8 RGBA.

        Works while the widget is hidden: the native surface gets its GL context on demand
        (under a real or virtual X display)."""
        width = int(width or max(self.width(), 1))
        height = int(height or max(self.height(), 1))
        if not self._ensure_context():
            raise RuntimeError("the 3-D view has no OpenGL context (no display?)")
        self._fit_fov(width, height)
        try:
            bgra = self._surface.renderToArray((width, height))
        finally:
            self._fit_fov(self._surface.width(), self._surface.height())
            self._surface.doneCurrent()
        return np.ascontiguousarray(bgra[..., [2, 1, 0, 3]])


def gl_views(widget: QtWidgets.QWidget) -> list:
    """Every GL view under `widget`: pyqtgraph GLViewWidgets and SceneViews (a SceneView is a
    plain widget around a native GL window, so findChildren(GLViewWidget) misses it). Each
    has grabFramebuffer(), items, opts and setBackgroundColor()."""
    return list(widget.findChildren(gl.GLViewWidget)) + list(widget.findChildren(SceneView))
