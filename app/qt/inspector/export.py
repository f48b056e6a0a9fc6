"""Export: PNG of any inspector view; MP4 and GIF of the denoising animation (imageio-ffmpeg).

Exports are for slides: the views' controls (play button, slider, speed, toggles, run buttons)
are hidden while a view is grabbed, and a caption line names what is shown (policy, scene, seed,
N, solver, chain step) above the image.

GL views are rendered through their own framebuffer and composed into the widget image, so an
exported view is never a black rectangle. The animation walks the chain from noise (k = 0) to the
final plans (k = S); each frame stacks the 3-D scene view over the chain view.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.shell.camera_view import rgb_qimage
from recordings.errors import UserFacingError


class ExportError(UserFacingError):
    """An export could not be written (bad path, no plans, encoder failure)."""


def grab_with_gl(widget: QtWidgets.QWidget, scale: float = 1.0) -> QtGui.QImage:
    """Image of `widget` with every visible GL child painted from its own framebuffer.

    scale > 1 renders at that many device pixels per screen pixel — text, curves and the 3-D
    scene are drawn at the higher resolution, not magnified — for slides; 1 is what the screen
    shows."""
    import pyqtgraph.opengl as gl

    from app.qt.shell.scene_view import SceneView, gl_views

    if scale == 1.0:
        if isinstance(widget, (gl.GLViewWidget, SceneView)):
            return widget.grabFramebuffer().convertToFormat(QtGui.QImage.Format.Format_RGB888)
        pixmap = widget.grab()
        painter = QtGui.QPainter(pixmap)
        try:
            for view in gl_views(widget):
                if view.isVisible() and view.width() > 1 and view.height() > 1:
                    top_left = view.mapTo(widget, QtCore.QPoint(0, 0))
                    painter.drawImage(QtCore.QRect(top_left, view.size()), view.grabFramebuffer())
        finally:
            painter.end()
        return pixmap.toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    if isinstance(widget, (gl.GLViewWidget, SceneView)):
        return _gl_image(widget, scale)
    w, h = max(1, round(widget.width() * scale)), max(1, round(widget.height() * scale))
    image = QtGui.QImage(w, h, QtGui.QImage.Format.Format_RGB888)
    image.fill(QtGui.QColor(*BACKGROUND))
    image.setDevicePixelRatio(scale)      # the widget paints in its own units, at scale x pixels
    painter = QtGui.QPainter(image)
    try:
        painter.setRenderHints(QtGui.QPainter.RenderHint.Antialiasing
                               | QtGui.QPainter.RenderHint.TextAntialiasing)
        widget.render(painter, QtCore.QPoint(0, 0), QtGui.QRegion(),
                      QtWidgets.QWidget.RenderFlag.DrawChildren
                      | QtWidgets.QWidget.RenderFlag.DrawWindowBackground)
        for view in gl_views(widget):
            if view.isVisible() and view.width() > 1 and view.height() > 1:
                top_left = view.mapTo(widget, QtCore.QPoint(0, 0))
                painter.drawImage(QtCore.QRectF(QtCore.QPointF(top_left), QtCore.QSizeF(view.size())),
                                  _gl_image(view, scale))
    finally:
        painter.end()
    image.setDevicePixelRatio(1.0)
    return image


def _gl_image(view: QtWidgets.QWidget, scale: float) -> QtGui.QImage:
    """A GL view rendered off-screen at `scale` x its size (the scene view renders at any size;
    another GL widget's framebuffer is scaled smoothly)."""
    w, h = max(1, round(view.width() * scale)), max(1, round(view.height() * scale))
    render = getattr(view, "render_image", None)
    if render is not None:
        rgba = np.ascontiguousarray(render(w, h))
        image = QtGui.QImage(rgba.data, w, h, 4 * w, QtGui.QImage.Format.Format_RGBA8888).copy()
    else:
        image = view.grabFramebuffer().scaled(w, h, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                                              QtCore.Qt.TransformationMode.SmoothTransformation)
    return image.convertToFormat(QtGui.QImage.Format.Format_RGB888)


def qimage_to_array(image: QtGui.QImage) -> np.ndarray:
    """QImage -> [h, w, 3] uint8 RGB."""
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buf.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


# the interactive parts of the inspector's views: hidden in an export (attribute names)
CONTROL_ATTRS = ("play_button", "slider", "speed", "x0_toggle", "step_label", "compare_button",
                 "run_button", "cancel_button")


@contextmanager
def without_controls(widgets: list[QtWidgets.QWidget]) -> Iterator[None]:
    """Hide the views' controls (CONTROL_ATTRS) while the block runs; shown again after."""
    hidden = []
    for widget in widgets:
        for name in CONTROL_ATTRS:
            control = getattr(widget, name, None)
            if isinstance(control, QtWidgets.QWidget) and control.isVisible():
                control.hide()
                hidden.append(control)
    app = QtWidgets.QApplication.instance()
    if hidden and app is not None:
        app.processEvents()     # the layout gives their room to the plots before the grab
    try:
        yield
    finally:
        for control in hidden:
            control.show()


def caption_text(state: Any, scene: str = "", step: int | None = None) -> str:
    """One line naming what an export shows: policy · scene · seed · N · solver · step k/S."""
    batch = state.batch
    policy = state.policy.name if state.policy is not None else "no policy"
    parts = [f"policy {policy}"] + ([f"scene {scene}"] if scene else [])
    if batch is None:
        return " · ".join(parts + ["no plans"])
    k = state.step if step is None else step
    s = batch.num_steps
    parts += [f"seed {batch.seed}", f"N = {batch.num_samples}", f"solver {batch.solver or 'n/a'}",
              f"step {k}/{s}" + (" (final plans)" if k >= s else "")]
    return " · ".join(parts)


def add_caption(image: QtGui.QImage, text: str) -> QtGui.QImage:
    """`image` with a caption strip above it: light text on the theme background, sized to the
    image width (>= 14 px, so it stays legible in a GIF of 800 px)."""
    if not text:
        return image
    px = max(14, min(28, image.width() // 60))
    font = QtGui.QFont()
    font.setPixelSize(px)
    flags = int(QtCore.Qt.AlignmentFlag.AlignVCenter | QtCore.Qt.AlignmentFlag.AlignLeft
                | QtCore.Qt.TextFlag.TextWordWrap)     # a narrow image gets two lines, never a cut one
    width = max(1, image.width() - px)
    needed = QtGui.QFontMetrics(font).boundingRect(QtCore.QRect(0, 0, width, 10_000), flags, text)
    strip = needed.height() + px
    out = QtGui.QImage(image.width(), image.height() + strip, QtGui.QImage.Format.Format_RGB888)
    out.fill(QtGui.QColor(*BACKGROUND))
    painter = QtGui.QPainter(out)
    try:
        painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing)
        painter.setFont(font)
        painter.setPen(QtGui.QColor("#E8EAED"))
        painter.drawText(QtCore.QRect(px // 2, 0, width, strip), flags, text)
        painter.drawImage(0, strip, image)
    finally:
        painter.end()
    return out


def save_png(widget: QtWidgets.QWidget, path: str | Path, caption: str = "",
             size: "ExportSize | None" = None) -> Path:
    """`widget` (its controls hidden) as a PNG, with `caption` above it when given, at `size`
    (default: as on screen)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_suffix(".png")
    if not path.parent.is_dir():
        raise ExportError(f"{path}: folder {path.parent} does not exist")
    with without_controls([widget]):
        scale = (size or ExportSize()).scale_for(widget.width())
        image = grab_with_gl(widget) if scale == 1.0 else grab_with_gl(widget, scale)
    if not add_caption(image, caption).save(str(path), "PNG"):
        raise ExportError(f"{path}: could not write the PNG")
    return path


BACKGROUND = (30, 33, 38)   # the dark theme's base colour, behind narrower images


class ExportSize:
    """How large an export is: `scale` x the view's size on screen (1 = as shown, 2 = twice the
    pixels, drawn at that resolution), or `width` pixels wide (the scale that gives it).

    GIFs are heavy: without a width they are made GIF_WIDTH px wide (x scale)."""

    CHOICES = (("As on screen (1×)", 1.0, None), ("2× (sharp on slides)", 2.0, None),
               ("1280 px wide", None, 1280), ("1920 px wide", None, 1920))

    def __init__(self, scale: float | None = 1.0, width: int | None = None) -> None:
        if width is None and (scale is None or not 0.25 <= scale <= 4.0):
            raise ExportError(f"export scale {scale!r}: expected 0.25..4")
        if width is not None and not 64 <= width <= 8192:
            raise ExportError(f"export width {width!r}: expected 64..8192 px")
        self.scale, self.width = (scale if width is None else None), width

    def scale_for(self, width: int) -> float:
        """The render scale for a view `width` px wide on screen."""
        if self.width is not None:
            return self.width / max(width, 1)
        return float(self.scale)

    def gif_width(self) -> int:
        return self.width if self.width is not None else int(GIF_WIDTH * self.scale)

    def __repr__(self) -> str:
        return f"ExportSize(width={self.width})" if self.width else f"ExportSize(scale={self.scale})"


def stack_frames(images: list[np.ndarray]) -> np.ndarray:
    """Stack [h_i, w_i, 3] images vertically, each centred on the theme background; the result
    has even sides (what H.264 / yuv420p needs)."""
    width = max(im.shape[1] for im in images)
    width += width % 2
    rows = []
    for im in images:
        row = np.empty((im.shape[0], width, 3), dtype=np.uint8)
        row[:] = BACKGROUND
        left = (width - im.shape[1]) // 2
        row[:, left:left + im.shape[1]] = im
        rows.append(row)
    frame = np.concatenate(rows, axis=0)
    if frame.shape[0] % 2:
        frame = np.concatenate([frame, frame[-1:]], axis=0)
    return frame


def chain_frames(state: Any, widgets: list[QtWidgets.QWidget],
                 process_events: Callable[[], None] | None = None, scene: str = "",
                 max_width: int | None = None, caption: bool = True,
                 scale: float = 1.0) -> list[np.ndarray]:
    """One frame per chain step k = 0..S: widgets rendered (controls hidden) after
    state.set_step(k) at `scale` x their screen size (drawn at that resolution), scaled smoothly
    to at most `max_width` px, under a caption naming the step. The step shown before is
    restored afterwards."""
    if state.batch is None or not state.batch.has_chain:
        raise ExportError("no denoising chain to animate: sample with a diffusion policy first")
    app = QtWidgets.QApplication.instance()
    process = process_events or app.processEvents
    before = state.step
    frames = []
    try:
        with without_controls(widgets):
            for k in range(state.num_steps + 1):
                state.set_step(k)
                process()
                frame = stack_frames([qimage_to_array(grab_with_gl(w) if scale == 1.0
                                                      else grab_with_gl(w, scale))
                                      for w in widgets])
                image = rgb_qimage(frame)
                if max_width is not None and image.width() > max_width:
                    # smooth scaling before the caption is drawn: text stays crisp at its size
                    image = image.scaledToWidth(max_width, QtCore.Qt.TransformationMode.SmoothTransformation)
                text = caption_text(state, scene, k) if caption else ""
                frames.append(even_sides(qimage_to_array(add_caption(image, text))))
    finally:
        state.set_step(before)
    hold = frames[-1]
    return frames + [hold] * 4   # linger on the final plans before the loop restarts


def animation_frames(state: Any, widgets: list[QtWidgets.QWidget], kind: str, size: ExportSize,
                     scene: str = "", caption: bool = True) -> list[np.ndarray]:
    """The chain animation's frames for an MP4 or a GIF of `size`: the views are drawn at the
    scale that gives the asked width (the widest view decides), so text is rendered at its
    final size rather than magnified; a GIF without a width is GIF_WIDTH x scale wide."""
    widest = max(w.width() for w in widgets)
    target = size.gif_width() if kind == "gif" else None
    if target is not None:
        # wider than on screen: drawn at that resolution; narrower: drawn 1x, scaled smoothly
        scale = max(1.0, target / max(widest, 1))
    else:
        scale = size.scale_for(widest)
    return chain_frames(state, widgets, scene=scene, caption=caption, scale=scale,
                        max_width=target)


def even_sides(frame: np.ndarray) -> np.ndarray:
    """Crop [h, w, 3] to even h and w (what H.264 / yuv420p needs)."""
    return frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2]


def write_mp4(frames: list[np.ndarray], path: str | Path, fps: float = 6.0) -> Path:
    import imageio_ffmpeg

    path = Path(path)
    _check_parent(path)
    h, w = frames[0].shape[:2]
    try:
        writer = imageio_ffmpeg.write_frames(str(path), (w, h), fps=fps, codec="libx264",
                                             pix_fmt_out="yuv420p", macro_block_size=1,
                                             quality=7, ffmpeg_log_level="error")
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame[:h, :w]))
        writer.close()
    except (OSError, RuntimeError) as exc:
        raise ExportError(f"{path}: video encoding failed ({exc})") from None
    return path


GIF_WIDTH = 1280  # px: legible on a slide (800 px made axis text ~6 px high); scaled smoothly


def write_gif(frames: list[np.ndarray], path: str | Path, fps: float = 6.0,
              max_width: int | None = None) -> Path:
    """Frames (already at their size: `animation_frames`) as a looping GIF; frames wider than
    `max_width` are scaled down smoothly (never by dropping pixel rows and columns)."""
    import imageio.v2 as imageio

    path = Path(path)
    _check_parent(path)
    small = frames
    if max_width is not None and frames[0].shape[1] > max_width:
        small = [even_sides(qimage_to_array(rgb_qimage(f).scaledToWidth(
            max_width, QtCore.Qt.TransformationMode.SmoothTransformation))) for f in frames]
    try:
        imageio.mimsave(str(path), small, duration=1000.0 / fps, loop=0)
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path}: GIF encoding failed ({exc})") from None
    return path


def _check_parent(path: Path) -> None:
    if not path.parent.is_dir():
        raise ExportError(f"{path}: folder {path.parent} does not exist")


class ExportMenu:
    """File ▸ Export: PNG of the scene, chain, modes, sweep views or the window; MP4/GIF."""

    def __init__(self, workspace: Any, file_menu: QtWidgets.QMenu) -> None:
        self.ws = workspace
        menu = QtWidgets.QMenu("E&xport", file_menu)
        quit_action = next((a for a in file_menu.actions() if "Quit" in a.text()), None)
        file_menu.insertMenu(quit_action, menu)
        views = {"3-D scene view": lambda: workspace.window.scene_view,
                 "Denoising chain view": lambda: workspace.chain_view,
                 "Modes view": lambda: workspace.modes_view,
                 "Solver sweep view": lambda: workspace.sweep_view,
                 "Whole window": lambda: workspace.window}
        for title, get in views.items():
            menu.addAction(f"{title} as PNG…", lambda _c=False, t=title, g=get: self.png(t, g()))
        self.caption_action = menu.addAction("Caption line (policy, scene, seed, N, solver, step)")
        self.caption_action.setCheckable(True)
        self.caption_action.setChecked(True)
        sizes = menu.addMenu("Export size")
        group = QtGui.QActionGroup(sizes)
        self.size_actions: dict[str, QtGui.QAction] = {}
        for text, scale, width in ExportSize.CHOICES:
            action = sizes.addAction(text)
            action.setCheckable(True)
            action.setData((scale, width))
            group.addAction(action)
            self.size_actions[text] = action
        self._restore_size()
        group.triggered.connect(self._remember_size)
        menu.addSeparator()
        menu.addAction("Denoising animation as MP4…", lambda: self.animation("mp4"))
        menu.addAction("Denoising animation as GIF…", lambda: self.animation("gif"))
        self.menu = menu

    def _ask(self, title: str, suffix: str) -> str:
        name = title.lower().replace(" ", "_").replace("-", "")
        from app.qt.shell.settings import in_last_folder, remember_folder
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.ws.window, f"Export {title}", in_last_folder(f"{name}.{suffix}"),
            f"{suffix.upper()} (*.{suffix})")
        remember_folder(path)
        return path

    def export_size(self) -> ExportSize:
        """The size chosen in File > Export > Export size (1x, 2x, 1280 or 1920 px wide)."""
        for action in self.size_actions.values():
            if action.isChecked():
                scale, width = action.data()
                return ExportSize(scale, width)
        return ExportSize()

    def _restore_size(self) -> None:
        from app.qt.shell.settings import app_settings
        chosen = app_settings().value("export/size")
        action = self.size_actions.get(chosen) or next(iter(self.size_actions.values()))
        action.setChecked(True)

    def _remember_size(self, action: QtGui.QAction) -> None:
        from app.qt.shell.settings import app_settings
        app_settings().setValue("export/size", action.text())

    def caption(self, step: int | None = None) -> str:
        if not self.caption_action.isChecked():
            return ""
        session = getattr(self.ws.window, "session", None)
        return caption_text(self.ws.state, getattr(session, "scene_name", "") or "", step)

    def png(self, title: str, widget: QtWidgets.QWidget) -> None:
        path = self._ask(title, "png")
        if path:
            out = self.ws.window.run_guarded("Export failed", save_png, widget, path, self.caption(),
                                             self.export_size())
            if out:
                self.ws.window.status(f"saved {out}")

    def animation(self, kind: str) -> None:
        path = self._ask("denoising animation", kind)
        if not path:
            return
        window = self.ws.window

        def work() -> Path:
            session = getattr(window, "session", None)
            scene = (getattr(session, "scene_name", "") or "") if self.caption_action.isChecked() else ""
            frames = animation_frames(self.ws.state, [window.scene_view, self.ws.chain_view],
                                      kind, self.export_size(), scene=scene,
                                      caption=self.caption_action.isChecked())
            return (write_mp4 if kind == "mp4" else write_gif)(frames, path)
        out = window.run_guarded("Export failed", work)
        if out:
            window.status(f"saved {out}")
