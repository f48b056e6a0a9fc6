"""CLI side of the shell: `planscope snapshot` writes a real picture of the window, errors end in
one line and exit code 2, `planscope bench` lists its benchmarks."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6 import QtGui

from app.cli import main

pytest.importorskip("pybullet")


@pytest.fixture(autouse=True)
def shell_only(monkeypatch):
    """The shell's own behaviour, without the feature workspaces (their tests cover --view X)."""
    monkeypatch.setattr("app.qt.registry.FEATURES", ())


def test_snapshot_writes_the_window_with_the_scene(tmp_path, capsys, qapp):
    out = tmp_path / "shot.png"
    assert main(["snapshot", "--out", str(out), "--size", "800x500"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (800, 500)
    # the GL scene view (left, below the toolbar) is composed in, not a black rectangle, and
    # holds more than the background: the table, the robot and the red mug
    rows = [[image.pixelColor(x, y).getRgb()[:3] for x in range(20, 560, 6)]
            for y in range(80, 460, 6)]
    pixels = np.array(rows)
    assert (pixels.max(axis=-1) < 8).mean() < 0.05, "scene area is black"
    red = (pixels[..., 0] > 120) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    light = pixels.min(axis=-1) > 170     # the white robot
    assert red.sum() >= 2 and light.sum() >= 10


def test_snapshot_with_bad_assets_fails_in_one_line(tmp_path, capsys, qapp):
    code = main(["snapshot", "--out", str(tmp_path / "x.png"), "--asset-root", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not (tmp_path / "x.png").exists()
    assert err.startswith("planscope: error: ") and len(err.splitlines()) == 1
    assert str(tmp_path) in err


@pytest.mark.parametrize("argv, message", [
    (["snapshot", "--out", "/nonexistent-dir/x.png"], "does not exist"),
    (["snapshot", "--out", "x.png", "--size", "big"], "expected WxH"),
    (["snapshot", "--out", "x.png", "--view", "nosuchview"], "no such view"),
    (["bench", "nosuchbench"], "unknown benchmark"),
])
def test_bad_arguments_fail_in_one_line(argv, message, capsys, qapp, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("planscope: error: ") and message in err and len(err.splitlines()) == 1


def test_open_app_without_a_display_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, "-m", "app.cli"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("planscope: error: no display")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bench_lists_the_shell_benchmarks(capsys):
    assert main(["bench", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "scene" in listing and "startup" in listing


def test_a_virtual_display_is_started_when_there_is_none(monkeypatch):
    import shutil

    from app.qt.shell.qt_app import ensure_display

    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    outer = os.environ["DISPLAY"]
    assert ensure_display() is None  # a display exists: nothing started
    monkeypatch.delenv("DISPLAY")
    display = ensure_display(size=(320, 240))
    try:
        assert os.environ["DISPLAY"] == display.display != outer
        assert display.process.poll() is None
    finally:
        display.stop()
    assert "DISPLAY" not in os.environ and display.process.poll() is not None


def test_a_headless_snapshot_exits_cleanly_after_shutting_its_virtual_display(tmp_path):
    """`planscope snapshot` with no display: Xvfb started, the PNG written, then QApplication
    shut down and automatic garbage collection restored (qt_app.release_garbage_collection ran
    after shutdown() had deleted the collector's timer: a traceback at exit)."""
    import shutil

    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out = tmp_path / "scene.png"
    proc = subprocess.run([sys.executable, "-m", "app.cli", "snapshot", "--out", str(out), "--size", "320x240"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and out.stat().st_size > 0
