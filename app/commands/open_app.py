"""`planscope [FILE ...] [--policy SPEC] [--scene NAME] [--option k=v ..]`: open the desktop app
(app/qt/launch.py); --option builds the scene with those options (obstacle_reach rows=2), and a
policy whose training data had other ones is refused.

The window is shown first and the scene is built right after; files and policies are then handed
to the feature handlers. torch is never imported here.
"""
from __future__ import annotations


def run_open(args) -> int:
    from app.qt.launch import open_app
    from scenes.registry import parse_options

    return open_app(getattr(args, "files", None) or [], getattr(args, "policy", None) or [],
                    getattr(args, "scene", None), parse_options(getattr(args, "option", None) or []))
