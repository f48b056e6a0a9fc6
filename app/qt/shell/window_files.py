"""Opening files and policies in the main window: the handler registry that drag and drop,
File ▸ Open…, Open Recent and `planscope FILE ... --policy SPEC` all go through.

A mixin of MainWindow (kept apart so main_window.py stays wiring only). It needs from the window:
`_settings` (QSettings), `recent_menu` (QMenu), `run_guarded`, `report_error` and
`install_pending_features`.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable

from PySide6 import QtCore, QtGui, QtWidgets

from recordings.errors import UserFacingError

MAX_RECENT = 10


POLICY_FILE_FILTER = ("Policies: a diffusion_policy .ckpt, or the config.json of a LeRobot pretrained_model/ "
                      "or planscope checkpoint folder (*.ckpt config.json);;All files (*)")


def policy_source(path: str) -> str:
    """A chosen file -> what load_planner opens: a folder's config.json / model.safetensors /
    normalizer.json stands for its folder; a .ckpt (or a folder) stays as it is."""
    if os.path.basename(path) in ("config.json", "model.safetensors", "normalizer.json"):
        return os.path.dirname(path)
    return path


def choose_policy(parent: QtWidgets.QWidget | None, start: str = "", title: str = "Open policy") -> str:
    """One file dialog for every policy kind: pick a .ckpt file, or the config.json inside a
    LeRobot pretrained_model/ or planscope checkpoint folder (returned as the folder). '' = cancelled."""
    path, _ = QtWidgets.QFileDialog.getOpenFileName(parent, title, start, POLICY_FILE_FILTER)
    return policy_source(path) if path else ""


class FileOpeningMixin:
    """register_drop_handler / register_policy_handler / open_paths / open_policy / recent files."""

    _drop_handlers: list[tuple[str, Callable[[str], bool], Callable[[str], Any]]]
    _policy_handler: Callable[[str], Any] | None

    def _init_file_opening(self) -> None:
        self._drop_handlers = []
        self._policy_handler = None
        self.setAcceptDrops(True)

    def register_drop_handler(self, predicate: Callable[[str], bool],
                              callback: Callable[[str], Any], name: str = "") -> None:
        """Files/folders for which predicate(path) is True open with callback(path). First match
        wins, in registration order."""
        self._drop_handlers.append((name, predicate, callback))

    def register_policy_handler(self, callback: Callable[[str], Any]) -> None:
        """callback(spec) loads a policy: a checkpoint folder or `module:attr`."""
        self._policy_handler = callback

    def open_paths(self, paths: Iterable[str]) -> None:
        """Open each path with the first matching drop handler; a dialog says when none matches."""
        self.install_pending_features()  # a deferred workspace may be the one that opens it
        for path in paths:
            path = os.path.abspath(os.path.expanduser(path)) if os.path.exists(path) else path
            for _name, predicate, callback in self._drop_handlers:
                if predicate(path):
                    if self.run_guarded(f"Cannot open {os.path.basename(path)}",
                                        self._call_opener, callback, path) is not False:
                        self.add_recent_file(path)
                    break
            else:
                if os.path.isdir(path) and self._policy_handler is not None:
                    self.open_policy(path)
                    continue
                self.report_error("Cannot open", UserFacingError(
                    f"{path}: no installed view opens this kind of file"
                    + ("" if os.path.exists(path) else " (it does not exist)")))

    @staticmethod
    def _call_opener(callback: Callable[[str], Any], path: str) -> bool:
        callback(path)
        return True

    def open_policy(self, spec: str) -> None:
        self.install_pending_features()
        if self._policy_handler is None:
            self.report_error("Cannot open policy", UserFacingError(
                f"{spec}: no installed view loads policies (the inspector workspace is missing)"))
            return
        self.run_guarded("Cannot open policy", self._policy_handler, spec)

    def _open_policy_dialog(self) -> None:
        path = choose_policy(self)
        if path:
            self.open_policy(path)

    def _open_recording_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open recording", "",
                                                        "Recordings (*.h5 *.hdf5);;All files (*)")
        if path:
            self.open_paths([path])

    def add_recent_file(self, path: str) -> None:
        recent = [p for p in self.recent_files() if p != path]
        self._settings.setValue("recent", [path, *recent][:MAX_RECENT])

    def recent_files(self) -> list[str]:
        value = self._settings.value("recent") or []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_paths([p]))
        if not self.recent_menu.actions():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        # let the drop finish before a handler opens a dialog or does slow work
        QtCore.QTimer.singleShot(0, self, lambda: self.open_paths(paths))   # dropped with the window
