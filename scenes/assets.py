"""Asset paths and body builders shared by the scenes (PyBullet, DIRECT mode only).

All bodies come from pybullet_data unless a scene is given another `asset_root`. A missing file
raises SceneError naming the file, before PyBullet gets to print its own multi-line failure.
"""
from __future__ import annotations

import math
import os

import numpy as np

from scenes.api import SceneError

TABLE_TOP_Z = 0.0            # the table is lowered so its top surface is the world's z = 0
_TABLE_URDF_TOP = 0.625      # table.urdf: top box centre 0.6 + half thickness 0.025


def default_asset_root() -> str:
    import pybullet_data
    return pybullet_data.getDataPath()


def asset_path(root: str, relative: str) -> str:
    """Absolute path of an asset, or SceneError when it does not exist."""
    path = os.path.abspath(os.path.join(root, relative))
    if not os.path.isfile(path):
        raise SceneError(f"scene asset not found: {path}")
    return path


def load_urdf(p, client: int, path: str, position, orientation=(0, 0, 0, 1), *, fixed: bool) -> int:
    """loadURDF with a one-line SceneError instead of PyBullet's 'Cannot load URDF file.'"""
    if not os.path.isfile(path):
        raise SceneError(f"scene asset not found: {path}")
    try:
        return p.loadURDF(path, list(position), list(orientation), useFixedBase=fixed,
                          physicsClientId=client)
    except p.error as exc:
        raise SceneError(f"cannot load URDF {path}: {exc}") from None


def load_table(p, client: int, root: str, center_xy=(0.3, 0.0)) -> int:
    """table/table.urdf lowered so its top is at z = TABLE_TOP_Z; 1.5 m (x) by 1.0 m (y)."""
    path = asset_path(root, "table/table.urdf")
    return load_urdf(p, client, path, (center_xy[0], center_xy[1], TABLE_TOP_Z - _TABLE_URDF_TOP),
                     fixed=True)


# Mug geometry, measured from pybullet_data objects/mug.obj (mug frame: base centre at the origin,
# handle towards +y). Outer radius 4.1 cm, inner 3.3 cm, height 10 cm, inner floor at 9 mm.
MUG_OUTER_R = 0.041
MUG_INNER_R = 0.033
MUG_HEIGHT = 0.100
MUG_FLOOR = 0.009
MUG_WALL_R = 0.5 * (MUG_OUTER_R + MUG_INNER_R)
# PyBullet compounds hold at most 16 shapes: 12 wall segments + 3 handle boxes + the floor.
_MUG_RING_SEGMENTS = 12
# Handle: boxes (centre, half extents) covering the bounds of mug_col.obj's five handle parts.
_MUG_HANDLE_BOXES = (
    ((0.0, 0.0715, 0.050), (0.005, 0.0095, 0.032)),   # outer upright
    ((0.0, 0.0515, 0.077), (0.006, 0.0125, 0.007)),   # upper arm
    ((0.0, 0.0515, 0.023), (0.006, 0.0125, 0.007)),   # lower arm
)


def load_mug(p, client: int, root: str, position, yaw: float, mass: float = 0.25,
             rgba=(0.85, 0.2, 0.2, 1.0)) -> int:
    """The pybullet_data mug (mug.obj as the visual) with a hollow collision shape.

    Why not mug.urdf: its collision mesh mug_col.obj models the cup body as ONE convex hull, i.e.
    a solid cylinder, so a finger can never enter the mug. Here the wall is a ring of 12 boxes,
    the floor a cylinder and the handle three boxes, so a rim pinch is physically possible and a
    descent into the opening hits the wall. Mass 0.25 kg (the URDF says 1 kg)."""
    mesh = asset_path(root, "objects/mug.obj")
    shapes, half_extents, positions, orientations = [], [], [], []
    seg_half_width = MUG_OUTER_R * math.tan(math.pi / _MUG_RING_SEGMENTS) + 0.0005
    wall_half_h = 0.5 * (MUG_HEIGHT - MUG_FLOOR)
    for i in range(_MUG_RING_SEGMENTS):
        angle = 2 * math.pi * i / _MUG_RING_SEGMENTS
        shapes.append(p.GEOM_BOX)
        half_extents.append([0.5 * (MUG_OUTER_R - MUG_INNER_R), seg_half_width, wall_half_h])
        positions.append([MUG_WALL_R * math.cos(angle), MUG_WALL_R * math.sin(angle),
                          MUG_FLOOR + wall_half_h])
        orientations.append(p.getQuaternionFromEuler([0, 0, angle]))
    for centre, half in _MUG_HANDLE_BOXES:
        shapes.append(p.GEOM_BOX)
        half_extents.append(list(half))
        positions.append(list(centre))
        orientations.append([0, 0, 0, 1])
    # The floor is a cylinder (a box would poke out between the wall segments).
    radii = [0.0] * len(shapes) + [MUG_OUTER_R]
    lengths = [0.0] * len(shapes) + [MUG_FLOOR]
    shapes.append(p.GEOM_CYLINDER)
    half_extents.append([0, 0, 0])
    positions.append([0, 0, 0.5 * MUG_FLOOR])
    orientations.append([0, 0, 0, 1])
    col = p.createCollisionShapeArray(shapes, radii=radii, halfExtents=half_extents, lengths=lengths,
                                      collisionFramePositions=positions,
                                      collisionFrameOrientations=orientations,
                                      physicsClientId=client)
    vis = p.createVisualShape(p.GEOM_MESH, fileName=mesh, rgbaColor=list(rgba),
                              physicsClientId=client)
    # Inertial frame at the base origin so getBasePositionAndOrientation is the mug's own frame.
    body = p.createMultiBody(
        baseMass=mass, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
        basePosition=list(position), baseOrientation=p.getQuaternionFromEuler([0, 0, yaw]),
        physicsClientId=client)
    for link in (-1,):
        p.changeDynamics(body, link, lateralFriction=1.0, spinningFriction=0.001,
                         rollingFriction=0.0, physicsClientId=client)
    return body


def quat_yaw(q) -> float:
    """Yaw (rad) of a quaternion xyzw."""
    x, y, z, w = q
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def rotate_z(v: np.ndarray, yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1], v[2]])
