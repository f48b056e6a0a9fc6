"""Evaluation workspace in a real MainWindow (fake scene view, real eval artifact): the summary,
verdict and charts match the report; double-clicking a worst rollout opens it in review."""
from __future__ import annotations

import pytest
from PySide6 import QtCore

from app.core.evaluation.config import EvalConfig, RolloutSettings
from app.core.evaluation.evaluate import run_evaluation
from app.core.evaluation.report import chart_svgs
from app.core.evaluation.summary import load_summary
from app.core.scene_session import SceneSession
from app.qt.evaluation.workspace import install as install_evaluation
from app.qt.evaluation.workspace import is_eval_artifact
from app.qt.review.workspace import install as install_review
from app.qt.shell import dialogs
from app.qt.shell.main_window import MainWindow
from tests.app.shell_fakes import FakeScene

Qt = QtCore.Qt


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("evalgui") / "ab.h5")
    config = EvalConfig(policies=["app.core.evaluation.expert_planner:mug_grasp_averaging",
                                  "app.core.evaluation.expert_planner:mug_grasp_expert"],
                        seeds=[0, 1], perturbations=[{"delay": 2}],
                        settings=RolloutSettings(scene="mug_grasp", record_samples=3))
    run_evaluation(config, out, workers=0, durable=False)
    return out


@pytest.fixture
def window(qtbot, monkeypatch):
    monkeypatch.setenv(dialogs.NON_MODAL_ENV, "1")
    win = MainWindow(SceneSession("fake", factory=lambda _n: FakeScene()), restore_layout=False)
    win.features["review"] = install_review(win)
    win.features["evaluation"] = install_evaluation(win)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_summary_verdict_and_charts(window, artifact):
    ws = window.features["evaluation"]
    assert is_eval_artifact(artifact)
    ws.open(artifact)
    assert window.workspace == "evaluation"
    assert ws.docks["summary"].isVisible() and ws.docks["charts"].isVisible()
    view = ws.summary_view
    assert view.verdict.isVisible() and view.verdict.text().startswith("<b")
    assert "ACCEPT" in view.verdict.text()
    assert view.cells.rowCount() == 4                      # 2 policies x (nominal, delay=2)
    texts = [view.cells.item(r, 2).text() for r in range(4)]
    assert texts == ["0%", "0%", "100%", "100%"]
    assert view.worst.rowCount() == 8
    assert view.worst.item(0, 4).text() == "failed"
    assert list(ws.charts_view.charts) == list(chart_svgs(load_summary(artifact)))
    assert ws.charts_view.count() == 4


def test_double_click_opens_the_rollout_in_review(window, artifact, qtbot):
    ws = window.features["evaluation"]
    ws.open(artifact)
    view = ws.summary_view
    row = view.worst_rows()[2]
    view.worst.cellDoubleClicked.emit(2, 0)
    review = window.features["review"]
    assert window.workspace == "review"
    assert review.session.current is not None and review.session.current.row == row
    assert review.session.rollout is not None


def test_an_eval_file_opened_for_review_is_summarised_too(window, artifact):
    window.features["review"].open(artifact)
    ws = window.features["evaluation"]
    assert ws.summary is not None and ws.summary.num_rollouts == 8
    assert window.workspace == "review"                    # it did not steal the screen


def test_charts_follow_a_dark_theme(qapp):
    """Issue 20: no white chart images in a dark UI; the light report keeps its ink."""
    import numpy as np
    from PySide6 import QtGui

    from app.core.evaluation.svg import GRID, TEXT, grouped_bars
    from app.qt.evaluation.summary_view import _Svg
    values = np.array([[0.9, 0.5], [0.7, 0.2]])
    svg = grouped_bars(["nominal", "delay=2"], ["a", "b"], values, values - 0.1, values + 0.1,
                       title="Success", ylabel="success rate")
    assert f'fill="{TEXT}"' in svg and f'stroke="{GRID}"' in svg
    old = qapp.palette()
    dark = QtGui.QPalette(old)
    dark.setColor(QtGui.QPalette.Window, QtGui.QColor("#202225"))
    qapp.setPalette(dark)
    try:
        chart = _Svg(svg)
        assert chart.dark and "white" not in chart.styleSheet()
        assert f'fill="{TEXT}"' not in chart.text and f'stroke="{GRID}"' not in chart.text
        assert "#E69F00" in chart.text or "#0072B2" in chart.text   # policy colours kept
        bright = QtGui.QPalette(old)
        bright.setColor(QtGui.QPalette.Window, QtGui.QColor("#f4f4f4"))
        qapp.setPalette(bright)
        light = _Svg(svg)
        assert not light.dark and light.text == svg
    finally:
        qapp.setPalette(old)


def test_clicking_a_chart_tab_gives_the_keys_back_from_the_seed_box(window, artifact, qtbot):
    """Issue 20, item 2: after the seed box had focus, clicking the Evaluation workspace's chart
    tabs (e.g. "Modes") leaves it, so a digit never edits the seed; in review the same digit
    then tags."""
    from PySide6 import QtWidgets

    from tests.app.qt.review.test_keyboard_review import click_tab, focus_by_click, key
    ws = window.features["evaluation"]
    ws.open(artifact)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    seed = window.seed_box.value()
    bar = ws.charts_view.tabBar()
    assert bar.isVisible() and bar.count() == 4
    for index in range(bar.count()):
        focus_by_click(qtbot, window, window.seed_box)
        click_tab(qtbot, bar, index)
        assert not window.seed_box.hasFocus(), bar.tabText(index)
        key(qtbot, Qt.Key_3)
        assert window.seed_box.value() == seed, f"tab {bar.tabText(index)!r} kept the seed box"
    review = window.features["review"]
    review.open(artifact)                             # also a recording: review opens it
    assert window.workspace == "review"
    QtWidgets.QApplication.processEvents()
    before = len(review.session.tags())
    key(qtbot, Qt.Key_3)
    assert len(review.session.tags()) == before + 1 and window.seed_box.value() == seed
