"""A recorded frame as the inspector's observation (issue 15): the data-set browser's entry point
(DatasetWorkspace.open_data_frame) and the scan's double-click land in the inspector, which
samples there with its own panel and chain; the chain docks scrub, the Modes dock reads the plans
against the K nearest frames and says so, the demonstrated and neighbour chunks are drawn with
the plans, the 3-D view carries a banner, and one click goes back to the live scene with its
policy and plans. A non-hand action space draws as per-dimension curves and a PCA plane."""
from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6 import QtCore

from app.core.inspector.frame_source import inspection_result
from app.core.inspector.state import DataFrameSource, InspectorState
from app.core.scene_session import SceneSession
from app.qt import registry
from recordings.plan_batch import PlanBatch
from tests.app.inspector_fakes import FakeScene

PLUGIN = "tests.app.inspector_fakes:make_planner"


@pytest.fixture(scope="module")
def window(qapp):
    shown: list[tuple[str, str]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("app.qt.shell.main_window.show_error",
                   lambda parent, title, exc: shown.append((title, str(exc))))
        session = SceneSession("mug_grasp", factory=lambda _n: FakeScene())
        win = registry.main_window(session, restore_layout=False)
        win.dialogs = shown
        win.resize(1200, 800)
        win.show()
        win.load_scene()
        win.features["inspector"].state.update_settings(num_samples=24)
        yield win
        win.close()
        win.deleteLater()
        qapp.processEvents()


def idle(qtbot, ws, timeout=60_000):
    qtbot.waitUntil(lambda: not ws.controller.runner.busy and not ws.state.sampling
                    and not ws.overlay._pending, timeout=timeout)


def test_a_data_frame_samples_in_the_inspector_and_back_to_the_scene(
        qtbot, window, bimodal_h5, bimodal_ckpt):
    ws = window.features["inspector"]
    window.open_policy(PLUGIN)                       # the live scene, sampled by a live policy
    idle(qtbot, ws)
    live_policy, live_result = ws.state.policy, ws.state.result
    assert live_result is not None and ws.state.source is None and not ws.banner.isVisible()

    datasets = window.features["review"].datasets
    streamed: list = []                              # partial chains streamed while sampling
    ws.state.events.partial.connect(streamed.append)
    datasets.open_data_frame(bimodal_h5, 2, 10, str(bimodal_ckpt))   # what the scan calls
    qtbot.waitUntil(lambda: ws.state.data is not None or bool(window.dialogs), timeout=60_000)
    assert window.dialogs == []
    idle(qtbot, ws)
    state, data = ws.state, ws.state.data
    assert window.workspace == "inspector"
    assert state.source == DataFrameSource(bimodal_h5, 2, 10)
    assert (datasets.browser.episode, datasets.browser.frame) == (2, 10)
    assert datasets.result is data and (data.episode, data.frame) == (2, 10)
    assert not state.policy.scene_fed and state.policy.source == str(bimodal_ckpt)
    ws.state.events.partial.disconnect(streamed.append)
    assert streamed and streamed[-1].chain.shape[1] == state.settings.num_samples
    # the sampling panel's settings, with the chain: S steps, scrubbable
    s, n = state.settings.steps, state.settings.num_samples
    batch = state.result.batch
    assert batch.chain.shape[:2] == (s + 1, n) and len(data.plans) == n
    assert ws.chain_view.slider.maximum() == s and ws.chain_view.slider.isEnabled()
    assert state.result.summary.step_labels.shape == (s, n)
    # the Modes dock judges against the local data modes and says so
    summary = state.result.summary
    assert ws.modes_view.policy_verdict.badge.text() == data.verdict
    said = f"nearest frames of {os.path.basename(bimodal_h5)}"
    assert summary.reason.startswith("vs the ") and said in summary.reason
    assert said in ws.modes_view.policy_verdict.badge.toolTip()
    assert said in ws.modes_view.metrics.text()             # "judged against the K nearest ..."
    np.testing.assert_allclose(summary.data_shares, [data.data_shares[m] for m in data.data_shares])
    # demonstrated chunk and neighbours drawn with the plans: 2-D projections and 3-D
    neighbours, demo = ws.chain_view._data_items[0]                  # top view (x-y)
    x, y = demo.getData()
    np.testing.assert_allclose(x, data.demo[:, 0], atol=1e-6)
    np.testing.assert_allclose(y, data.demo[:, 1], atol=1e-6)
    k, h = data.neighbours.shape[:2]
    assert len(neighbours.getData()[0]) == k * h
    assert ws.overlay.data_neighbours.pos.shape[0] == k * (h - 1) * 2
    assert ws.overlay.data_demo.pos.shape == (h, 3)
    assert "demonstrated chunk" in ws.chain_view.legend.text()
    # the banner over the 3-D view names the data set, episode and frame
    assert ws.banner.isVisible()
    text = ws.banner.banner_text()
    assert "Observation from bimodal.h5 · episode 2 · frame 10" in text
    # the synthetic task's data does not give the (fake) live scene's state: hidden, not passed off
    assert "live scene hidden" in text and ws.recorded_scene.mode == "hidden"
    # scrubbing changes the drawn plans (3-D overlay and the projections)
    final_3d = ws.overlay.plans.pos.copy()
    final_2d = ws.chain_view.top._paths.copy()
    state.set_step(0)
    qtbot.waitUntil(lambda: not ws.overlay._pending, timeout=5000)
    assert ws.chain_view.step_label.text().startswith(f"step 0/{s}")
    assert not np.allclose(ws.overlay.plans.pos, final_3d)
    assert not np.allclose(ws.chain_view.top._paths, final_2d)
    np.testing.assert_allclose(ws.overlay.plans.pos[:2], batch.chain[0, 0, :2, :3], atol=1e-6)
    state.set_step(s)
    state.select(0)
    assert "plan #0" in ws.chain_view.selection_label.text()
    # the solver sweep runs at the recorded observation, read against the same local data modes
    ws.sweep_view.num.setValue(8)
    ws.sweep_view.run()
    assert ws.sweep_view._job is not None
    qtbot.waitUntil(lambda: ws.sweep_view._job is None, timeout=60_000)
    sweep = ws.sweep_view.result
    assert sweep is not None and sweep.names == summary.names and len(sweep.points) == 3 * 7
    assert all(np.isnan(p.feasible) for p in sweep.points)      # no scene to check them
    assert ws.sweep_view.answer.text().startswith(("Fewest", "No setting"))
    assert window.dialogs == []
    # the what-if panel edits the live scene's mug: off here, with its reason shown
    assert not ws.whatif.x.isEnabled() and not ws.whatif.apply_button.isEnabled()
    assert ws.whatif.reason.isVisibleTo(ws.whatif) and "recorded frame" in ws.whatif.reason.text()
    ws.whatif.apply()                        # a late timer / drag: nothing sampled on the scene
    assert not state.sampling and state.source is not None
    # ▶ samples at the next frame
    ws.banner.next_button.click()
    qtbot.waitUntil(lambda: ws.state.data is not None and ws.state.data.frame == 11,
                    timeout=60_000)
    idle(qtbot, ws)
    assert "frame 11" in ws.banner.banner_text()
    assert (datasets.browser.episode, datasets.browser.frame) == (2, 11)   # the browser follows
    # one click back: the live scene's policy and plans as they were, no data drawn
    qtbot.mouseClick(ws.banner.back_button, QtCore.Qt.MouseButton.LeftButton)
    idle(qtbot, ws)
    assert state.source is None and state.data is None and not ws.banner.isVisible()
    assert state.policy is live_policy and state.result is live_result
    assert ws.overlay.data_demo.pos.shape[0] == 0 and ws.overlay.plans.pos.shape[0] > 0
    assert len(ws.chain_view._data_items[0][1].getData()[0] or []) == 0
    assert ws.whatif.x.isEnabled() and not ws.whatif.reason.isVisibleTo(ws.whatif)
    assert window.dialogs == []


def test_scan_double_click_lands_in_the_inspector(qtbot, window, tmp_path, bimodal_h5,
                                                  bimodal_ckpt):
    from app.core.scan.config import ScanConfig, ScanSettings
    from app.core.scan.engine import run_scan

    out = tmp_path / "scan.h5"
    run_scan(ScanConfig((str(bimodal_ckpt),), bimodal_h5,
                        ScanSettings(episodes=(0, 3), every=10, num_samples=8, neighbours=4)),
             str(out), workers=0)
    scan = window.features["scan"]
    window.set_workspace("scan")
    scan.open(str(out))
    ws = window.features["inspector"]
    ws.state.set_result(None)
    episode, frame = scan.state.cell(1, 1)
    scan.select(episode, frame)
    assert scan.open_in_inspector()
    qtbot.waitUntil(lambda: ws.state.data is not None and ws.state.data.episode == episode,
                    timeout=60_000)
    idle(qtbot, ws)
    assert window.workspace == "inspector"
    assert ws.state.source.episode == episode and ws.state.source.frame == frame
    assert ws.state.result.batch.chain.shape[0] == ws.state.settings.steps + 1
    ws.back_to_scene()
    idle(qtbot, ws)
    scan.state.close()


def _pushes(with_chain: bool = True):
    """A 2-D push action space (not hand positions): two local data modes among 40 neighbours,
    24 + 8 plans with a 4-step chain from noise."""
    from app.core.inspector.dataset_source import DatasetInspection, read_against_data

    rng = np.random.default_rng(0)
    h, d, s = 8, 2, 4
    t = np.linspace(0, 1, h)

    def mode(side, n):
        return np.stack([t, side * 0.5 * np.sin(np.pi * t)], 1)[None] + rng.normal(0, .01,
                                                                                    (n, h, d))
    neighbours = np.concatenate([mode(1, 20), mode(-1, 20)])
    plans = np.concatenate([mode(1, 24), mode(-1, 8)]).astype(np.float32)
    reading = read_against_data(plans, neighbours[0], np.ones(h, bool), neighbours,
                                np.full(40, 0.1), np.ones(d), data_name="pushes")
    chain = np.stack([rng.normal(0, 1, plans.shape) * (1 - k / s) + plans * k / s
                      for k in range(s + 1)]).astype(np.float32)
    x0 = np.stack([plans + rng.normal(0, 0.3 * (1 - k / s), plans.shape)
                   for k in range(s)]).astype(np.float32)
    batch = PlanBatch(plans=plans, chain=chain if with_chain else np.zeros((0, 32, h, d)),
                      x0_estimates=x0 if with_chain else np.zeros((0, 32, h, d)),
                      timesteps=np.arange(s, 0, -1) if with_chain else np.zeros(0),
                      step_ms=np.ones(s if with_chain else 0), solver="ddim", seed=0)
    return DatasetInspection(
        data="pushes", episode=2, frame=5, obs={}, batch=batch,
        plans=plans, demo=neighbours[0], demo_mask=np.ones(h, bool), neighbours=neighbours,
        neighbour_episodes=np.arange(40), neighbour_frames=np.zeros(40, int),
        neighbour_distances=np.full(40, 0.1), action_names=["push.x", "push.y"],
        end_effector=False, policy="tiny", action_scale=np.ones(d), **reading)


def test_a_non_hand_action_space_draws_curves_and_pca_in_the_chain_dock(qtbot):
    import pyqtgraph as pg

    from app.qt.inspector.chain_view import ChainView

    state = InspectorState()
    view = ChainView(state)
    qtbot.addWidget(view)
    data = _pushes()
    result = inspection_result(data)
    summary = result.summary
    assert summary.names == ["m0", "m1"] and summary.reference == data.compared_against
    assert summary.commit_step.shape == (32,) and summary.step_labels.shape == (4, 32)
    assert (summary.low <= summary.shares).all() and (summary.shares <= summary.high).all()
    state.set_source(DataFrameSource("pushes", 2, 5))
    state.set_result(result, observation={}, data=data)
    assert view.plan_views.currentIndex() == 1                    # curves + PCA, not x-y paths
    dv = view.data_view
    assert len(dv._dim_plots) == 2 and "normalised" in view.stats.getAxis("left").labelText
    assert "PC 1" in dv.plane.getPlotItem().getAxis("bottom").labelText
    xy = dv._plane_plans.data
    assert len(xy) == 32
    modes = summary.labels
    # the two local modes fall on the two sides of PC 1
    assert np.sign(xy["x"][modes == 0]).std() == 0
    assert np.sign(xy["x"][modes == 0][0]) != np.sign(xy["x"][modes == 1][0])
    item = dv._plan_items[1][0]
    _, final = item.getData()
    state.set_step(0)                                              # scrub to the noise
    _, noisy = item.getData()
    assert not np.allclose(final, noisy)
    assert not np.allclose(dv._plane_plans.data["x"], xy["x"])
    state.isolate(1)
    assert dv._plan_items[1][0].getData()[0] is None or len(dv._plan_items[1][0].getData()[0]) == 0
    assert len(dv._plan_items[1][1].getData()[0]) == int((modes == 1).sum()) * 8
    neighbours = [i for i in dv.plane.getPlotItem().items if isinstance(i, pg.ScatterPlotItem)
                  and i is not dv._plane_plans and i is not dv._plane_selected]
    assert sum(len(i.data) for i in neighbours) == 41            # 40 neighbours + the demo
    # back to the live scene: the path projections again
    state.set_source(None)
    state.set_result(None)
    assert view.plan_views.currentIndex() == 0


def test_frame_sampler_refuses_a_frame_the_data_set_lacks(bimodal_h5, bimodal_planner):
    from app.core.inspector.frame_source import FrameSampler
    from recordings.dataset import DatasetError

    sampler = FrameSampler()
    settings = SimpleNamespace(num_samples=4, seed=0, solver=None, steps=3, temperature=1.0)
    with pytest.raises(DatasetError, match="episode 99"):
        sampler.sample(bimodal_planner, DataFrameSource(bimodal_h5, 99, 0), settings)
    calls = []
    out = sampler.sample(bimodal_planner, DataFrameSource(bimodal_h5, 1, 3), settings,
                         on_step=lambda k, total, partial: calls.append((k, total)),
                         cancel=lambda: len(calls) >= 2)
    assert out.result is None and out.cancelled_at[0] == 2     # cancelled after two steps
    out = sampler.sample(bimodal_planner, DataFrameSource(bimodal_h5, 1, 3), settings,
                         baseline=bimodal_planner)   # a baseline read against the same frames
    assert out.result.batch.num_steps == 3 and out.result.summary.reference
    base = out.baseline.summary
    assert base.names == out.result.summary.names and base.reference == out.result.summary.reference
    np.testing.assert_array_equal(out.baseline.batch.plans, out.result.batch.plans)   # same noise
    np.testing.assert_array_equal(base.labels, out.result.summary.labels)
    assert set(out.observation) == {"ee_pos", "obstacle"} and out.observation["ee_pos"].shape == (3,)


def test_banner_shows_the_data_camera_and_the_way_back(qtbot):
    """The data's camera at the frame (a LeRobot 0.4-written data set, AV1 video) in the banner,
    what the plans are drawn in for a non-hand action space, the frame buttons' bounds."""
    from PySide6 import QtWidgets

    from app.core.inspector.frame_source import camera_frame
    from app.qt.inspector.source_banner import SourceBanner
    from recordings.dataset import open_dataset

    ds = open_dataset("tests/recordings/formats/data/lerobot_v3/dataset")
    camera = camera_frame(ds, 1, 5)
    want = ds.frame(1, 5, ["observation.images.front"])["observation.images.front"]
    assert camera[0] == "observation.images.front"
    np.testing.assert_array_equal(camera[1], want)
    state = InspectorState()
    view = QtWidgets.QWidget()
    view.resize(900, 500)
    qtbot.addWidget(view)
    banner = SourceBanner(state, view)
    view.show()
    assert not banner.isVisible() and banner.banner_text() == ""
    data = _pushes()
    state.set_source(DataFrameSource("pushes", 2, 5, length=6))
    state.set_result(inspection_result(data), observation={}, data=data, camera=camera)
    assert banner.isVisible() and banner.thumb.isVisible()
    assert not banner.thumb.pixmap().isNull() and banner.thumb.pixmap().width() == 96
    text = banner.banner_text()
    assert "episode 2 · frame 5" in text and "observation.images.front" in text
    assert "chain dock only" in text                   # pushes are not hand positions
    assert banner.prev_button.isEnabled() and not banner.next_button.isEnabled()   # last frame
    assert banner.width() == view.width() - 16
    with qtbot.waitSignal(banner.backRequested, timeout=1000):
        qtbot.mouseClick(banner.back_button, QtCore.Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(banner.frameStepRequested, timeout=1000) as step:
        banner.prev_button.click()
    assert step.args == [-1]
    state.set_source(None)
    assert not banner.isVisible()


def test_the_badge_qualifies_a_verdict_with_many_plans_off_the_data(qtbot):
    from app.qt.inspector.modes_view import VERDICT_COLOURS, ModesView
    from tests.app.core.inspector.test_verdict_label import _inspection

    state = InspectorState()
    view = ModesView(state)
    qtbot.addWidget(view)
    data = _inspection(off=10)
    state.set_source(DataFrameSource("pushes", 0, 0))
    state.set_result(inspection_result(data), observation={}, data=data)
    badge = view.policy_verdict.badge
    assert badge.text() == "multimodal · 31 % off the data's modes"
    assert VERDICT_COLOURS["multimodal"] in badge.styleSheet()      # the verdict's own colour
    # the averaging scale between the two local modes (was "no reference plans" at data frames)
    summary = state.result.summary
    assert summary.positions.shape == (32,) and set(summary.pair) == set(summary.names)
    label = view.position_plot.getAxis("bottom").labelText
    assert label.startswith("position: 0 m") and "no reference" not in label
