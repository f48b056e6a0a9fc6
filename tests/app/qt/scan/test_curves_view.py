"""The episode curves' legend lists the scan's own policies, and a frame's flag points sit on
the curve of the policy whose flags they are (found trying planscope as a new user: a
one-policy scan showed an empty "policy 1" legend row, and flags sat on the last curve)."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.scan.config import column_spec
from app.qt.scan.workspace import ScanPanel
from recordings.formats.scan_file import ScanWriter
from tests.app.core.scan.scan_fixture import HEADER, synthetic_rows, write_scan


def _one_policy_scan(path) -> str:
    rows = synthetic_rows(4, 10, 2, policies=1)
    rows["off_data"][rows["frame"] == 4, 0] = 1
    header = dict(HEADER, policies=[{"label": "A: only"}])
    with ScanWriter(path, columns=column_spec(1), header=header) as w:
        w.write_chunk(rows)
    return str(path)


@pytest.fixture
def panel(qtbot):
    p = ScanPanel()
    qtbot.addWidget(p)
    p.resize(1000, 700)
    yield p
    p.state.close()


def _legend(panel) -> list[str]:
    return [label.text for _, label in panel.curves.plot.plotItem.legend.items]


def test_one_policy_scan_has_one_legend_row(panel, tmp_path):
    panel.state.open(write_scan(tmp_path / "two.h5", episodes=3, length=8))
    assert _legend(panel) == ["A: before", "B: after"]
    panel.state.open(_one_policy_scan(tmp_path / "one.h5"))
    assert _legend(panel) == ["A: only"]
    panel.state.select(1, 4)
    frames, values = panel.curves.flags.getData()
    assert frames.tolist() == [4.0]
    panel.state.open(write_scan(tmp_path / "two_again.h5", episodes=3, length=8))
    assert _legend(panel) == ["A: before", "B: after"]


def test_flags_sit_on_the_selected_policys_curve(panel, tmp_path):
    rows = synthetic_rows(4, 10, 2, policies=2)
    rows["off_data"][rows["frame"] == 4, 0] = 1          # A (policy 0) leaves its data at frame 4
    rows["demo_dist_nearest"][:, 1] += 1.0               # B's curve far above A's
    path = tmp_path / "two.h5"
    with ScanWriter(path, columns=column_spec(2), header=HEADER) as w:
        w.write_chunk(rows)
    panel.state.open(str(path))
    panel.state.set_metric("demo_dist_nearest", policy=0)
    panel.state.select(2, 4)
    fx, fy = panel.curves.flags.getData()
    assert fx.tolist() == [4.0]
    ax, ay = panel.curves.curves[0].getData()
    assert fy.tolist() == [float(ay[ax == 4.0][0])]      # on A's curve, not on B's
