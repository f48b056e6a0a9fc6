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
