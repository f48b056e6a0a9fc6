"""The worker pool's Ray errors name their cause (a failed Ray scan's frames said only
"ray::_remote_call() (pid=.., ip=..)" before)."""
from __future__ import annotations

import pytest

from app.core.worker_pool import ray_error


def test_a_ray_task_error_is_reported_as_the_exception_raised_inside_the_task():
    exceptions = pytest.importorskip("ray.exceptions")
    try:
        raise RuntimeError("Cannot insert a Tensor that requires grad as a constant")
    except RuntimeError as cause:
        import traceback
        wrapped = exceptions.RayTaskError("_remote_call", traceback.format_exc(), cause)
    dual = wrapped.as_instanceof_cause()     # what ray.get raises
    assert "requires grad" not in str(dual).splitlines()[0]    # Ray's own first line: pid, ip
    assert ray_error(dual) == ("RuntimeError: Cannot insert a Tensor that requires grad as a "
                               "constant (in a Ray task)")


def test_other_errors_keep_their_first_line():
    assert ray_error(OSError("object store full\nmore")) == "OSError: object store full"
