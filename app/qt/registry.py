"""The registry of workspaces: every feature the main window can install, named in one place.

Each entry imports its workspace module inside its install function (explicit imports a reader and
import-linter can follow), so `planscope` shows its window before the later workspaces' modules are
loaded. To add a workspace: write app/qt/<name>/workspace.py with `install(window)` (and optionally
`prepare_snapshot(window, args)`), add its name and title to WORKSPACES in
app/qt/shell/main_window.py and one Feature below.
"""
from __future__ import annotations

from typing import Any

from app.core.scene_session import SceneSession
from app.qt.shell.main_window import Feature, MainWindow


def _install_inspector(window: MainWindow) -> object:
    from app.qt.inspector import workspace
    return workspace.install(window)


def _snapshot_inspector(window: MainWindow, args: Any) -> None:
    from app.qt.inspector import workspace
    workspace.prepare_snapshot(window, args)


def _install_review(window: MainWindow) -> object:
    from app.qt.review import dataset_workspace, workspace
    review = workspace.install(window)
    review.datasets = dataset_workspace.install(window)   # data set folders browse in review
    return review


def _snapshot_review(window: MainWindow, args: Any) -> None:
    from app.qt.review import dataset_workspace, workspace
    workspace.prepare_snapshot(window, args)
    dataset_workspace.prepare_snapshot(window, args)      # --data DS --episode E --frame F


def _install_evaluation(window: MainWindow) -> object:
    from app.qt.evaluation import workspace
    return workspace.install(window)


def _snapshot_evaluation(window: MainWindow, args: Any) -> None:
    from app.qt.evaluation import workspace
    workspace.prepare_snapshot(window, args)


def _install_scan(window: MainWindow) -> object:
    from app.qt.scan import workspace
    return workspace.install(window)


def _snapshot_scan(window: MainWindow, args: Any) -> None:
    from app.qt.scan import workspace
    workspace.prepare_snapshot(window, args)


# scan before review: both open .h5 files, and the first drop handler that matches wins (a scan
# file is recognised by its format attribute; review takes every other .h5)
FEATURES: tuple[Feature, ...] = (
    Feature("inspector", _install_inspector, _snapshot_inspector),
    Feature("scan", _install_scan, _snapshot_scan),
    Feature("review", _install_review, _snapshot_review),
    Feature("evaluation", _install_evaluation, _snapshot_evaluation),
)


def main_window(session: SceneSession | None = None, **kwargs: Any) -> MainWindow:
    """A MainWindow with every registered workspace (FEATURES, read at call time so tests can
    narrow it); kwargs go to MainWindow (restore_layout, defer_features)."""
    return MainWindow(session, features=FEATURES, **kwargs)
