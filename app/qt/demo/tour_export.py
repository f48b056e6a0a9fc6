"""Export the guided tour: every card as a PNG and the whole tour as one MP4 (imageio-ffmpeg).

The window is driven exactly as a presenter would: each card's setup runs, the views settle
(sampling finishes, the chain plays), then the window is grabbed. The MP4 shows every card for
`seconds_per_card` seconds of real time, so the chain and the probe animate in the video as they
do on screen. Frames are grabbed as fast as the machine allows; a frame that took longer than
1/fps to grab is repeated so the video's clock matches the window's.

Output: DIR/card_1_problem.png ... DIR/card_6_probe.png and DIR/planscope_tour.mp4.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from recordings.errors import UserFacingError

log = logging.getLogger(__name__)


class ExportError(UserFacingError):
    """The tour could not be exported (unwritable folder, ffmpeg missing)."""


@dataclass
class ExportResult:
    pngs: list[Path] = field(default_factory=list)
    video: Path | None = None
    frames: int = 0
    seconds: float = 0.0


def wait_until(predicate: Callable[[], bool], timeout_s: float, poll_ms: int = 20) -> bool:
    """Run the Qt event loop until predicate() is true or timeout_s passes; True when it held."""
    app = QtWidgets.QApplication.instance()
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        app.processEvents(QtCore.QEventLoop.AllEvents, poll_ms)
        if predicate():
            return True
        time.sleep(poll_ms / 4000.0)
    app.processEvents()
    return predicate()


def pump(seconds: float) -> None:
    """Let the event loop run (timers fire, animations advance) for `seconds`."""
    wait_until(lambda: False, seconds)


def grab_rgb(window: QtWidgets.QWidget, size: tuple[int, int] | None = None) -> np.ndarray:
    """[h, w, 3] uint8 RGB image of the window as shown (GL views included), scaled to `size`
    (width, height) when given; width and height are made even (H.264 needs it).

    Uses the snapshot command's composition (each GL view's own framebuffer painted in place,
    so 3-D views are never black), then paints the tour card again on top: the GL frames would
    otherwise cover the part of the card that floats over the scene view."""
    from app.qt.shell.grab import grab_window

    image = grab_window(window)
    tour = getattr(window, "tour", None)
    if tour is not None and tour.card.isVisible():
        painter = QtGui.QPainter(image)
        try:
            painter.drawPixmap(tour.card.geometry().topLeft(), tour.card.grab())
        finally:
            painter.end()
    image = image.convertToFormat(QtGui.QImage.Format_RGB888)
    if size is not None and (image.width(), image.height()) != tuple(size):
        image = image.scaled(size[0], size[1], QtCore.Qt.IgnoreAspectRatio,
                             QtCore.Qt.SmoothTransformation)
    w, h = image.width() - image.width() % 2, image.height() - image.height() % 2
    ptr = image.constBits()
    arr = np.frombuffer(ptr, dtype=np.uint8, count=image.sizeInBytes())
    arr = arr.reshape(image.height(), image.bytesPerLine())[:, :image.width() * 3]
    return arr.reshape(image.height(), image.width(), 3)[:h, :w].copy()


def save_png(rgb: np.ndarray, path: Path) -> None:
    h, w, _ = rgb.shape
    image = QtGui.QImage(rgb.data, w, h, 3 * w, QtGui.QImage.Format_RGB888)
    if not image.save(str(path), "PNG"):
        raise ExportError(f"cannot write {path}")


def export_tour(window: QtWidgets.QMainWindow, out_dir: str | Path, *,
                size: tuple[int, int] | None = None, seconds_per_card: float = 6.0,
                fps: int = 10, video: bool = True, settle: Callable[[str], None] | None = None,
                progress: Callable[[int, int, str], None] | None = None) -> ExportResult:
    """Walk `window.tour` card by card and write the PNGs and (video=True) the MP4.

    size: (width, height) of the PNGs and video frames (the window's size when None).
    settle(key): called after each card's setup to wait until its views are ready (e.g. the
    sampling finished); the default waits for `window.demo.is_settled(key)` when present.
    progress(k, total, key): after each card."""
    tour = getattr(window, "tour", None)
    if tour is None:
        raise ExportError("this window has no guided tour to export")
    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".planscope_write_test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ExportError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    result = ExportResult()
    writer = None
    video_path = out / "planscope_tour.mp4"
    tmp_video = out / ".planscope_tour.partial.mp4"
    t_start = time.perf_counter()
    try:
        cards = tour.model.cards
        for index, spec in enumerate(cards):
            if index == 0:
                tour.start(0)
            else:
                tour.model.go_to(index)
            (settle or _default_settle(window))(spec.key)
            demo = getattr(window, "demo", None)
            restore = demo.still(spec.key) if hasattr(demo, "still") else None
            frame = grab_rgb(window, size)
            if restore is not None:
                restore()
            png = out / f"card_{index + 1}_{spec.key}.png"
            save_png(frame, png)
            result.pngs.append(png)
            if video:
                if writer is None:
                    writer = _open_video(tmp_video, frame.shape[1], frame.shape[0], fps)
                seconds = seconds_per_card
                if hasattr(demo, "video_seconds"):
                    seconds = demo.video_seconds(spec.key, seconds_per_card)
                result.frames += _record_card(window, writer, frame, seconds, fps, size)
            if progress is not None:
                progress(index + 1, len(cards), spec.key)
        if writer is not None:
            writer.close()
            writer = None
            tmp_video.replace(video_path)
            result.video = video_path
    finally:
        if writer is not None:
            writer.close()
        tmp_video.unlink(missing_ok=True)
    result.seconds = time.perf_counter() - t_start
    return result


def _default_settle(window: QtWidgets.QMainWindow) -> Callable[[str], None]:
    demo = getattr(window, "demo", None)

    def settle(key: str) -> None:
        if demo is not None and hasattr(demo, "is_settled"):
            if not wait_until(lambda: demo.is_settled(key), timeout_s=120.0):
                log.warning("card %s did not settle within 120 s; exporting it as it is", key)
        pump(0.4)   # a few animation frames and the card's own layout pass
    return settle


def _open_video(path: Path, width: int, height: int, fps: int):
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ExportError("imageio-ffmpeg is not installed; cannot write the MP4") from exc
    writer = imageio_ffmpeg.write_frames(str(path), (width, height), fps=fps, codec="libx264",
                                         pix_fmt_out="yuv420p", macro_block_size=2,
                                         quality=7, ffmpeg_log_level="error")
    writer.send(None)   # start the generator
    return writer


def _record_card(window: QtWidgets.QMainWindow, writer, first: np.ndarray, seconds: float,
                 fps: int, size: tuple[int, int] | None) -> int:
    """Write `seconds` of video of the window as it animates; returns frames written."""
    total = max(1, int(round(seconds * fps)))
    written = 0
    frame = first
    next_grab = time.perf_counter()
    while written < total:
        writer.send(np.ascontiguousarray(frame))
        written += 1
        next_grab += 1.0 / fps
        # Let timers run until this frame's slot is over; if grabbing was slow, the frame is
        # simply repeated (the loop writes again without pumping) so the video keeps real time.
        remaining = next_grab - time.perf_counter()
        if remaining > 0:
            pump(remaining)
            frame = grab_rgb(window, size)
        elif -remaining > 1.0 / fps:
            continue
        else:
            QtWidgets.QApplication.instance().processEvents()
            frame = grab_rgb(window, size)
    return written
