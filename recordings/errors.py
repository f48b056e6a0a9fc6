"""Errors a user can cause. Every package's user-facing error derives from UserFacingError, so the
CLI prints one line for any of them and the GUI shows one dialog; everything else is a bug."""


class UserFacingError(Exception):
    """Bad input the user can fix: a wrong path, a corrupt file, a policy for another scene.
    The message names the thing and what is wrong, in one line."""


class RecordingError(UserFacingError):
    """A recording cannot be read or written (not HDF5, truncated, unknown schema, unwritable)."""
