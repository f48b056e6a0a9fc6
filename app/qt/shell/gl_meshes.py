"""Triangle meshes for the scene view's visual shapes: URDF mesh files and primitives.

Everything returns pyqtgraph MeshData in the shape's own frame (metres), with per-face colours
when the mesh file has them, so one GLMeshItem draws one shape.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph.opengl as gl

from app.core.mesh_io import read_mesh

if TYPE_CHECKING:  # scenes/__init__ may import pybullet; keep it off the start-up path
    from scenes.api import VisualShape


# Visual meshes are simplified to this grid (metres) for drawing: software GL on a 2-core machine
# pays per triangle, and the Panda's meshes carry ~100k triangles of sub-millimetre detail.
MESH_CELL_M = 0.006


def shape_mesh(shape: "VisualShape", cell_m: float = MESH_CELL_M) -> tuple[gl.MeshData, bool]:
    """MeshData for one visual shape and whether it carries its own face colours."""
    kind = shape.kind
    if kind == "mesh":
        mesh = read_mesh(shape.mesh_file, cell_m)
        scale = np.asarray(shape.size[:3] if len(shape.size) >= 3 else (1.0, 1.0, 1.0), np.float32)
        colors = None
        if mesh.face_colors is not None:
            colors = mesh.face_colors * np.asarray(shape.rgba, np.float32)
        return gl.MeshData(vertexes=mesh.vertices * scale, faces=mesh.faces,
                           faceColors=colors), colors is not None
    if kind == "box":
        return _box(np.asarray(shape.size[:3], np.float32)), False
    if kind == "sphere":
        return gl.MeshData.sphere(rows=12, cols=20, radius=float(shape.size[0])), False
    if kind == "cylinder":
        return _cylinder(float(shape.size[0]), float(shape.size[1])), False
    if kind == "capsule":
        return _capsule(float(shape.size[0]), float(shape.size[1])), False
    if kind == "plane":
        return _box(np.array([5.0, 5.0, 0.0005], np.float32)), False
    raise ValueError(f"unknown visual shape kind {kind!r}")


def _box(half: np.ndarray) -> gl.MeshData:
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)],
                       np.float32) * half
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]], np.int32)
    return gl.MeshData(vertexes=corners, faces=faces)


def _cylinder(radius: float, length: float, cols: int = 24) -> gl.MeshData:
    """Closed cylinder along z, centred on the origin (URDF convention)."""
    angles = np.linspace(0, 2 * np.pi, cols, endpoint=False)
    ring = np.stack([np.cos(angles) * radius, np.sin(angles) * radius], axis=1)
    bottom = np.column_stack([ring, np.full(cols, -length / 2)])
    top = np.column_stack([ring, np.full(cols, length / 2)])
    verts = np.vstack([bottom, top, [[0, 0, -length / 2]], [[0, 0, length / 2]]]).astype(np.float32)
    i = np.arange(cols)
    j = (i + 1) % cols
    side = np.concatenate([np.stack([i, j, cols + j], 1), np.stack([i, cols + j, cols + i], 1)])
    caps = np.concatenate([np.stack([np.full(cols, 2 * cols), j, i], 1),
                           np.stack([np.full(cols, 2 * cols + 1), cols + i, cols + j], 1)])
    return gl.MeshData(vertexes=verts, faces=np.concatenate([side, caps]).astype(np.int32))


def _capsule(radius: float, length: float) -> gl.MeshData:
    """Cylinder plus two hemispheres (drawn as full spheres: cheaper, identical outline)."""
    parts = [_cylinder(radius, length)]
    for z in (-length / 2, length / 2):
        sphere = gl.MeshData.sphere(rows=8, cols=16, radius=radius)
        parts.append(gl.MeshData(vertexes=sphere.vertexes() + np.array([0, 0, z], np.float32),
                                 faces=sphere.faces()))
    verts, faces, offset = [], [], 0
    for part in parts:
        verts.append(part.vertexes())
        faces.append(part.faces() + offset)
        offset += len(part.vertexes())
    return gl.MeshData(vertexes=np.vstack(verts), faces=np.vstack(faces))


def pose_matrix(position: np.ndarray, quat_xyzw: np.ndarray) -> np.ndarray:
    """4x4 homogeneous transform [4, 4] from a position (m) and a unit quaternion (x, y, z, w)."""
    x, y, z, w = (float(v) for v in quat_xyzw)
    m = np.eye(4, dtype=np.float64)
    m[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                 [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    m[:3, 3] = position
    return m
