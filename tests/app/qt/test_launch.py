"""`planscope` start-up: the window is shown before any heavy module is imported, and the probe
that `planscope bench startup` reads reports every phase in order (app/qt/launch.py,
app/qt/shell/startup.py). The figures themselves are never judged here."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.bench.startup import phase_table
from app.qt.shell.startup import HEAVY_MODULES, STARTUP_PROBE_ENV

LAUNCH_PHASES = ["interpreter and command line", "Qt imported",
                 "window modules imported (pyqtgraph, OpenGL)", "window built (starting workspace)",
                 "window shown", "first paint", "other workspaces installed",
                 "scene loaded and mirrored"]


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> dict:
    """One real `python -m app.cli` start with the probe set (in a fresh interpreter, so
    sys.modules is the app's own), on the test session's display."""
    pytest.importorskip("pybullet")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        pytest.skip("needs a display (pytest-xvfb provides one)")
    env = dict(os.environ, **{STARTUP_PROBE_ENV: "1",
                              "PLANSCOPE_SETTINGS_DIR": str(tmp_path_factory.mktemp("settings"))})
    proc = subprocess.run([sys.executable, "-m", "app.cli"], env=env, capture_output=True,
                          text=True, timeout=180)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, proc.stderr[-2000:]
    return json.loads(lines[-1])


def test_no_heavy_module_is_imported_when_the_window_is_shown(probe):
    # torch, pybullet, scipy, sklearn, diffusers, numba, h5py, pyarrow, zarr, av ... are for later
    # features; each costs 0.1-1.5 s of CPU the first picture would wait for
    assert {"torch", "pybullet", "scipy", "numba", "pyarrow", "zarr", "av"} <= set(HEAVY_MODULES)
    assert probe["heavy_modules_at_show"] == []
    assert probe["torch_imported"] is False and probe["pybullet_imported"] is False


def test_the_probe_reports_every_phase_in_order_with_growing_clocks(probe):
    marks = probe["phases"]
    assert [m["phase"] for m in marks] == LAUNCH_PHASES
    for key in ("wall_s", "cpu_s", "thread_cpu_s"):
        values = [m[key] for m in marks]
        assert values == sorted(values) and values[0] > 0
    # the window counts as shown at the first paint, and the scene is mirrored after it
    shown = marks[LAUNCH_PHASES.index("first paint")]["wall_s"]
    assert shown == pytest.approx(probe["window_shown_s"], abs=0.05)
    assert probe["scene_ready_s"] >= shown


def test_the_phase_table_takes_each_phases_own_time_and_the_median_over_starts():
    def start(*walls: float) -> dict:
        return {"phases": [{"phase": f"p{i}", "wall_s": w, "cpu_s": w / 2, "thread_cpu_s": w / 4}
                           for i, w in enumerate(walls)]}

    rows = phase_table([start(1.0, 1.5, 4.0), start(2.0, 2.2, 3.0), start(1.2, 2.0, 2.5)])
    assert [r["phase"] for r in rows] == ["p0", "p1", "p2"]
    # own wall times (1, 2, 1.2), (.5, .2, .8), (2.5, .8, .5): medians 1.2, .5, .8
    assert [r["wall_s"] for r in rows] == [1.2, 0.5, 0.8]
    assert [r["cpu_s"] for r in rows] == [0.6, 0.25, 0.4]
    assert [r["at_s"] for r in rows] == [1.2, 2.0, 3.0]
