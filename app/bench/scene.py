"""Scene-view frame time: the mirrored mug_grasp scene vs reference draws, same run, same view.

Per frame: new link poses (a simulation step's worth) are set on the mirror and the view is
repainted and finished (glFinish), so the figure is what the GPU/CPU really spends per frame.
References measured in the same run:
- empty:  the same view with only the ground grid (fixed cost of a frame),
- merged: one mesh holding all the scene's triangles at their world poses, same colours and
  shader (the cost of the pixels and triangles alone; scene/merged is the overhead of the
  mirror's scene graph: one item per visual shape under one transform node per link).
Also: set_poses (CPU side of the mirror update) and scene.link_poses() (PyBullet query).
"""
from __future__ import annotations

import os
import statistics
import time

import numpy as np

SIZE = (1280, 800)
SMALL = (640, 480)


CPU_MS: dict[str, float] = {}


def _frame_ms(view, app, frames: int, before=None) -> float:
    """Median wall ms per frame; the process's CPU ms per frame (all threads, including the
    software rasteriser's) goes to CPU_MS["last"]."""
    from OpenGL import GL

    samples = []
    cpu_start = time.process_time()
    for i in range(frames):
        start = time.perf_counter()
        if before is not None:
            before(i)
        view.repaint()
        view.makeCurrent()
        GL.glFinish()
        app.processEvents()
        samples.append((time.perf_counter() - start) * 1e3)
    CPU_MS["last"] = (time.process_time() - cpu_start) * 1e3 / frames
    return statistics.median(samples[2:] if len(samples) > 4 else samples)


def run(args) -> dict:
    import pyqtgraph.opengl as gl

    from app.core.scene_session import SceneSession
    from app.qt.shell.gl_meshes import pose_matrix
    from app.qt.shell.qt_app import ensure_display, ensure_qapp
    from app.qt.shell.scene_view import _LIT, SceneView

    display = ensure_display()
    try:
        app = ensure_qapp()
        frames = 15 if getattr(args, "quick", False) else 60
        session = SceneSession("mug_grasp")
        session.load()
        view = SceneView()
        view.resize(*SIZE)
        view.show()
        app.processEvents()

        # empty reference: grid only
        empty_ms = _frame_ms(view, app, frames)

        t0 = time.perf_counter()
        view.set_scene(session.describe(), session.link_poses())
        build_ms = (time.perf_counter() - t0) * 1e3
        items = [c for node in view.link_nodes for c in node.childItems()]
        triangles = sum(len(c.opts["meshdata"].faces()) for c in items)

        # a trajectory of poses to play back: real simulation steps (holding position)
        poses = []
        for _ in range(10):
            session.step()
            poses.append(session.link_poses())
        t0 = time.perf_counter()
        for _ in range(50):
            session.link_poses()
        link_poses_ms = (time.perf_counter() - t0) * 1e3 / 50
        t0 = time.perf_counter()
        for i in range(50):
            view.set_poses(poses[i % len(poses)])
        set_poses_ms = (time.perf_counter() - t0) * 1e3 / 50

        scene_ms = _frame_ms(view, app, frames, lambda i: view.set_poses(poses[i % len(poses)]))
        scene_cpu_ms = CPU_MS["last"]
        view.resize(*SMALL)  # about the central view's size in the default window layout
        app.processEvents()
        small_ms = _frame_ms(view, app, frames, lambda i: view.set_poses(poses[i % len(poses)]))
        view.resize(*SIZE)
        app.processEvents()

        # merged reference: the same triangles, colours, shader and screen coverage (vertices
        # moved to their world pose on the CPU) drawn as one item with no scene graph
        verts, faces, colors, offset = [], [], [], 0
        for node, pose in zip(view.link_nodes, poses[-1]):
            link_t = pose_matrix(pose[:3], pose[3:7])
            for c in node.childItems():
                md = c.opts["meshdata"]
                local = np.array(c.transform().data(), dtype=np.float64).reshape(4, 4).T
                t = link_t @ local
                verts.append(md.vertexes() @ t[:3, :3].T + t[:3, 3])
                faces.append(md.faces() + offset)
                fc = md.faceColors() if md.hasFaceColor() else None
                colors.append(fc if fc is not None else np.tile(c.opts["color"], (len(md.faces()), 1)))
                offset += len(md.vertexes())
        view.clear_scene()
        merged = gl.GLMeshItem(meshdata=gl.MeshData(vertexes=np.vstack(verts).astype(np.float32),
                                                    faces=np.vstack(faces),
                                                    faceColors=np.vstack(colors).astype(np.float32)),
                               smooth=False, shader=_LIT)
        view.addItem(merged)
        merged_ms = _frame_ms(view, app, frames)
        view.close()
        session.close()
    finally:
        if display is not None:
            from PySide6 import QtWidgets
            QtWidgets.QApplication.instance().shutdown()
            display.stop()

    result = {
        "view_px": f"{SIZE[0]}x{SIZE[1]}",
        "shapes": len(items),
        "triangles": int(triangles),
        "build_ms": round(build_ms, 1),
        "frame_ms": round(scene_ms, 2),
        "fps": round(1e3 / scene_ms, 1),
        "frame_cpu_ms": round(scene_cpu_ms, 2),
        "frame_ms_640x480": round(small_ms, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "empty_frame_ms": round(empty_ms, 2),
        "merged_frame_ms": round(merged_ms, 2),
        "frame_vs_empty": round(scene_ms / empty_ms, 2),
        "frame_vs_merged": round(scene_ms / merged_ms, 2),
        "set_poses_ms": round(set_poses_ms, 3),
        "link_poses_ms": round(link_poses_ms, 3),
    }
    print(f"scene view {result['view_px']}: {result['shapes']} shapes, "
          f"{result['triangles']} triangles (mirror built in {result['build_ms']} ms)")
    print(f"  frame (poses + paint + glFinish): {result['frame_ms']} ms  ({result['fps']} fps)")
    print(f"  same at 640x480: {result['frame_ms_640x480']} ms")
    print(f"  CPU per frame (all threads, incl. software GL): {result['frame_cpu_ms']} ms; "
          f"1-min load average {result['load_average_1min']} on {os.cpu_count()} cores")
    print(f"  reference empty frame (grid):     {result['empty_frame_ms']} ms  "
          f"-> scene = {result['frame_vs_empty']}x empty")
    print(f"  reference one merged mesh:        {result['merged_frame_ms']} ms  "
          f"-> scene = {result['frame_vs_merged']}x merged")
    print(f"  set_poses {result['set_poses_ms']} ms, scene.link_poses {result['link_poses_ms']} ms")
    return result
