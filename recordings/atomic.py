"""Small file-system helpers for crash-safe writes: fsync a file or a folder, replace atomically.

os.replace is atomic on POSIX: any reader (or a process started after a crash) sees either the
old file or the new one, never a mix. fsync makes the new bytes survive a power cut too; a
process kill (SIGKILL) alone cannot lose data the kernel already accepted.
"""
from __future__ import annotations

import os


def fsync_path(path: str) -> None:
    """fsync a file's data and metadata by path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str) -> None:
    """fsync a folder so a rename inside it is durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(path or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace(tmp: str, final: str, *, durable: bool) -> None:
    """Move a fully written tmp file over final in one atomic step (fsync first when durable)."""
    if durable:
        fsync_path(tmp)
    os.replace(tmp, final)
    if durable:
        fsync_dir(os.path.dirname(os.path.abspath(final)))


def remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
