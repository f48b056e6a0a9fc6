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


def _lint_imports() -> str:
    lint = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which("lint-imports")
    if lint is None:
        pytest.skip("import-linter is not installed")
    return lint


def test_import_linter_contracts_hold():
    proc = subprocess.run([_lint_imports(), "--config", os.path.join(ROOT, "pyproject.toml")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


CORE_QT_FREE = "app.core is Qt-free (tests, scripts, workers, Ray)"
APP_LAYERS = "app layers: cli > commands > bench > qt > core"
QT_LAYERS = "app.qt layers: entry > registry > workspaces > plots > shell"
LEAF = "recordings is the leaf: no Qt, torch, pybullet or sibling packages"
PLANTED = [
    # Qt in the Qt-free core: the forbidden contract and the layers (qt is above core)
    ("app/core/planted.py", "from app.qt.shell import dialogs\n", {CORE_QT_FREE, APP_LAYERS}),
    # the core reaching Qt only through another package's module: indirect imports count
    # (recordings/planted_helper.py imports PySide6, which also breaks the leaf's rule)
    ("app/core/planted.py", "import recordings.planted_helper\n", {CORE_QT_FREE, LEAF}),
    # the shell importing a workspace (an upward arrow inside app.qt)
    ("app/qt/shell/planted.py", "import app.qt.inspector.workspace\n", {QT_LAYERS}),
    # one workspace importing another (the rooms are independent)
    ("app/qt/review/planted.py", "import app.qt.evaluation.summary_view\n", {QT_LAYERS}),
    # the back-arrow the bench used to have into a command module
    ("app/bench/planted.py", "import app.commands.sample\n", {APP_LAYERS}),
]


@pytest.mark.parametrize("path, source, broken", PLANTED,
                         ids=[f"{p[0]}: {p[1].strip()}" for p in PLANTED])
def test_a_planted_forbidden_import_fails_the_linter(tmp_path, path, source, broken):
    """Copy the packages, add one module that breaks a rule, and see lint-imports fail on exactly
    the contracts that rule belongs to (so the contracts are live, not vacuous)."""
    lint = _lint_imports()
    for package in ("app", "planners", "scenes", "recordings"):
        for folder, dirs, names in os.walk(os.path.join(ROOT, package)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            target = tmp_path / os.path.relpath(folder, ROOT)
            target.mkdir(parents=True, exist_ok=True)
            for name in names:
                if name.endswith(".py"):
                    shutil.copyfile(os.path.join(folder, name), target / name)
    shutil.copyfile(os.path.join(ROOT, "pyproject.toml"), tmp_path / "pyproject.toml")
    (tmp_path / path).write_text(source)
    if "planted_helper" in source:   # the indirect case: recordings.planted_helper -> PySide6
        (tmp_path / "recordings/planted_helper.py").write_text("import PySide6\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([lint, "--no-cache", "--config", str(tmp_path / "pyproject.toml")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0, proc.stdout[-3000:]
    verdicts = {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1]
                for line in proc.stdout.splitlines() if line.endswith(("KEPT", "BROKEN"))}
    assert len(verdicts) == 7, proc.stdout[-3000:]
    assert {name for name, verdict in verdicts.items() if verdict == "BROKEN"} == broken


@pytest.mark.parametrize("modules", [
    ["app.cli"],
    ["app.cli", "app.qt.shell.main_window", "app.qt.shell.scene_view", "app.qt.shell.camera_view",
     "app.qt.registry", "app.qt.launch", "app.commands.open_app", "app.commands.snapshot",
     "app.commands.bench"],
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
