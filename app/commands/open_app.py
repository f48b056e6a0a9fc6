"""`planscope [FILE ...] [--policy SPEC] [--scene NAME]`: open the desktop app (app/qt/launch.py).

The window is shown first and the scene is built right after; files and policies are then handed
to the feature handlers. torch is never imported here.
"""
from __future__ import annotations


def run_open(args) -> int:
    from app.qt.launch import open_app

    return open_app(getattr(args, "files", None) or [], getattr(args, "policy", None) or [],
                    getattr(args, "scene", None))
