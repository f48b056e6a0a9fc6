"""Presentation mode (F11 / `planscope demo --present`): a window people read from across a room.

Entering it: full screen, the application font scaled up (default x1.45), every pyqtgraph curve
and GL line drawn thicker, developer panels hidden (every dock not in `AUDIENCE_DOCKS`), and a
clean light or dark theme on the Qt palette and every plot background. Leaving it restores
exactly what was there before (font, dock visibility, window state, pen widths, palette).

Nothing here knows a particular view: it walks the window's widgets, so views added later are
covered too. Views that redraw their items from scratch can read `line_scale(window)` to keep
their lines thick.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

Theme = Literal["light", "dark"]

# Docks an audience needs (by objectName); every other dock (policy & sampling parameters,
# solver sweep, camera, rollout table, curves, compare...) is a developer panel and is hidden
# while presenting. The View > Panels menu still brings any of them back.
AUDIENCE_DOCKS = ("inspector_modes", "inspector_chain", "review_timeline", "review_replans",
                  "review_queue", "probe")

THEMES: dict[str, dict[str, str]] = {
    "light": {"window": "#fafafa", "base": "#ffffff", "text": "#1a1a1a", "button": "#ececec",
              "highlight": "#1f77b4", "plot_bg": "#ffffff", "plot_fg": "#222222"},
    "dark": {"window": "#1e1f22", "base": "#26282b", "text": "#eeeeee", "button": "#33363a",
             "highlight": "#4aa3ff", "plot_bg": "#15171a", "plot_fg": "#dddddd"},
}


# The app's own style sheet paints docks, toolbars and menus dark; the light theme replaces it.
LIGHT_STYLE = """
QMainWindow::separator { background: #d0d4da; width: 3px; height: 3px; }
QDockWidget { color: #1a1a1a; }
QDockWidget::title { background: #eceef1; padding: 6px 10px; border-bottom: 1px solid #d0d4da; }
QMenuBar, QMenu { background: #fafafa; color: #1a1a1a; }
QMenuBar::item:selected, QMenu::item:selected { background: #1f77b4; color: white; }
QStatusBar { background: #eceef1; color: #444444; }
QStatusBar QLabel { color: #444444; padding: 0 8px; }
QPushButton, QToolButton { background: #eceef1; color: #1a1a1a; border: 1px solid #c4c9d0;
    border-radius: 4px; padding: 4px 12px; }
QComboBox, QLineEdit, QSpinBox, QDoubleSpinBox, QListWidget, QTableView, QTreeView {
    background: #ffffff; color: #1a1a1a; border: 1px solid #c4c9d0; }
QLabel { color: #1a1a1a; }
"""


def _palette(theme: Theme) -> QtGui.QPalette:
    c = THEMES[theme]
    pal = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    for r, key in ((role.Window, "window"), (role.Base, "base"), (role.AlternateBase, "window"),
                   (role.Button, "button"), (role.Highlight, "highlight")):
        pal.setColor(r, QtGui.QColor(c[key]))
    for r in (role.WindowText, role.Text, role.ButtonText, role.ToolTipText, role.PlaceholderText):
        pal.setColor(r, QtGui.QColor(c["text"]))
    pal.setColor(role.HighlightedText, QtGui.QColor("#ffffff"))
    return pal


def _set_pen(item, pen: QtGui.QPen) -> None:
    """Curves have setPen; bar graphs and some other items take their pen through setOpts."""
    if hasattr(item, "setPen"):
        item.setPen(pen)
    elif hasattr(item, "setOpts"):
        item.setOpts(pen=pen)


def is_audience_dock(dock: QtWidgets.QDockWidget) -> bool:
    return dock.objectName() in AUDIENCE_DOCKS


def line_scale(window: QtWidgets.QWidget) -> float:
    """Multiplier views apply to their line widths (1.0 outside presentation mode)."""
    mode = getattr(window, "presentation", None)
    return mode.line_factor if isinstance(mode, PresentationMode) and mode.active else 1.0


@dataclass
class _Saved:
    font: QtGui.QFont
    palette: QtGui.QPalette
    style_sheet: str
    window_state: QtCore.Qt.WindowState
    hidden_docks: list[QtWidgets.QDockWidget] = field(default_factory=list)
    bars_visible: dict[QtWidgets.QWidget, bool] = field(default_factory=dict)
    titles: list[tuple[object, str, str]] = field(default_factory=list)
    legend_labels: list[tuple[object, str, dict]] = field(default_factory=list)
    pens: list[tuple[object, QtGui.QPen]] = field(default_factory=list)
    gl_widths: list[tuple[object, float]] = field(default_factory=list)
    backgrounds: list[tuple[object, object]] = field(default_factory=list)


class PresentationMode(QtCore.QObject):
    """Toggles presentation mode on one QMainWindow. `window.presentation` is set to it."""

    toggled = QtCore.Signal(bool)

    def __init__(self, window: QtWidgets.QMainWindow, *, theme: Theme = "light",
                 font_factor: float = 1.45, line_factor: float = 2.0,
                 full_screen: bool = True) -> None:
        super().__init__(window)
        if theme not in THEMES:
            raise ValueError(f"theme must be one of {sorted(THEMES)}, got {theme!r}")
        self.window = window
        self.theme: Theme = theme
        self.font_factor = font_factor
        self.line_factor = line_factor
        self.full_screen = full_screen
        self.active = False
        self.point_size = 0.0
        self._saved: _Saved | None = None
        # called first thing on entering: widgets made later are not themed (the demo installs
        # the workspaces it deferred here)
        self.before_enter: Callable[[], None] | None = None
        window.presentation = self
        self.action = QtGui.QAction("Presentation Mode", window)
        self.action.setCheckable(True)
        self.action.setShortcut(QtGui.QKeySequence(QtCore.Qt.Key_F11))
        self.action.setShortcutContext(QtCore.Qt.ApplicationShortcut)
        self.action.toggled.connect(self.set_active)
        window.addAction(self.action)
        view_menu = getattr(window, "view_menu", None)
        if view_menu is not None:
            view_menu.addAction(self.action)
        changed = getattr(window, "workspaceChanged", None)
        if changed is not None:
            # a workspace switch shows its docks again; keep the developer ones hidden
            changed.connect(lambda _name: self.active and self.hide_developer_docks())

    # -- public ---------------------------------------------------------------------------
    def toggle(self) -> None:
        self.set_active(not self.active)

    def set_active(self, on: bool) -> None:
        if on == self.active:
            return
        if on:
            self._enter()
            self.active = True
        else:
            self.active = False   # first: leaving re-shows docks, which must not be re-hidden
            self._leave()
        if self.action.isChecked() != on:
            self.action.blockSignals(True)
            self.action.setChecked(on)
            self.action.blockSignals(False)
        self.toggled.emit(on)

    def hide_developer_docks(self) -> None:
        """Hide every dock an audience does not need (also used after a card changes docks)."""
        for dock in self.window.findChildren(QtWidgets.QDockWidget):
            if not is_audience_dock(dock) and dock.isVisible():
                if self._saved is not None and dock not in self._saved.hidden_docks:
                    self._saved.hidden_docks.append(dock)
                dock.hide()

    # -- enter / leave --------------------------------------------------------------------
    def _enter(self) -> None:
        app = QtWidgets.QApplication.instance()
        w = self.window
        if self.before_enter is not None:
            self.before_enter()   # e.g. the demo installs its deferred workspaces: themed here, once
        self._saved = _Saved(font=QtGui.QFont(app.font()), palette=QtGui.QPalette(app.palette()),
                             style_sheet=app.styleSheet(), window_state=w.windowState())
        font = QtGui.QFont(app.font())
        size = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
        self.point_size = size * self.font_factor
        font.setPointSizeF(self.point_size)
        app.setFont(font)
        # With an application style sheet, setFont alone does not reach already-polished widgets;
        # a global font-size rule does (widget-level sheets, like the tour card's, still win).
        base_sheet = LIGHT_STYLE if self.theme == "light" else self._saved.style_sheet
        app.setStyleSheet(base_sheet + f"\n* {{ font-size: {self.point_size:.1f}pt; }}")
        self._scale_plots(font)
        self._apply_theme()
        self.hide_developer_docks()
        # the toolbar (workspace switch, play/step, seed) is for the person driving, not the room
        for bar in w.findChildren(QtWidgets.QToolBar):
            self._saved.bars_visible[bar] = bar.isVisible()
            bar.hide()
        if self.full_screen:
            w.setWindowState(w.windowState() | QtCore.Qt.WindowFullScreen)

    def _leave(self) -> None:
        saved, self._saved = self._saved, None
        if saved is None:
            return
        app = QtWidgets.QApplication.instance()
        app.setStyleSheet(saved.style_sheet)
        app.setFont(saved.font)
        app.setPalette(saved.palette)
        for item, text, size in saved.titles:
            item.setTitle(text, size=size, color=None)
        for label, text, opts in saved.legend_labels:
            label.setText(text, **{k: v for k, v in opts.items() if k in ("color", "size")})
        for bar, visible in saved.bars_visible.items():
            bar.setVisible(visible)
        for item, pen in saved.pens:
            _set_pen(item, pen)
        for item, width in saved.gl_widths:
            item.setData(width=width)
        for widget, bg in saved.backgrounds:
            if isinstance(widget, pg.PlotWidget):
                widget.setBackground(bg)
            else:
                widget.setBackgroundColor(bg)
        for plot in self.window.findChildren(pg.PlotWidget):
            self._set_axis_fonts(plot.getPlotItem(), saved.font, None)
        for dock in saved.hidden_docks:
            dock.show()
        set_workspace = getattr(self.window, "set_workspace", None)
        if set_workspace is not None:
            # of the docks shown again, keep only the current workspace's (and the shared ones)
            set_workspace(self.window.workspace)
        self.window.setWindowState(saved.window_state)

    # -- helpers --------------------------------------------------------------------------
    def _scale_plots(self, font: QtGui.QFont) -> None:
        assert self._saved is not None
        for plot in self.window.findChildren(pg.PlotWidget):
            item = plot.getPlotItem()
            self._set_axis_fonts(item, font, THEMES[self.theme]["plot_fg"])
            fg = THEMES[self.theme]["plot_fg"]
            title = item.titleLabel
            if title.isVisible() and title.text:
                size = str(title.opts.get("size", "9pt"))
                self._saved.titles.append((item, title.text, size))
                try:
                    points = float(size.rstrip("pt")) * self.font_factor
                except ValueError:
                    points = 12.0 * self.font_factor
                item.setTitle(title.text, size=f"{points:.0f}pt", color=fg)
            legend = item.legend
            if legend is not None:
                for _sample, label in legend.items:
                    self._saved.legend_labels.append((label, label.text, dict(label.opts)))
                    label.setText(label.text, color=fg)
            for data_item in item.listDataItems():
                pen = data_item.opts.get("pen") if hasattr(data_item, "opts") else None
                if pen is None:
                    continue
                pen = pg.mkPen(pen)
                self._saved.pens.append((data_item, QtGui.QPen(pen)))
                thick = QtGui.QPen(pen)
                thick.setWidthF(max(pen.widthF(), 1.0) * self.line_factor)
                _set_pen(data_item, thick)
        try:
            from pyqtgraph.opengl import GLLinePlotItem

            from app.qt.shell.scene_view import gl_views
        except Exception:   # no OpenGL bindings: nothing 3-D to thicken
            return
        for view in gl_views(self.window):
            for gl_item in view.items:
                if isinstance(gl_item, GLLinePlotItem):
                    width = float(getattr(gl_item, "width", 1.0))
                    self._saved.gl_widths.append((gl_item, width))
                    gl_item.setData(width=width * self.line_factor)

    @staticmethod
    def _set_axis_fonts(item: pg.PlotItem, font: QtGui.QFont, color: str | None) -> None:
        tick_font = QtGui.QFont(font)
        for name in ("left", "bottom", "right", "top"):
            axis = item.getAxis(name)
            axis.setStyle(tickFont=tick_font)
            axis.label.setFont(tick_font)
            if color is not None:
                axis.setTextPen(color)
                axis.setPen(color)

    def _apply_theme(self) -> None:
        assert self._saved is not None
        app = QtWidgets.QApplication.instance()
        app.setPalette(_palette(self.theme))
        c = THEMES[self.theme]
        for plot in self.window.findChildren(pg.PlotWidget):
            if not any(w is plot for w, _ in self._saved.backgrounds):
                self._saved.backgrounds.append((plot, plot.backgroundBrush().color()))
            plot.setBackground(c["plot_bg"])
        try:
            from app.qt.shell.scene_view import gl_views
        except Exception:
            return
        for view in gl_views(self.window):
            if not any(w is view for w, _ in self._saved.backgrounds):
                bg = view.opts.get("bgcolor", (0, 0, 0, 1))
                self._saved.backgrounds.append((view, bg))
            view.setBackgroundColor(c["plot_bg"])
