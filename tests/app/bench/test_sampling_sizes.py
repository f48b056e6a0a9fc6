"""`planscope bench sampling --size`: one run prints every cell (reference and planscope side by
side, median ratio with its spread, CPU-time ratio, the denoiser's fraction of both GEMM rates),
the GEMM rates and the memory floor; PLANSCOPE_BENCH_CELLS picks cells. A tiny model stands in for
65 M parameters so the test is quick; the figures themselves are never asserted."""
from __future__ import annotations

import re

import pytest

from app.bench import _sampling_sizes as sizes
from planners.acceleration import fidelity as fid


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    monkeypatch.setenv("PLANSCOPE_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(sizes.SIZES, "tiny", ((16, 32), 16, 2, 6))
    monkeypatch.setattr(sizes, "NS", (1, 4))
    monkeypatch.setattr(sizes, "SOLVERS", (("ddim", 3), ("ddpm", 5)))
    monkeypatch.setattr(fid, "CHECK_SAMPLES", 16)       # the fidelity check's own tests are elsewhere
    monkeypatch.setattr(sizes, "gemm_rates", lambda quick: {"float32": 100.0, "bfloat16": 400.0})
    monkeypatch.setattr(sizes, "memory_read_rate", lambda megabytes=256: 10.0)


def test_every_cell_is_printed_with_ratio_spread_and_gemm_fractions(tiny, capsys):
    out = sizes.run_size("tiny", quick=False)
    text = capsys.readouterr().out
    cells = {(c["solver"], c["n"], c["precision"]) for c in out["cells"]}
    precisions = {"float32"} | ({"bfloat16"} if any(c["precision"] == "bfloat16" for c in out["cells"]) else set())
    assert cells == {(s, n, p) for s in ("ddim", "ddpm") for n in (1, 4) for p in precisions}
    assert "GEMM" in text and "float32 100 GFLOP/s, bfloat16 400 GFLOP/s" in text
    assert "memory read rate 10.0 GB/s" in text
    rows = [line for line in text.splitlines() if re.match(r"(DDIM|DDPM)\s+\d+\s+N=", line)]
    assert len(rows) == len(out["cells"])
    for line, cell in zip(rows, out["cells"]):
        assert f"{cell['ratio']:4.2f}x [" in line and "median of 3" in line and "CPU time" in line
        assert "of the bfloat16 GEMM rate" in line
        assert cell["ratio_min"] <= cell["ratio"] <= cell["ratio_max"] and cell["repeats"] == 3


def test_cells_can_be_picked_and_quick_trims_ddpm_at_the_largest_n(tiny, monkeypatch, capsys):
    monkeypatch.setattr(sizes, "NS", (1, 128))
    monkeypatch.setattr(sizes, "SOLVERS", (("ddim", 2), ("ddpm", 5)))
    monkeypatch.setenv("PLANSCOPE_BENCH_CELLS", "ddim2:1")
    out = sizes.run_size("tiny", quick=True)
    assert {(c["solver"], c["n"]) for c in out["cells"]} == {("ddim", 1)}
    assert "DDPM 5 N=128 (PLANSCOPE_BENCH_CELLS)" in capsys.readouterr().out
    monkeypatch.delenv("PLANSCOPE_BENCH_CELLS")
    monkeypatch.setattr(sizes, "NS", (128,))
    monkeypatch.setattr(sizes, "SOLVERS", (("ddpm", 5),))
    out = sizes.run_size("tiny", quick=True)
    assert out["cells"] == [] and "DDPM 5 at N=128 (--quick)" in out["trimmed"]
