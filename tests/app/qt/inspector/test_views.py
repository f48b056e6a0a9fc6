"""Each inspector view in isolation, fed a constructed PlanBatch through InspectorState."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui

from app.core.analysis import analyse, mode_references
from app.core.inspector.state import InspectorState, LoadedPolicy
from app.core.inspector.sweep import SweepPoint, SweepResult, score
from app.qt.inspector.chain_view import ChainView
from app.qt.inspector.modes_view import ModesView
from app.qt.inspector.policy_panel import PolicyPanel
from app.qt.inspector.sampling_panel import SamplingPanel
from app.qt.inspector.sweep_view import SweepView
from app.qt.plots.mode_colors import INFEASIBLE_HEX, MODE_HEX, hex_to_rgba
from app.qt.plots.plan_projection import PlanProjection
from tests.app.inspector_fakes import FakeScene, FakeTwoModePlanner, two_mode_batch

DATA = {"left": 0.5, "right": 0.5}


@pytest.fixture
def state() -> InspectorState:
    """A state holding a 48-sample, 8-step two-mode batch and a regression baseline."""
    scene = FakeScene()
    st = InspectorState()
    planner = FakeTwoModePlanner()
    st.set_policy(LoadedPolicy(planner, "fake", planner.spec, DATA))
    base = FakeTwoModePlanner(name="fake-regression", regression=True)
    st.set_policy(LoadedPolicy(base, "fake-regression", base.spec, DATA), baseline=True)
    st.set_observation(scene.observe())
    result = analyse(two_mode_batch(48, steps=8), scene, DATA)
    refs = mode_references(result.batch.plans, result.summary.labels, result.summary.names)
    st.set_result(result)
    st.set_result(analyse(base.plan(None, 48, seed=0), scene, DATA, mode_refs=refs), baseline=True)
    return st


def click_view_point(qtbot, plot: pg.PlotWidget, x: float, y: float) -> None:
    """Left-click the plot at data coordinates (x, y)."""
    vb = plot.getPlotItem().vb
    scene_pos = vb.mapViewToScene(QtCore.QPointF(x, y))
    widget_pos = plot.mapFromScene(scene_pos)
    qtbot.mouseClick(plot.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=widget_pos)


def test_chain_view_slider_playback_and_x0_toggle(qtbot, state):
    view = ChainView(state)
    qtbot.addWidget(view)
    view.resize(1200, 380)
    view.show()
    qtbot.waitExposed(view)
    assert view.slider.maximum() == 8 and view.slider.value() == 8
    view.slider.setValue(2)
    assert state.step == 2 and "step 2/8" in view.step_label.text()
    view.x0_toggle.setChecked(True)
    assert state.show_x0 and "x0-estimate" in view.step_label.text()
    state.set_step(0)
    view.set_playing(True)
    qtbot.waitUntil(lambda: state.step == 8, timeout=5000)
    qtbot.waitUntil(lambda: not view.playing, timeout=2000)   # stops at the final plans
    view.step_by(-1)
    assert state.step == 7
    # the per-step plot: spread over k = 0..S and commit markers
    x, y = view._spread.getData()
    assert len(x) == 9 and y[0] > y[-1]
    assert len(view._commits.data) > 0


def test_chain_projection_draws_all_plans_in_few_items_and_click_selects(qtbot, state):
    view = ChainView(state)
    qtbot.addWidget(view)
    view.resize(1200, 400)
    view.show()
    qtbot.waitExposed(view)
    top = view.top
    items_before = len(top.getPlotItem().items)
    assert len(top._plans.getData()[0]) == 48 * 16             # every waypoint of every plan
    # ONE curve item for all plans: the item count does not grow with N
    state.set_result(analyse(two_mode_batch(400, steps=8), FakeScene(), DATA))
    assert len(top.getPlotItem().items) == items_before
    # click on a waypoint of plan 5 in the top view -> plan 5 (or one on top of it) selected
    plan = state.batch.plans[5]
    click_view_point(qtbot, top, float(plan[8, 0]), float(plan[8, 1]))
    assert state.selected is not None
    chosen = state.batch.plans[state.selected]
    assert np.linalg.norm(chosen[:, :2] - plan[:, :2], axis=1).min() < 0.03
    sel_x, _ = top._selected.getData()
    assert len(sel_x) == 16


def test_projection_marks_infeasible_plans_and_their_colliding_waypoint(qtbot):
    proj = PlanProjection((0, 1), "top")
    qtbot.addWidget(proj)
    batch = two_mode_batch(10, steps=2)
    feasible = np.ones(10, bool)
    feasible[[2, 7]] = False
    bad = np.full(10, -1)
    bad[[2, 7]] = [4, 9]
    proj.set_plans(batch.plans, np.zeros(10, int), None, feasible, bad)
    styles = proj._plans.plan_styles()                  # (rgba, dashed) of every drawn plan
    assert len(styles) == 10 and len(proj._plans.getData()[0]) == 10 * 16
    mode0 = pg.mkColor(MODE_HEX[0]).getRgb()[:3]
    assert [k for k, (rgba, dashed) in enumerate(styles) if dashed] == [2, 7]
    assert all(rgba[:3] == mode0 for rgba, _ in styles)  # dashed, in their mode's colour
    cx, cy = proj._collisions.getData()
    assert np.allclose(cx, batch.plans[[2, 7], [4, 9], 0])
    assert proj.getAxis("bottom").labelText == "x (m)" and proj.getAxis("left").labelText == "y (m)"


def test_modes_view_bars_badges_and_isolation(qtbot, state):
    view = ModesView(state)
    qtbot.addWidget(view)
    view.show()
    s = state.result.summary
    heights = view._bars.opts["height"]
    assert np.allclose(heights, 100 * s.shares)
    assert np.allclose(view._data_bars.opts["height"], [50, 50])
    assert view.policy_verdict.badge.text() == "multimodal"
    assert view.baseline_verdict.badge.text() == "averaging"
    assert "between" in view.baseline_verdict.reason.text()
    assert "entropy" in view.metrics.text() and "coverage" in view.metrics.text()
    assert len(view.mode_buttons) == 2
    qtbot.mouseClick(view.mode_buttons[1], QtCore.Qt.MouseButton.LeftButton)
    assert state.isolated == 1 and view.mode_buttons[1].isChecked()
    qtbot.mouseClick(view.mode_buttons[1], QtCore.Qt.MouseButton.LeftButton)
    assert state.isolated is None
    view.resize(420, 420)
    qtbot.waitExposed(view)
    click_view_point(qtbot, view.plot, 0.0 - 0.19, 20.0)        # on the "left" policy bar
    assert state.isolated == 0


def test_modes_view_intervals_reference_and_averaging_positions(qtbot, state):
    from planners.mode_reference import parse_shares
    view = ModesView(state)
    qtbot.addWidget(view)
    s = state.result.summary
    assert s.low is not None and np.all(s.low <= s.shares) and np.all(s.shares <= s.high)
    top = view._whiskers.opts["top"]
    assert np.allclose(top, 100 * (s.high - s.shares))                 # whiskers = Wilson interval
    assert "judged against" in view.metrics.text()
    # the baseline sits between the modes: its positions are drawn on the signed scale
    base = state.baseline_result.summary
    state.set_result(state.baseline_result)
    assert base.pair is not None and view._positions.opts["height"].sum() > 0
    assert "position: 0 " in view.position_plot.getAxis("bottom").labelText
    # "Compare with data…": another reference is named on the button and sent to the controller
    seen = []
    state.events.reference.connect(seen.append)
    state.set_reference(parse_shares("left=0.7,right=0.3"))
    assert seen and "left=0.7, right=0.3" in view.compare_button.text()
    assert state.judged_against(state.policy).shares == {"left": 0.7, "right": 0.3}
    state.set_reference(None)
    assert view.compare_button.text() == "Compare with data…" and state.judged_against(state.policy) == DATA


def test_overlay_one_gl_item_with_mode_colours_and_red_infeasible(qtbot, state):
    import pyqtgraph.opengl as gl

    from app.qt.inspector.plan_overlay import PlanOverlay
    view = gl.GLViewWidget()
    qtbot.addWidget(view)
    overlay = PlanOverlay(state)
    overlay.attach(view)
    state.set_result(state.result)                   # a new batch: the 3-D follows a frame later
    qtbot.waitUntil(lambda: not overlay._pending, timeout=2000)
    pos, colour = overlay.plans.pos, overlay.plans.color
    assert pos.shape == (48 * 15 * 2, 3) and colour.shape == (48 * 15 * 2, 4)
    labels = state.result.summary.labels
    first_of_mode1 = int(np.flatnonzero(labels == 1)[0])
    assert np.allclose(colour[first_of_mode1 * 30, :3], hex_to_rgba(MODE_HEX[1])[:3])
    state.isolate(0)
    assert overlay.plans.pos.shape[0] == int((labels == 0).sum()) * 30
    state.isolate(None)
    # mark two plans infeasible: they fade (mode colour kept) and get a red collision point each
    feas = state.result.feasibility
    alpha_before = overlay.plans.color[0, 3]
    feas.feasible[[0, 1]] = False
    feas.bad_waypoint[[0, 1]] = 6
    overlay.refresh()
    assert overlay.plans.color[0, 3] < alpha_before
    assert overlay.collisions.pos.shape == (2, 3)
    assert np.allclose(overlay.collisions.color[:3], hex_to_rgba(INFEASIBLE_HEX)[:3])
    state.select(4)
    assert overlay.selected.pos.shape == (16, 3)
    assert overlay.baseline.pos.shape == (16, 3)
    assert overlay.mug_ring.pos.shape[0] > 10                 # the observed mug is drawn


def test_sampling_panel_edits_settings_and_shows_progress(qtbot, state):
    panel = SamplingPanel(state)
    qtbot.addWidget(panel)
    panel.num.setValue(300)
    panel.solver.setCurrentText("ddpm")
    panel.steps.setValue(20)
    panel.seed.setValue(42)
    s = state.settings
    assert (s.num_samples, s.solver, s.steps, s.seed) == (300, "ddpm", 20, 42)
    assert panel.num.maximum() == 1024
    qtbot.mouseClick(panel.new_seed, QtCore.Qt.MouseButton.LeftButton)
    assert state.settings.seed != 42
    with qtbot.waitSignal(panel.sampleRequested, timeout=1000):
        qtbot.mouseClick(panel.sample_button, QtCore.Qt.MouseButton.LeftButton)
    state.begin_sampling()
    assert not panel.sample_button.isEnabled() and panel.cancel_button.isEnabled()
    state.set_progress(7, 20)
    assert panel.progress.value() == 7 and panel.progress.maximum() == 20
    state.end_sampling()
    state.set_result(state.result)
    state.set_result(state.baseline_result, baseline=True)   # the baseline's batch: same event
    assert "ms/step" in panel.timings.text() and "8 ddim steps" in panel.timings.text()


def test_policy_panel_shows_config_and_accepts_dropped_checkpoint_folder(qtbot, state, tmp_path):
    panel = PolicyPanel(state)
    qtbot.addWidget(panel)
    slot = panel.slots["policy"]
    planner = FakeTwoModePlanner()
    state.set_policy(LoadedPolicy(planner, "fake", planner.spec, DATA))
    texts = [slot.form.itemAt(i).widget().text() for i in range(slot.form.count())
             if slot.form.itemAt(i).widget() is not None]
    assert "Observation" in texts and "Parameters" in texts and "1,234" in texts
    assert any("ddim, 10 steps" in t for t in texts) and any("left 50%" in t for t in texts)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(folder))])
    event = QtGui.QDropEvent(QtCore.QPointF(5, 5), QtCore.Qt.DropAction.CopyAction, mime,
                             QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(panel.openRequested, timeout=1000) as got:
        panel.slots["baseline"].dropEvent(event)
    assert got.args == ["baseline", str(folder)]


def test_sweep_view_plots_and_answers(qtbot, state):
    view = SweepView(state, controller=SimpleNamespace())
    qtbot.addWidget(view)
    points = [SweepPoint(solver, s, np.array([0.5, 0.5]) if s >= 8 else np.array([1.0, 0.0]), 0.0,
                         1.0, 2.0 * s) for solver in ("ddpm", "dpmpp") for s in (1, 2, 4, 8, 16, 32, 100)]
    view.show_result(score(SweepResult(["left", "right"], points)))
    assert "Fewest steps that keep the distribution: " in view.answer.text()
    assert "8 steps" in view.answer.text()
    curves = [i for i in view.shares_plot.getPlotItem().items if isinstance(i, pg.PlotDataItem)]
    assert len(curves) == 2 * 2                                # 2 modes x 2 solvers
    assert view.shares_plot.getAxis("bottom").labelText.startswith("solver steps")


def test_3d_click_picks_the_plan_under_the_cursor_and_shift_drag_maps_to_the_table(qtbot, state):
    import pyqtgraph.opengl as gl
    from pyqtgraph import Vector

    from app.qt.inspector.scene_mouse import pick_plan, project_points, ray_plane_xy
    view = gl.GLViewWidget()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.setCameraPosition(pos=Vector(0.5, 0.0, 0.2), distance=1.0, elevation=40, azimuth=-120)
    plan = state.batch.plans[7]
    px, py = project_points(view, plan[10:11, :3].astype(np.float64))[0]
    picked = pick_plan(view, state, px, py)
    assert picked is not None
    assert np.linalg.norm(state.batch.plans[picked][:, :3] - plan[10, :3], axis=1).min() < 0.02
    assert pick_plan(view, state, -500.0, -500.0) is None
    # unprojecting the pixel of a point onto its height gives the point back
    x, y = ray_plane_xy(view, px, py, float(plan[10, 2]))
    assert abs(x - plan[10, 0]) < 2e-3 and abs(y - plan[10, 1]) < 2e-3


def test_a_new_batch_redraws_each_projection_once_and_keeps_a_fitting_range(qtbot, state):
    """The stall guard: a final batch (with its observation) draws each 2-D projection once, the
    3-D overlay not in the same pass, and re-sampling the same observation keeps the axes."""
    from app.qt.inspector.plan_overlay import PlanOverlay

    view = ChainView(state)
    qtbot.addWidget(view)
    overlay = PlanOverlay(state)
    calls = {"top": 0, "side": 0, "overlay": 0}
    for name in ("top", "side"):
        proj = getattr(view, name)
        original = proj.set_plans

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)
        proj.set_plans = counted
    original_refresh = overlay.refresh

    def counted_refresh():
        calls["overlay"] += 1
        original_refresh()
    overlay.refresh = counted_refresh
    top_range = view.top.getPlotItem().vb.viewRange()
    seen = []
    state.events.batch.connect(seen.append)
    state.set_result(None, baseline=True)
    state.set_result(None, baseline=True)              # no baseline before or after: silent
    assert seen == [None]
    qtbot.waitUntil(lambda: not overlay._pending, timeout=2000)
    calls.update(top=0, side=0, overlay=0)
    state.set_result(state.result, observation=dict(state.observation))
    assert calls["top"] == 1 and calls["side"] == 1
    assert calls["overlay"] == 0 and overlay._pending    # the 3-D part follows in a later pass
    qtbot.waitUntil(lambda: not overlay._pending, timeout=2000)
    assert calls["overlay"] == 1
    assert view.top.getPlotItem().vb.viewRange() == top_range


def test_media_glyphs_are_light_on_the_dark_theme_and_play_toggles_to_pause(qtbot, state):
    from app.qt.shell.theme import GLYPHS, glyph_icon

    for kind in GLYPHS:            # Fusion's media icons are black on the dark theme: ours are not
        image = glyph_icon(kind).pixmap(32, 32).toImage()
        lit = [QtGui.QColor.fromRgba(image.pixel(x, y)) for x in range(32) for y in range(32)]
        lit = [c for c in lit if c.alpha() > 200]
        assert len(lit) > 100 and min(c.lightness() for c in lit) > 150, kind
    with pytest.raises(ValueError):
        glyph_icon("rewind")
    view = ChainView(state)
    qtbot.addWidget(view)
    before = view.play_button.icon().pixmap(16, 16).toImage()
    view.set_playing(True)
    assert view.play_button.icon().pixmap(16, 16).toImage() != before
    view.set_playing(False)
    assert view.play_button.icon().pixmap(16, 16).toImage() == before
