"""Mesh readers for the scene view: OBJ (polygons, negative indices, MTL colours), ASCII and
binary STL, clear errors, simplification, and the on-disk cache."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from app.core import mesh_io
from app.core.mesh_io import MeshReadError, read_mesh, simplify

QUAD_OBJ = """mtllib quad.mtl
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
usemtl red
f 1/1/1 2/1/1 3/1/1 4/1/1
usemtl blue
f -4 -2 -1
"""
QUAD_MTL = "newmtl red\nKd 1 0 0\nnewmtl blue\nKd 0 0 1\n"


def test_obj_polygons_are_triangulated_with_material_colours(tmp_path):
    (tmp_path / "quad.obj").write_text(QUAD_OBJ)
    (tmp_path / "quad.mtl").write_text(QUAD_MTL)
    mesh = read_mesh(str(tmp_path / "quad.obj"))
    assert mesh.vertices.shape == (4, 3)
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 2, 3], [0, 2, 3]])
    np.testing.assert_allclose(mesh.face_colors[:, :3], [[1, 0, 0], [1, 0, 0], [0, 0, 1]])


def test_ascii_and_binary_stl(tmp_path):
    tri = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    ascii_stl = "solid t\nfacet normal 0 0 1\nouter loop\n" + "".join(
        f"vertex {x} {y} {z}\n" for x, y, z in tri) + "endloop\nendfacet\nendsolid t\n"
    (tmp_path / "a.stl").write_text(ascii_stl)
    binary = b"\0" * 80 + struct.pack("<I", 1) + struct.pack("<12fH", 0, 0, 1, *tri.ravel(), 0)
    (tmp_path / "b.stl").write_bytes(binary)
    for name in ("a.stl", "b.stl"):
        mesh = read_mesh(str(tmp_path / name))
        np.testing.assert_allclose(mesh.vertices, tri)
        assert mesh.faces.shape == (1, 3) and mesh.face_colors is None


@pytest.mark.parametrize("name, content, message", [
    ("missing.obj", None, "not found"),
    ("empty.obj", "# nothing\n", "no vertices"),
    ("bad.obj", "v 0 0 0\nf 1 2 3\n", "out of range"),
    ("short.stl", b"\0" * 80 + struct.pack("<I", 5), "truncated"),
    ("mesh.dae", "<collada/>", "unsupported"),
])
def test_bad_mesh_files_raise_one_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(MeshReadError, match=message):
        read_mesh(str(path))


def test_simplify_merges_close_vertices_and_drops_collapsed_faces():
    rng = np.random.default_rng(0)
    from pyqtgraph.opengl import MeshData
    sphere = MeshData.sphere(rows=60, cols=80, radius=0.1)
    mesh = mesh_io.TriMesh(sphere.vertexes().astype(np.float32), sphere.faces().astype(np.int32),
                           rng.random((len(sphere.faces()), 4)).astype(np.float32))
    small = simplify(mesh, 0.02)
    assert 100 < len(small.faces) < len(mesh.faces) / 2
    assert len(small.face_colors) == len(small.faces)
    radius = np.linalg.norm(small.vertices, axis=1)
    assert np.all(np.abs(radius - 0.1) < 0.02)        # the shape is kept within a cell


def test_disk_cache_returns_the_same_mesh_without_parsing(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "quad.obj").write_text(QUAD_OBJ)
    (tmp_path / "quad.mtl").write_text(QUAD_MTL)
    first = read_mesh(str(tmp_path / "quad.obj"), 0.5)
    mesh_io._read_simplified.cache_clear()
    mesh_io._read_cached.cache_clear()
    monkeypatch.setattr(mesh_io, "_read_obj", lambda path: pytest.fail("parsed again"))
    second = read_mesh(str(tmp_path / "quad.obj"), 0.5)
    np.testing.assert_array_equal(first.faces, second.faces)
    np.testing.assert_allclose(first.face_colors, second.face_colors)
