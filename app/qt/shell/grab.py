"""Grab a window as an image with every GL view's own rendering painted in place (a plain
`QWidget.grab()` leaves GL views black). Used by `planscope snapshot` and the tour export."""
from __future__ import annotations

from PySide6 import QtCore, QtGui

from app.qt.shell.scene_view import gl_views


def grab_window(window):
    """QImage of the whole window with every GL view's own rendering painted in place."""
    pixmap = window.grab()
    painter = QtGui.QPainter(pixmap)
    try:
        for view in gl_views(window):
            if not view.isVisible() or view.width() < 2 or view.height() < 2:
                continue
            frame = view.grabFramebuffer()
            top_left = view.mapTo(window, view.rect().topLeft())
            painter.drawImage(QtCore.QRect(top_left, view.size()), frame)
    finally:
        painter.end()
    return pixmap.toImage()
