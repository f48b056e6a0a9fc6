"""planscope report on a scan file: counts, histograms, worst episodes and, when the scan kept its
plans, a thumbnail per hardest frame; through the CLI's report command."""
from __future__ import annotations

import numpy as np

from app.cli import main
from app.core.scan.config import column_spec
from app.core.scan.report import render_report
from recordings.formats.scan_file import ScanWriter
from tests.app.core.scan.scan_fixture import synthetic_rows, write_scan


def test_report_counts_and_worst_episodes(tmp_path):
    html = render_report(write_scan(tmp_path / "scan.h5", episodes=9, length=12))
    # B collapsed on frames 0 and 2 of episodes 0, 3, 6: 6 of 54 frames
    assert "<td>collapsed</td><td>0 (0.0%)</td><td>6 (11.1%)</td>" in html
    assert html.count("<svg") >= 7 and "did not keep its plans" in html
    assert "<tr><td>0</td><td>6</td><td>2</td>" in html        # episode 0: 6 frames, 2 flagged


def test_report_thumbnails_from_kept_plans_via_cli(tmp_path, capsys):
    rows = synthetic_rows(3, 6, policies=1)
    rows["plans"] = np.random.default_rng(0).normal(size=(len(rows["episode"]), 1, 4, 16, 4))
    rows["demo"] = np.zeros((len(rows["episode"]), 16, 4))
    spec = column_spec(1, keep_plans=True, num_samples=4, horizon=16, action_dim=4)
    path = tmp_path / "kept.h5"
    with ScanWriter(path, columns=spec, header={"policies": [{"label": "A"}]}, durable=False) as w:
        w.write_chunk(rows)
    out = tmp_path / "scan.html"
    assert main(["report", str(path), "--out", str(out)]) == 0
    html = out.read_text()
    assert "did not keep its plans" not in html
    assert html.count("stroke-dasharray") == 9                 # one demo per thumbnail
    assert f"wrote {out}" in capsys.readouterr().out
