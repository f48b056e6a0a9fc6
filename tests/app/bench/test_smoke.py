"""Every cheap benchmark still runs end to end (`planscope bench NAME --quick --json F`) and
returns figures. No figure is judged here (timings belong to the benchmarks' own output); this
only keeps a refactor from breaking a benchmark unnoticed, as once happened to `bench ui`.
eval, quality, demo and startup are left out: they take 10-60 s each even with --quick."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.bench import available

SMOKE = ["collect", "recordings", "review", "sampling", "scene", "ui"]


def numbers(value) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in numbers(v)]
    return []


def test_the_smoke_list_names_real_benchmarks():
    assert set(SMOKE) <= set(available())
    assert {"eval", "quality", "demo", "startup"} <= set(available())


@pytest.mark.slow
@pytest.mark.parametrize("name", SMOKE)
def test_benchmark_runs_and_returns_figures(name, tmp_path):
    out = tmp_path / "figures.json"
    env = dict(os.environ, PLANSCOPE_BENCH_DIR=str(tmp_path / "bench"))
    cli = "import sys; from app.cli import main; sys.exit(main())"
    proc = subprocess.run([sys.executable, "-c", cli, "bench", name, "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"== bench {name} ==" in proc.stdout
    figures = json.loads(out.read_text())[name]
    values = numbers(figures)
    assert len(values) >= 3 and all(v == v for v in values)     # figures, none NaN
