"""The calm dark theme: a Fusion palette plus a small style sheet, and pyqtgraph colours to match.

Applied once per QApplication by `apply_theme(app)`; views take colours from `COLORS` rather than
hard-coding their own so the whole window stays consistent.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

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


def cache_axes(plot) -> None:
    """Paint a pyqtgraph plot's axes from a pixmap cache (Qt's DeviceCoordinateCache).

    pyqtgraph replays each axis's QPicture (tick text: slow) whenever anything inside the plot
    moves, e.g. a time cursor while scrubbing: ~2 ms per axis per frame here. Cached, an axis
    is only redrawn when it changes itself (range, label, size), which calls update()."""
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    for name in ("left", "bottom", "right", "top"):
        item.getAxis(name).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


def app_icon() -> QtGui.QIcon:
    """The window icon, drawn here so no image file has to ship: a dark rounded square with a
    fan of plans (three curves leaving one start point, one highlighted)."""
    icon = QtGui.QIcon()
    for size in (16, 32, 64, 128, 256):
        pixmap = QtGui.QPixmap(size, size)
        pixmap.fill(QtGui.QColor(0, 0, 0, 0))
        p = QtGui.QPainter(pixmap)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        s = size / 64.0
        p.setBrush(QtGui.QColor(COLORS["panel"]))
        p.setPen(QtGui.QPen(QtGui.QColor(COLORS["border"]), max(1.0, 2 * s)))
        p.drawRoundedRect(QtCore.QRectF(2 * s, 2 * s, 60 * s, 60 * s), 12 * s, 12 * s)
        for dy, color, width in ((-18, COLORS["muted"], 3), (18, COLORS["muted"], 3),
                                 (0, COLORS["accent"], 5)):
            path = QtGui.QPainterPath(QtCore.QPointF(12 * s, 46 * s))
            path.cubicTo(QtCore.QPointF(28 * s, 46 * s), QtCore.QPointF(30 * s, (26 + dy) * s),
                         QtCore.QPointF(52 * s, (22 + dy * 0.6) * s))
            pen = QtGui.QPen(QtGui.QColor(color), max(1.0, width * s))
            pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
            p.setPen(pen)
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawPath(path)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(QtGui.QColor(COLORS["text"]))
        p.drawEllipse(QtCore.QPointF(12 * s, 46 * s), 4 * s, 4 * s)
        p.end()
        icon.addPixmap(pixmap)
    return icon


GLYPHS = ("play", "pause", "step", "step_back", "last", "first")


def glyph_icon(kind: str, size: int = 32) -> QtGui.QIcon:
    """Flat light glyphs for the dark theme (Fusion's media icons are black on dark): kind in
    GLYPHS — play ▶, pause ❚❚, step ▶|, step_back |◀, last ▶▶|, first |◀◀."""
    if kind not in GLYPHS:
        raise ValueError(f"unknown glyph {kind!r}")
    pixmap = QtGui.QPixmap(size, size)
    pixmap.fill(QtGui.QColor(0, 0, 0, 0))
    p = QtGui.QPainter(pixmap)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(QtGui.QColor(COLORS["text"]))
    s = size / 32.0
    if kind in ("step_back", "first"):      # drawn as their forward twin, mirrored
        p.translate(size, 0)
        p.scale(-1, 1)

    def triangle(left: float, right: float) -> None:
        corners = ((left, 6), (right, 16), (left, 26))
        p.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(x * s, y * s) for x, y in corners]))

    if kind == "play":
        triangle(8, 24)
    elif kind == "pause":
        p.drawRoundedRect(QtCore.QRectF(8 * s, 6 * s, 6 * s, 20 * s), 1.5 * s, 1.5 * s)
        p.drawRoundedRect(QtCore.QRectF(18 * s, 6 * s, 6 * s, 20 * s), 1.5 * s, 1.5 * s)
    elif kind in ("step", "step_back"):
        triangle(8, 20)
        p.drawRoundedRect(QtCore.QRectF(21 * s, 6 * s, 4 * s, 20 * s), 1 * s, 1 * s)
    else:                                   # last / first
        triangle(4, 14)
        triangle(13, 23)
        p.drawRoundedRect(QtCore.QRectF(24 * s, 6 * s, 4 * s, 20 * s), 1 * s, 1 * s)
    p.end()
    return QtGui.QIcon(pixmap)
