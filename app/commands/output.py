"""The one `--out` rule every planscope command follows (README, "Command line").

Checked before any work starts, so a run that would fail to write fails in the first second, not
after training to the end:

1. the folder that will hold the output must already exist (nothing is created for you, so a
   refused or failed run leaves nothing behind);
2. that folder must be writable;
3. an existing output is refused unless `--force` (eval and scan also accept `--resume`, which
   finishes the file instead of replacing it);
4. the output's kind (file or folder) and suffix must match what the command writes.

Writers then write atomically (a temporary file or folder beside the target, renamed at the end).
"""
from __future__ import annotations

import argparse
import os

from recordings.errors import UserFacingError


def add_force(parser: argparse.ArgumentParser, what: str = "the output") -> None:
    """Add the shared `--force` flag (replace an existing output)."""
    parser.add_argument("--force", action="store_true", help=f"replace {what} if it exists")


def check_out(path: str, *, kind: str = "file", suffixes: tuple[str, ...] = (),
              force: bool = False, resume: bool | None = None, flag: str = "--out") -> str:
    """Apply the `--out` rule to `path`; returns its absolute path or raises UserFacingError
    with one line naming the flag, the path and what is wrong.

    kind: "file" or "dir" (what the command writes). suffixes: allowed file suffixes, lower-case
    with the dot (".h5"); empty = any. resume: None for commands without `--resume`; True = an
    existing output is fine (the command finishes it). force: an existing output will be replaced (the command replaces it atomically).
    """
    if not path:
        raise UserFacingError(f"{flag}: empty path")
    out = os.path.abspath(os.path.expanduser(path))
    folder = os.path.dirname(out)
    if not os.path.isdir(folder):
        raise UserFacingError(f"{flag} {path}: folder {folder} does not exist (create it first)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserFacingError(f"{flag} {path}: folder {folder} is not writable")
    if kind == "file":
        if os.path.isdir(out):
            raise UserFacingError(f"{flag} {path}: is a folder, expected a file path")
        if suffixes and not out.lower().endswith(suffixes):
            raise UserFacingError(f"{flag} {path}: expected a {' or '.join(suffixes)} file")
    elif kind == "dir":
        if os.path.exists(out) and not os.path.isdir(out):
            raise UserFacingError(f"{flag} {path}: is a file, expected a folder path")
    else:
        raise ValueError(f"kind must be 'file' or 'dir', got {kind!r}")
    exists = os.path.isfile(out) or (os.path.isdir(out) and bool(os.listdir(out)))
    if exists and not (force or resume):
        what = "folder" if kind == "dir" else "file"
        hint = ("--resume to finish it or --force to replace it" if resume is not None
                else "--force to replace it")
        raise UserFacingError(f"{flag} {path}: {what} exists; pass {hint}, or choose another {what}")
    if exists and not os.access(out, os.W_OK):
        raise UserFacingError(f"{flag} {path}: exists and is not writable")
    return out
