"""The calm dark theme: a Fusion palette plus a small style sheet, and pyqtgraph colours to match.

Applied once per QApplication by `apply_theme(app)`; views take colours from `COLORS` rather than
hard-coding their own so the whole window stays consistent.
"""
from __future__ import annotations

from PySide6 import QtGui, QtWidgets

COLORS = {
    "window": "#1e2126",
    "base": "#181a1f",
    "panel": "#23272e",
    "border": "#2f343d",
    "text": "#d7dae0",
    "muted": "#8b93a1",
    "accent": "#5fa8d3",
    "accent_text": "#0f1115",
    "warning": "#e0b45f",
    "error": "#e06c75",
    "ok": "#7fbf7f",
}

_STYLE = """
QMainWindow::separator { background: %(border)s; width: 3px; height: 3px; }
QMainWindow::separator:hover { background: %(accent)s; }
QDockWidget { color: %(text)s; titlebar-close-icon: none; }
QDockWidget::title { background: %(panel)s; padding: 5px 8px; border-bottom: 1px solid %(border)s; }
QToolBar { background: %(window)s; border: none; border-bottom: 1px solid %(border)s; spacing: 4px; padding: 3px; }
QToolButton { padding: 4px 10px; border-radius: 4px; color: %(text)s; }
QToolButton:hover { background: %(border)s; }
QToolButton:checked { background: %(accent)s; color: %(accent_text)s; }
QStatusBar { background: %(panel)s; color: %(muted)s; border-top: 1px solid %(border)s; }
QStatusBar QLabel { color: %(muted)s; padding: 0 8px; }
QMenuBar { background: %(window)s; }
QMenuBar::item:selected, QMenu::item:selected { background: %(accent)s; color: %(accent_text)s; }
QMenu { background: %(panel)s; border: 1px solid %(border)s; }
QComboBox, QLineEdit, QSpinBox, QDoubleSpinBox { padding: 3px 6px; border: 1px solid %(border)s;
    border-radius: 4px; background: %(base)s; }
QPushButton { padding: 4px 12px; border: 1px solid %(border)s; border-radius: 4px; background: %(panel)s; }
QPushButton:hover { border-color: %(accent)s; }
QToolTip { color: %(text)s; background: %(panel)s; border: 1px solid %(border)s; }
""" % COLORS


def palette() -> QtGui.QPalette:
    c = {k: QtGui.QColor(v) for k, v in COLORS.items()}
    pal = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    pal.setColor(role.Window, c["window"])
    pal.setColor(role.WindowText, c["text"])
    pal.setColor(role.Base, c["base"])
    pal.setColor(role.AlternateBase, c["panel"])
    pal.setColor(role.ToolTipBase, c["panel"])
    pal.setColor(role.ToolTipText, c["text"])
    pal.setColor(role.Text, c["text"])
    pal.setColor(role.Button, c["panel"])
    pal.setColor(role.ButtonText, c["text"])
    pal.setColor(role.BrightText, c["error"])
    pal.setColor(role.Highlight, c["accent"])
    pal.setColor(role.HighlightedText, c["accent_text"])
    pal.setColor(role.Link, c["accent"])
    pal.setColor(role.PlaceholderText, c["muted"])
    disabled = QtGui.QPalette.ColorGroup.Disabled
    for r in (role.Text, role.ButtonText, role.WindowText):
        pal.setColor(disabled, r, c["muted"])
    return pal


def apply_theme(app: QtWidgets.QApplication) -> None:
    """Fusion style, dark palette, readable default font size, matching pyqtgraph colours."""
    import pyqtgraph as pg

    app.setStyle("Fusion")
    app.setPalette(palette())
    app.setStyleSheet(_STYLE)
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
        app.setFont(font)
    pg.setConfigOptions(background=COLORS["base"], foreground=COLORS["text"], antialias=True)
