"""Where the app keeps its settings (dock layout, window geometry, recent files).

QSettings org/app "planscope". Setting PLANSCOPE_SETTINGS_DIR stores them in
$PLANSCOPE_SETTINGS_DIR/planscope.ini instead, so tests and snapshots never touch the user's.
"""
from __future__ import annotations

import os

from PySide6 import QtCore

ORG = "planscope"
APP = "planscope"
ENV_DIR = "PLANSCOPE_SETTINGS_DIR"


def app_settings() -> QtCore.QSettings:
    directory = os.environ.get(ENV_DIR)
    if directory:
        os.makedirs(directory, exist_ok=True)
        return QtCore.QSettings(os.path.join(directory, "planscope.ini"),
                                QtCore.QSettings.Format.IniFormat)
    return QtCore.QSettings(ORG, APP)


LAST_FOLDER_KEY = "dialogs/last_folder"


def last_folder(default: str = "") -> str:
    """The folder the last file dialog chose (any dialog: exports, tags, evaluations), if it
    still exists; else `default` (or the current directory)."""
    value = app_settings().value(LAST_FOLDER_KEY)
    if isinstance(value, str) and value and os.path.isdir(value):
        return value
    return default or os.getcwd()


def remember_folder(path: str) -> None:
    """Keep the folder of a chosen file (or the chosen folder) for the next dialog."""
    if not path:
        return
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    app_settings().setValue(LAST_FOLDER_KEY, folder)


def in_last_folder(name: str) -> str:
    """A suggested file name placed in the last folder."""
    return os.path.join(last_folder(), name)
