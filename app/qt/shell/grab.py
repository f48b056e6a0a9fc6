"""Grab a window as an image with every GL view's own rendering painted in place (a plain
`QWidget.grab()` leaves GL views black). Used by `planscope snapshot` and the tour export."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.shell.scene_view import gl_views


def _overlays(view: QtWidgets.QWidget) -> list[QtWidgets.QWidget]:
    """Plain widgets shown over a GL view (e.g. review's "3-D replay off" banner): painted
    after the GL frame, as they appear on screen. The native GL window's container is not one."""
    children = view.findChildren(QtWidgets.QWidget, options=QtCore.Qt.FindChildOption.FindDirectChildrenOnly)
    return [c for c in children if c.isVisible() and c.metaObject().className() != "QWindowContainer"
            and c not in gl_views(view)]


def grab_window(window):
    """QImage of the whole window with every GL view's own rendering painted in place, and the
    widgets over each GL view painted on top of it."""
    pixmap = window.grab()
    painter = QtGui.QPainter(pixmap)
    try:
        for view in gl_views(window):
            if not view.isVisible() or view.width() < 2 or view.height() < 2:
                continue
            frame = view.grabFramebuffer()
            top_left = view.mapTo(window, view.rect().topLeft())
            painter.drawImage(QtCore.QRect(top_left, view.size()), frame)
            for overlay in _overlays(view):
                painter.drawPixmap(overlay.mapTo(window, QtCore.QPoint(0, 0)), overlay.grab())
    finally:
        painter.end()
    return pixmap.toImage()
