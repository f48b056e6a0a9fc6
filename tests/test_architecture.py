"""Architecture contracts: import-linter's contracts (pyproject.toml) hold, and the app's entry
modules import neither torch nor pybullet (they load lazily, so the window opens fast)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_linter_contracts_hold():
    lint = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which("lint-imports")
    if lint is None:
        pytest.skip("import-linter is not installed")
    proc = subprocess.run([lint, "--config", os.path.join(ROOT, "pyproject.toml")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("modules", [
    ["app.cli"],
    ["app.cli", "app.main_window", "app.scene_view", "app.camera_view",
     "app.commands.open_app", "app.commands.snapshot", "app.commands.bench"],
])
def test_app_entry_modules_do_not_import_torch_or_pybullet(modules):
    code = ("import importlib, json, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "from app.cli import build_parser; build_parser()\n"
            "print(json.dumps({k: k in sys.modules for k in ('torch', 'pybullet')}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == {"torch": False, "pybullet": False}, f"heavy import at start-up: {loaded}"
