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

from recordings.errors import UserFacingError


class ExportError(UserFacingError):
    """An export could not be written (bad path, no plans, encoder failure)."""


def grab_with_gl(widget: QtWidgets.QWidget) -> QtGui.QImage:
    """Image of `widget` with every visible GL child painted from its own framebuffer."""
    import pyqtgraph.opengl as gl

    from app.qt.shell.scene_view import SceneView, gl_views

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


def save_png(widget: QtWidgets.QWidget, path: str | Path, caption: str = "") -> Path:
    """`widget` (its controls hidden) as a PNG, with `caption` above it when given."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_suffix(".png")
    if not path.parent.is_dir():
        raise ExportError(f"{path}: folder {path.parent} does not exist")
    with without_controls([widget]):
        image = grab_with_gl(widget)
    if not add_caption(image, caption).save(str(path), "PNG"):
        raise ExportError(f"{path}: could not write the PNG")
    return path


BACKGROUND = (30, 33, 38)   # the dark theme's base colour, behind narrower images


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
                 max_width: int | None = None, caption: bool = True) -> list[np.ndarray]:
    """One frame per chain step k = 0..S: widgets rendered (controls hidden) after
    state.set_step(k), scaled smoothly to at most `max_width` px, under a caption naming the step.
    The step shown before is restored afterwards."""
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
                frame = stack_frames([qimage_to_array(grab_with_gl(w)) for w in widgets])
                image = array_to_qimage(frame)
                if max_width is not None and image.width() > max_width:
                    # smooth scaling before the caption is drawn: text stays crisp at its size
                    image = image.scaledToWidth(max_width, QtCore.Qt.TransformationMode.SmoothTransformation)
                text = caption_text(state, scene, k) if caption else ""
                frames.append(even_sides(qimage_to_array(add_caption(image, text))))
    finally:
        state.set_step(before)
    hold = frames[-1]
    return frames + [hold] * 4   # linger on the final plans before the loop restarts


def array_to_qimage(frame: np.ndarray) -> QtGui.QImage:
    """[h, w, 3] uint8 RGB -> QImage (a copy)."""
    frame = np.ascontiguousarray(frame)
    h, w = frame.shape[:2]
    return QtGui.QImage(frame.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()


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


GIF_WIDTH = 800   # px: GIFs get large; chain_frames scales them smoothly before the caption


def write_gif(frames: list[np.ndarray], path: str | Path, fps: float = 6.0, max_width: int = 900) -> Path:
    import imageio.v2 as imageio

    path = Path(path)
    _check_parent(path)
    step = max(1, int(np.ceil(frames[0].shape[1] / max_width)))  # GIFs get large: subsample
    small = [f[::step, ::step] for f in frames]
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

    def caption(self, step: int | None = None) -> str:
        if not self.caption_action.isChecked():
            return ""
        session = getattr(self.ws.window, "session", None)
        return caption_text(self.ws.state, getattr(session, "scene_name", "") or "", step)

    def png(self, title: str, widget: QtWidgets.QWidget) -> None:
        path = self._ask(title, "png")
        if path:
            out = self.ws.window.run_guarded("Export failed", save_png, widget, path, self.caption())
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
            frames = chain_frames(self.ws.state, [window.scene_view, self.ws.chain_view], scene=scene,
                                  max_width=GIF_WIDTH if kind == "gif" else None,
                                  caption=self.caption_action.isChecked())
            return (write_mp4 if kind == "mp4" else write_gif)(frames, path)
        out = window.run_guarded("Export failed", work)
        if out:
            window.status(f"saved {out}")
