"""Minimal readers for the mesh files URDFs reference (Wavefront OBJ and STL), numpy only.

Returns triangle soups the 3-D view can draw. trimesh is not a dependency: the scenes use
pybullet_data assets, which are plain OBJ (optionally with an MTL material and a palette texture,
as the Franka Panda's are) or STL, so a small reader is enough.

Parsed meshes are cached in memory per (path, mtime) because a scene references the same file
many times (e.g. the table's legs), and on disk (see `cache_dir()`) across runs.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class TriMesh:
    """vertices [V, 3] float32 (metres, mesh frame); faces [F, 3] int32 (indices into vertices);
    face_colors [F, 4] float32 RGBA in [0, 1] or None when the file carries no colour."""
    vertices: np.ndarray
    faces: np.ndarray
    face_colors: np.ndarray | None = None


class MeshReadError(ValueError):
    """A mesh file is missing or cannot be parsed."""


def read_mesh(path: str, cell_m: float = 0.0) -> TriMesh:
    """Read an .obj or .stl file (by extension). Raises MeshReadError on a bad file.

    cell_m > 0 simplifies the mesh by vertex clustering on a grid of that size (metres, in the
    mesh's own units before scaling): a visual-only simplification for the 3-D view."""
    if not os.path.isfile(path):
        raise MeshReadError(f"mesh file not found: {path}")
    stat = os.stat(path)
    key = f"{CACHE_VERSION}|{os.path.abspath(path)}|{stat.st_mtime_ns}|{stat.st_size}|{cell_m}"
    return _read_simplified(key, os.path.abspath(path), cell_m)


@lru_cache(maxsize=64)
def _read_simplified(key: str, path: str, cell_m: float) -> TriMesh:
    cached = _disk_cache_load(key)
    if cached is not None:
        return cached
    mesh = _read_cached(path, os.path.getmtime(path))
    if cell_m > 0:
        mesh = simplify(mesh, cell_m)
    _disk_cache_save(key, mesh)
    return mesh


# Parsing the Panda's OBJ files takes ~0.7 s of pure Python; the parsed, simplified arrays are
# kept in a small on-disk cache (~2 MB) so every later start mirrors the scene in milliseconds.
CACHE_VERSION = 1
CACHE_ENV = "PLANSCOPE_CACHE_DIR"


def cache_dir() -> str:
    directory = os.environ.get(CACHE_ENV)
    if not directory:
        from platformdirs import user_cache_dir
        directory = user_cache_dir("planscope")
    return os.path.join(directory, "meshes")


def _cache_file(key: str) -> str:
    import hashlib
    return os.path.join(cache_dir(), hashlib.sha1(key.encode()).hexdigest() + ".npz")


def _disk_cache_load(key: str) -> TriMesh | None:
    try:
        with np.load(_cache_file(key)) as data:
            if str(data["key"]) != key:
                return None
            colors = data["face_colors"] if "face_colors" in data.files else None
            return TriMesh(data["vertices"], data["faces"], colors)
    except (OSError, ValueError, KeyError):
        return None  # missing or unreadable: parse the file again


def _disk_cache_save(key: str, mesh: TriMesh) -> None:
    path = _cache_file(key)
    arrays = {"key": np.array(key), "vertices": mesh.vertices, "faces": mesh.faces}
    if mesh.face_colors is not None:
        arrays["face_colors"] = mesh.face_colors
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
    except OSError:
        pass  # a read-only cache only costs speed


def simplify(mesh: TriMesh, cell_m: float) -> TriMesh:
    """Vertex clustering: vertices in the same cell_m grid cell merge into their mean; faces that
    collapse or duplicate are dropped. Keeps silhouettes within ~cell_m; the Panda's visual meshes
    lose about half their triangles at 4 mm with no visible change at the view's scale.
    Small meshes (< 4000 faces, e.g. the mug) are returned as they are: little to gain there."""
    if len(mesh.faces) < 4000:
        return mesh
    key = np.floor(mesh.vertices / cell_m).astype(np.int64)
    _, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    count = np.bincount(inverse)
    sums = np.zeros((len(count), 3), np.float64)
    np.add.at(sums, inverse, mesh.vertices)
    vertices = (sums / count[:, None]).astype(np.float32)
    faces = inverse[mesh.faces]
    ok = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    faces = faces[ok]
    _, first = np.unique(np.sort(faces, axis=1), axis=0, return_index=True)
    keep = np.sort(first)
    colors = None if mesh.face_colors is None else mesh.face_colors[ok][keep]
    return TriMesh(vertices, faces[keep].astype(np.int32), colors)


@lru_cache(maxsize=64)
def _read_cached(path: str, _mtime: float) -> TriMesh:
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".obj":
            return _read_obj(path)
        if ext == ".stl":
            return _read_stl(path)
    except (OSError, ValueError, IndexError, struct.error) as exc:
        raise MeshReadError(f"cannot read mesh {path}: {exc}") from exc
    raise MeshReadError(f"unsupported mesh format {ext!r} (expected .obj or .stl): {path}")


def _read_obj(path: str) -> TriMesh:
    positions: list[str] = []
    uvs: list[str] = []
    face_v: list[int] = []          # flattened triangle vertex indices (0-based)
    face_uv: list[int] = []         # flattened uv indices, -1 where absent
    face_mtl: list[int] = []        # material index per triangle
    materials: list[str] = [""]
    mtllib = ""
    current = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            head = line[:2]
            if head == "v ":
                positions.append(line[2:])
            elif head == "vt":
                uvs.append(line[3:])
            elif head == "f ":
                tokens = line.split()[1:]
                idx = [_obj_index(t, len(positions), len(uvs)) for t in tokens]
                for k in range(1, len(idx) - 1):  # fan-triangulate polygons
                    for vi, ti in (idx[0], idx[k], idx[k + 1]):
                        face_v.append(vi)
                        face_uv.append(ti)
                    face_mtl.append(current)
            elif line.startswith("usemtl"):
                name = line.split(maxsplit=1)[1].strip() if len(line.split()) > 1 else ""
                if name not in materials:
                    materials.append(name)
                current = materials.index(name)
            elif line.startswith("mtllib"):
                mtllib = line.split(maxsplit=1)[1].strip()
    if not positions or not face_v:
        raise ValueError("no vertices or faces")
    vertices = np.loadtxt(positions, dtype=np.float32, ndmin=2)[:, :3]
    faces = np.asarray(face_v, dtype=np.int32).reshape(-1, 3)
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise ValueError("face index out of range")
    colors = None
    if mtllib:
        colors = _obj_face_colors(os.path.join(os.path.dirname(path), mtllib), materials,
                                  np.asarray(face_mtl), np.asarray(face_uv).reshape(-1, 3), uvs)
    return TriMesh(vertices, faces, colors)


def _obj_index(token: str, n_pos: int, n_uv: int) -> tuple[int, int]:
    parts = token.split("/")
    vi = int(parts[0])
    vi = vi - 1 if vi > 0 else n_pos + vi
    ti = -1
    if len(parts) > 1 and parts[1]:
        ti = int(parts[1])
        ti = ti - 1 if ti > 0 else n_uv + ti
    return vi, ti


def _read_mtl(path: str) -> dict[str, tuple[np.ndarray, str]]:
    """material name -> (Kd rgba [4], diffuse texture path or '')."""
    out: dict[str, tuple[np.ndarray, str]] = {}
    name = ""
    if not os.path.isfile(path):
        return out
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "newmtl":
                name = parts[1] if len(parts) > 1 else ""
                out[name] = (np.array([0.8, 0.8, 0.8, 1.0], np.float32), "")
            elif parts[0] == "Kd" and name in out:
                out[name] = (np.array([*map(float, parts[1:4]), 1.0], np.float32), out[name][1])
            elif parts[0] == "d" and name in out and len(parts) > 1:
                out[name][0][3] = float(parts[1])
            elif parts[0] == "map_Kd" and name in out:
                out[name] = (out[name][0], os.path.join(os.path.dirname(path), parts[-1]))
    return out


def _obj_face_colors(mtl_path: str, materials: list[str], face_mtl: np.ndarray,
                     face_uv: np.ndarray, uvs: list[str]) -> np.ndarray | None:
    """Per-face RGBA from the MTL: Kd, or the diffuse texture sampled at the face's UV centroid
    (the Panda's meshes colour themselves through a small palette texture)."""
    table = _read_mtl(mtl_path)
    if not table:
        return None
    colors = np.tile(np.array([0.8, 0.8, 0.8, 1.0], np.float32), (len(face_mtl), 1))
    uv = np.loadtxt(uvs, dtype=np.float32, ndmin=2)[:, :2] if uvs else None
    for m, name in enumerate(materials):
        if name not in table:
            continue
        sel = face_mtl == m
        kd, texture = table[name]
        colors[sel] = kd
        if texture and uv is not None and os.path.isfile(texture):
            ids = face_uv[sel]
            ok = (ids >= 0).all(axis=1)
            if not ok.any():
                continue
            centroid = uv[ids[ok]].mean(axis=1) % 1.0            # [F', 2]
            image = _read_texture(texture)                        # [h, w, 4] float
            h, w = image.shape[:2]
            px = np.clip((centroid[:, 0] * w).astype(int), 0, w - 1)
            py = np.clip(((1.0 - centroid[:, 1]) * h).astype(int), 0, h - 1)
            rows = np.flatnonzero(sel)[ok]
            if len(rows) < 64:
                # a few large faces (a table top) span the whole texture: sampling one texel per
                # face would give each triangle a different shade, so use the texture's mean
                colors[rows] = image.reshape(-1, 4).mean(axis=0) * kd
            else:
                colors[rows] = image[py, px] * kd
    return colors


@lru_cache(maxsize=8)
def _read_texture(path: str) -> np.ndarray:
    import imageio.v3 as iio  # only needed for textured meshes
    image = np.asarray(iio.imread(path), dtype=np.float32) / 255.0
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    if image.shape[2] == 3:
        image = np.concatenate([image, np.ones(image.shape[:2] + (1,), np.float32)], axis=2)
    return image


def _read_stl(path: str) -> TriMesh:
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:5].lower() == b"solid" and b"facet" in data[:1024]:
        coords = [line.split()[1:4] for line in data.decode("ascii", "replace").splitlines()
                  if line.strip().startswith("vertex")]
        tris = np.asarray(coords, dtype=np.float32).reshape(-1, 3, 3)
    else:
        (count,) = struct.unpack_from("<I", data, 80)
        record = np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")])
        if len(data) < 84 + count * record.itemsize:
            raise ValueError("truncated binary STL")
        tris = np.frombuffer(data, dtype=record, count=count, offset=84)["v"].astype(np.float32)
    if len(tris) == 0:
        raise ValueError("no triangles")
    vertices = tris.reshape(-1, 3)
    faces = np.arange(len(vertices), dtype=np.int32).reshape(-1, 3)
    return TriMesh(vertices, faces, None)
