"""`planscope bench demo` reads the per-phase lines `planscope demo --exit-after-first-card`
prints (app/qt/demo/launch.py print_phases -> app/bench/demo.py parse_phases): the printer and
the parser stay in step, and the medians are per phase."""
from __future__ import annotations

import pytest

from app.bench.demo import median_phases, parse_phases
from app.qt.demo.launch import print_phases


def test_printed_phase_lines_read_back_as_each_phases_own_times(capsys):
    marks = [{"phase": "window built (inspector)", "wall_s": 1.25, "cpu_s": 0.5, "thread_cpu_s": 0.5},
             {"phase": "first card shown", "wall_s": 2.0, "cpu_s": 0.9, "thread_cpu_s": 0.75},
             {"phase": "first card ready (sampled, analysed, drawn)", "wall_s": 6.5, "cpu_s": 4.0,
              "thread_cpu_s": 1.0}]
    print("first card shown:       2.00 s after process start")    # other lines are skipped
    print_phases(marks)
    rows = parse_phases(capsys.readouterr().out)
    assert [r["phase"] for r in rows] == [m["phase"] for m in marks]
    assert [r["at_s"] for r in rows] == [1.25, 2.0, 6.5]
    assert [r["wall_s"] for r in rows] == pytest.approx([1.25, 0.75, 4.5])
    assert [r["cpu_s"] for r in rows] == pytest.approx([0.5, 0.4, 3.1])
    assert [r["thread_cpu_s"] for r in rows] == pytest.approx([0.5, 0.25, 0.25])


def test_median_phases_per_name_in_the_first_runs_order():
    def run(*walls: float) -> list[dict]:
        return [{"phase": f"p{i}", "at_s": w, "wall_s": w, "cpu_s": w, "thread_cpu_s": w}
                for i, w in enumerate(walls)]

    rows = median_phases([run(1.0, 5.0), run(3.0, 4.0), run(2.0, 9.0)])
    assert [(r["phase"], r["wall_s"]) for r in rows] == [("p0", 2.0), ("p1", 5.0)]
    assert median_phases([]) == []
