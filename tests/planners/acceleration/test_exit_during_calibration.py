"""A process that exits while a background calibration is timing kernels exits cleanly: the
daemon thread used to be inside torch when the interpreter finalised, which aborts the process
("terminate called without an active exception", exit 134; seen at the end of a pytest run and
when the app was closed during a calibration)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import sys, torch
sys.path.insert(0, {root!r})
from tests.planners.acceleration.test_packed_and_background import dp_unet, call, H, G
from planners.acceleration import Accelerator
from planners.acceleration.policy_acceleration import _daemon_thread
acc = Accelerator(dp_unet(), horizon=H, native_call=call, cache_dir={cache!r}, reduced=None)
acc.background = _daemon_thread
acc.idle_wait = lambda: None
acc.model_fn(torch.randn(1, G), 20)   # schedules bucket 32's calibration on a daemon thread
assert acc.pending == {{32}}
print("exiting during a calibration", flush=True)
"""


def test_exiting_during_a_background_calibration_is_a_clean_exit(tmp_path) -> None:
    for attempt in range(3):   # the abort needed the thread inside torch at finalisation: try thrice
        done = subprocess.run([sys.executable, "-c", SCRIPT.format(root=str(ROOT), cache=str(tmp_path / str(attempt)))],
                              capture_output=True, text=True, timeout=300,
                              env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
        assert "exiting during a calibration" in done.stdout, done.stderr
        assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
        assert "terminate called" not in done.stderr
