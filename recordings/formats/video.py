"""Camera frames in mp4 files: decode frames at given timestamps, encode frames into a stream.

Decoding uses PyAV (imported lazily), whose wheels ship FFmpeg with libdav1d (AV1, LeRobot's
default libsvtav1 output) and FFmpeg's native H.264 decoder; both are tested. Frames are the
RGB24 conversion of the decoded picture, [H, W, 3] uint8 — the same conversion LeRobot's
pyav backend makes before dividing by 255.

A LeRobot v3 video file holds many episodes back to back; an episode's frame t sits at
from_timestamp + timestamp(t). `VideoFile.frames_at` seeks once to the keyframe before the
first wanted time and decodes forward to the last one, matching each wanted time to the nearest
decoded frame within a tolerance (LeRobot's default 1e-4 s), like LeRobot's decoders do.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from fractions import Fraction
from typing import Iterable, Sequence

import numpy as np

from recordings.dataset import DatasetError

DEFAULT_TOLERANCE_S = 1e-4
_CACHED_FRAMES = 64      # decoded frames kept per file (history windows reuse them)


def _first_line(exc: BaseException) -> str:
    # FFmpeg's errors (av.error.*) carry a plain strerror; their str() repeats the errno and
    # the file name, which the message already starts with
    strerror = getattr(exc, "strerror", None)
    if isinstance(strerror, str) and strerror.strip():
        return strerror.strip().splitlines()[0]
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class VideoFile:
    """One open mp4 (or any container FFmpeg reads). Keep it open across calls: opening costs
    ~1 ms, seeking in an open file much less."""

    def __init__(self, path: str) -> None:
        import av  # lazy: only data sets with video features need it
        self.path = path
        if not os.path.isfile(path):
            raise DatasetError(f"{path}: missing video file")
        try:
            self._container = av.open(path, "r")
            self._stream = self._container.streams.video[0]
        except (av.error.FFmpegError, IndexError, OSError) as exc:
            raise DatasetError(f"{path}: cannot open video ({_first_line(exc)}); truncated or "
                               f"not a video file") from None
        self._stream.thread_type = "AUTO"
        self._time_base = float(self._stream.time_base)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()   # pts -> frame
        self._times: dict[int, float] = {}

    @property
    def codec(self) -> str:
        return str(self._stream.codec_context.codec.name)

    def close(self) -> None:
        self._container.close()
        self._cache.clear()

    def _cached(self, t: float, tolerance_s: float) -> np.ndarray | None:
        for pts, frame in self._cache.items():
            if abs(self._times[pts] - t) < tolerance_s:
                return frame
        return None

    def frames_at(self, times: Sequence[float], tolerance_s: float = DEFAULT_TOLERANCE_S
                  ) -> np.ndarray:
        """Frames nearest to each time (seconds from the file's start): [len(times), H, W, 3]
        uint8. DatasetError when no decoded frame is within tolerance (truncated video, or
        metadata that does not match the file)."""
        import av
        times = [float(t) for t in times]
        found: dict[float, np.ndarray] = {}
        for t in times:
            hit = self._cached(t, tolerance_s)
            if hit is not None:
                found[t] = hit
        wanted = sorted({t for t in times if t not in found})
        if wanted:
            decoded: list[tuple[float, np.ndarray]] = []
            try:
                self._container.seek(max(0, int(wanted[0] / self._time_base)), backward=True,
                                     any_frame=False, stream=self._stream)
                for frame in self._container.decode(self._stream):
                    if frame.pts is None:
                        continue
                    ts = frame.pts * self._time_base
                    rgb = frame.to_ndarray(format="rgb24")
                    decoded.append((ts, rgb))
                    self._remember(frame.pts, ts, rgb)
                    if ts >= wanted[-1] - tolerance_s:
                        break
            except (av.error.FFmpegError, OSError, ValueError) as exc:
                raise DatasetError(f"{self.path}: cannot decode video at t={wanted[0]:.4f}s "
                                   f"({_first_line(exc)}); the file is truncated or "
                                   f"corrupt") from None
            stamps = np.array([d[0] for d in decoded]) if decoded else np.zeros(0)
            for t in wanted:
                if not len(stamps):
                    raise DatasetError(f"{self.path}: no frame decoded at t={t:.4f}s; the video "
                                       f"is truncated or the episode metadata points past it")
                j = int(np.argmin(np.abs(stamps - t)))
                if abs(stamps[j] - t) >= tolerance_s:
                    raise DatasetError(
                        f"{self.path}: no frame within {tolerance_s:g} s of t={t:.4f}s (nearest "
                        f"decoded {stamps[j]:.4f}s); the video is truncated or does not match "
                        f"the episode timestamps")
                found[t] = decoded[j][1]
        return np.stack([found[t] for t in times])

    def _remember(self, pts: int, ts: float, rgb: np.ndarray) -> None:
        self._cache[pts] = rgb
        self._times[pts] = ts
        self._cache.move_to_end(pts)
        while len(self._cache) > _CACHED_FRAMES:
            old, _ = self._cache.popitem(last=False)
            self._times.pop(old, None)


class VideoFiles:
    """A small cache of open VideoFile objects (one per path)."""

    def __init__(self, capacity: int = 8) -> None:
        self._open: OrderedDict[str, VideoFile] = OrderedDict()
        self._capacity = capacity

    def get(self, path: str) -> VideoFile:
        vf = self._open.get(path)
        if vf is None:
            vf = VideoFile(path)
            self._open[path] = vf
            while len(self._open) > self._capacity:
                _, old = self._open.popitem(last=False)
                old.close()
        self._open.move_to_end(path)
        return vf

    def close(self) -> None:
        for vf in self._open.values():
            vf.close()
        self._open.clear()


class VideoEncoder:
    """Encode RGB frames [H, W, 3] uint8 into one continuous stream, frame n at time n / fps.

    codec: "libsvtav1" (AV1, LeRobot's default), "libx264" or "h264"; yuv420p, a keyframe every
    `gop` frames (LeRobot's g=2 keeps random access cheap), crf 30."""

    def __init__(self, path: str, fps: int, width: int, height: int, *,
                 codec: str = "libsvtav1", gop: int = 2, crf: int = 30) -> None:
        import av
        if codec in ("libx264", "h264") and (width % 2 or height % 2):
            raise DatasetError(f"{path}: H.264 (yuv420p) needs even frame sizes, camera is "
                               f"{width}x{height}; use codec libsvtav1")
        os.environ.setdefault("SVT_LOG", "1")     # SVT-AV1 prints its whole config otherwise
        av.logging.set_level(av.logging.ERROR)
        self.path = path
        self._container = av.open(path, "w")
        options = {"g": str(gop), "crf": str(crf)}
        if codec == "libsvtav1":
            options["preset"] = "12"
        try:
            self._stream = self._container.add_stream(codec, rate=fps, options=options)
        except (av.error.FFmpegError, ValueError) as exc:
            self._container.close()
            raise DatasetError(f"{path}: cannot encode with {codec} ({_first_line(exc)})") from None
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        self._stream.time_base = Fraction(1, fps)
        self._count = 0
        self.shape = (height, width, 3)

    @property
    def frames_written(self) -> int:
        return self._count

    def write(self, frames: Iterable[np.ndarray]) -> None:
        import av
        for rgb in frames:
            rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
            if rgb.shape != self.shape:
                raise DatasetError(f"{self.path}: frame of shape {rgb.shape}, the stream is "
                                   f"{self.shape}")
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = self._count
            self._count += 1
            for packet in self._stream.encode(frame):
                self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()

    def abort(self) -> None:
        try:
            self._container.close()
        except Exception:  # noqa: BLE001 - the file is deleted by the caller anyway
            pass


def video_info(path: str) -> dict:
    """The `info` block LeRobot keeps per video feature in meta/info.json."""
    import av
    with av.open(path, "r") as c:
        s = c.streams.video[0]
        return {"video.height": s.height, "video.width": s.width,
                "video.codec": s.codec_context.codec.canonical_name if hasattr(
                    s.codec_context.codec, "canonical_name") else s.codec_context.codec.name,
                "video.pix_fmt": s.pix_fmt, "video.is_depth_map": False,
                "video.fps": int(s.base_rate), "video.channels": 3, "has_audio": False}
