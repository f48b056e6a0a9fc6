"""Recordings: the shared vocabulary (PlanBatch, rollouts) and the HDF5 + SQLite formats.

The leaf package: numpy, h5py and sqlite3 only.
"""
from recordings.errors import RecordingError, UserFacingError
from recordings.plan_batch import PlanBatch

__all__ = ["PlanBatch", "RecordingError", "UserFacingError"]
