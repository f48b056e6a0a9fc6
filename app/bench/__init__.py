"""Benchmarks for `planscope bench`: one module per benchmark, each with `run(args) -> dict`.

A module here prints its figures and returns them; `available()` lists the modules so new
benchmarks appear in `planscope bench --list` without registration.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def available() -> list[str]:
    """Names of the benchmark modules in this package, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name: str) -> ModuleType:
    return importlib.import_module(f"app.bench.{name}")
