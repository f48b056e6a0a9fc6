"""planscope's torch thread policy (planners/threads.py): free cores from affinity and load."""
from __future__ import annotations

import pytest

from planners.protocol import PlannerError
from planners.threads import THREADS_ENV, choose_threads, usable_cores


@pytest.mark.parametrize("cores, load, reserve, expected", [
    (2, 0.0, 0, 2),      # idle 2-core machine: both
    (2, 1.2, 0, 1),      # one core busy elsewhere
    (2, 3.7, 0, 1),      # oversubscribed: never fewer than 1
    (2, 0.0, 1, 1),      # the app keeps one core for its GUI thread
    (16, 5.4, 1, 10),
    (8, 0.4, 0, 8),      # load rounds: 0.4 of a core is not a busy core
])
def test_free_cores(cores, load, reserve, expected):
    assert choose_threads(cores=cores, load=load, reserve=reserve, env={}) == expected


def test_overrides_win_in_order():
    assert choose_threads(3, cores=2, load=5.0, env={THREADS_ENV: "4"}) == 3
    assert choose_threads(cores=2, load=5.0, env={THREADS_ENV: "4"}) == 4
    assert choose_threads(cores=2, load=5.0, env={THREADS_ENV: "zero"}) == 1   # ignored if not N


def test_bad_threads_is_one_line():
    with pytest.raises(PlannerError, match="--threads must be >= 1, got 0"):
        choose_threads(0)


def test_this_machine():
    assert 1 <= choose_threads(env={}) <= usable_cores()


def test_a_scan_worker_caps_numpys_and_sklearns_native_pools_too():
    """torch.set_num_threads does not reach the OpenMP/BLAS pools of numpy/scipy/sklearn: two
    scan workers each spinning one per core ran slower than one worker. The worker init caps them."""
    import subprocess
    import sys
    code = ("import numpy, sklearn.cluster, threadpoolctl\n"
            "from app.core.scan.work import one_torch_thread\n"
            "one_torch_thread()\n"
            "info = threadpoolctl.threadpool_info()\n"
            "assert info, 'no native pool found'\n"
            "print(sorted({p['num_threads'] for p in info}))\n")
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.strip()
    assert out == "[1]", out
