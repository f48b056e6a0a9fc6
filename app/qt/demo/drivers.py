"""The driver that puts the inspector workspace in the state tour cards 1-3 talk about.

It uses only the workspace's public objects: `window.features["inspector"]`
(InspectorWorkspace: state, controller, chain_view, modes_view, docks). Cards 4-5 are driven by
app/qt/demo/review_driver.py.
Everything asynchronous (loading a checkpoint, sampling) is started once; what must happen
after it (framing the camera, playing the chain) is queued as a "when sampled" action, so a
card's setup returns at once and the window stays responsive while the work finishes.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6 import QtCore

from app.core.demo import data as demo_data

Qt = QtCore.Qt

DEMO_SAMPLE_SEED = 7       # sampling seed: the same plans at every demo
DEMO_NUM_SAMPLES = 128
CHAIN_LOOP_PAUSE_MS = 1500  # the chain rests on the final plans before playing again
# Camera for the cards: looking at the mug from the front-left and above, far enough back that
# both grasps, the baseline's plan and the robot's gripper fit in the middle of the view (the
# card sits in a corner). Distances in metres, angles in degrees.
CAMERA_ELEVATION, CAMERA_AZIMUTH = 28.0, -25.0
CAMERA_DISTANCE = {"problem": 1.45, "chain": 1.3, "modes": 1.45, "rollout": 1.5, "review": 1.5}
# look this far above the mug: the plans arc over it; the review cards sit at the bottom of
# the view, so there the mug is kept higher in the picture
CAMERA_LIFT_M = {"problem": 0.15, "chain": 0.15, "modes": 0.15, "rollout": -0.05, "review": -0.05}
MAX_MODE_LABELS = 4
BASELINE_OVERLAYS = ("demo.baseline", "demo.baseline_hit", "demo.baseline_label",
                     *(f"demo.mode_label_{m}" for m in range(MAX_MODE_LABELS)))
HIGHLIGHT_RGBA = (1.0, 1.0, 1.0, 0.95)   # white: no mode colour, nothing selected on card 1


def frame_on_mug(window: Any, mug_xyz, card: str) -> None:
    """Point the 3-D view at the mug (world metres) the way card `card` wants it."""
    import numpy as np
    from pyqtgraph import Vector
    centre = np.asarray(mug_xyz, dtype=float).reshape(-1)[:3] + (0.0, 0.0, CAMERA_LIFT_M[card])
    view = window.scene_view
    # the field of view is fixed vertically: a narrow view (large fonts, wide docks) needs the
    # camera further back to keep both grasps in the picture
    aspect = view.width() / max(view.height(), 1)
    distance = CAMERA_DISTANCE[card] * max(1.0, 1.2 / max(aspect, 0.3))
    view.setCameraPosition(pos=Vector(*centre), distance=distance,
                                        elevation=CAMERA_ELEVATION, azimuth=CAMERA_AZIMUTH)


class InspectorDriver(QtCore.QObject):
    """Cards 1-3: diffusion policy + regression baseline on the demo observation."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.card = ""
        self._when_sampled: list[Callable[[], None]] = []
        self._loop_chain = False
        self._requested = False   # the demo policies' loads were submitted
        ws = self.workspace
        if ws is not None:
            ws.state.events.batch.connect(self._on_batch)
            # the last event of a sampling run: both results are in and sampling is over
            ws.state.events.sampling.connect(self._on_batch)
            ws.state.events.step.connect(self._on_step)

    @property
    def workspace(self):
        return self.window.features.get("inspector")

    def _require(self):
        ws = self.workspace
        if ws is None:
            raise RuntimeError("the inspector workspace is not installed in this build")
        return ws

    # ---- readiness ---------------------------------------------------------------------------
    def _policy_source(self, slot: str) -> str:
        policy = getattr(self._require().state, slot)
        return "" if policy is None else str(policy.source)

    def has_demo_policies(self) -> bool:
        return (self._policy_source("policy") == str(demo_data.DIFFUSION_CHECKPOINT)
                and self._policy_source("baseline") == str(demo_data.REGRESSION_CHECKPOINT))

    def sampled(self) -> bool:
        """Both policies loaded and both sampled on the demo observation."""
        state = self._require().state
        return (self.has_demo_policies() and not state.sampling and state.result is not None
                and state.baseline_result is not None)

    def settled(self, key: str) -> bool:
        if not self.sampled():
            return False
        if key == "chain":
            return self._require().chain_view.playing
        return True

    # ---- setting up --------------------------------------------------------------------------
    def ensure_sampled(self) -> None:
        """Load the shipped policies (baseline first, so the policy's automatic sampling
        includes the baseline) and sample N=128 with the demo seed, unless already done."""
        ws = self._require()
        if self.window.workspace != "inspector":
            self.window.set_workspace("inspector")
        state, controller = ws.state, ws.controller
        if self.sampled():
            return
        if state.settings.num_samples != DEMO_NUM_SAMPLES or state.settings.seed != DEMO_SAMPLE_SEED:
            state.update_settings(num_samples=DEMO_NUM_SAMPLES, seed=DEMO_SAMPLE_SEED)
        loading = controller.runner.busy and self._requested
        if self._policy_source("baseline") != str(demo_data.REGRESSION_CHECKPOINT) and not loading:
            controller.open_policy(str(demo_data.REGRESSION_CHECKPOINT), "baseline")
            self._requested = True
        if self._policy_source("policy") != str(demo_data.DIFFUSION_CHECKPOINT):
            if not loading:
                # the policy samples (with the baseline beside it) as soon as it is loaded
                controller.open_policy(str(demo_data.DIFFUSION_CHECKPOINT), "policy")
                self._requested = True
        elif not state.sampling:
            controller.sample()

    def preload(self) -> None:
        """Start loading both policies (and importing torch and diffusers) on the inspector's
        worker thread now, while the GUI thread is still building the window and the scene."""
        ws = self.workspace
        if ws is None or self._requested:
            return
        self.ensure_sampled()

        def warm_up(_handle) -> None:
            # first use of the diffusion schedulers imports diffusers (seconds); do it here,
            # on the same worker thread as the loads, before the first sampling needs it
            from diffusers import DPMSolverMultistepScheduler  # noqa: F401
        ws.controller.runner.submit(warm_up, name="warm up")

    def _then(self, action: Callable[[], None]) -> None:
        """Run `action` now when sampled, else as soon as the sampling finishes."""
        if self.sampled():
            action()
        else:
            self._when_sampled = [action]

    def _on_batch(self, _result) -> None:
        if self._when_sampled and self.sampled():
            actions, self._when_sampled = self._when_sampled, []
            for action in actions:
                action()

    def _frame(self) -> None:
        obs = self._require().state.observation or {}
        mug = obs.get("mug_pos")
        if mug is not None:
            frame_on_mug(self.window, mug, self.card)

    def highlight_baseline(self, on: bool) -> None:
        """Card 1: the regression plan drawn thick and labelled, with a big marker where it
        hits the mug, so a room can see the averaged plan among the 128 diffusion plans.
        A demo overlay on the scene view (the inspector's own drawing is left as it is)."""
        view = self.window.scene_view
        for key in BASELINE_OVERLAYS:
            view.remove_overlay(key)
        ws = self.workspace
        result = None if ws is None else ws.state.baseline_result
        if not on or result is None:
            return
        import numpy as np
        import pyqtgraph.opengl as gl
        from PySide6 import QtGui
        path = np.asarray(result.batch.plans[0, :, :3], dtype=np.float32)
        if not np.isfinite(path).all():
            return
        from OpenGL import GL

        # drawn over everything (no depth test): the point is to see it through the plan cloud
        # and the mug it runs into
        on_top = {GL.GL_DEPTH_TEST: False, GL.GL_BLEND: True,
                  "glBlendFunc": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)}
        line = gl.GLLinePlotItem(pos=path, mode="line_strip", width=7.0, color=HIGHLIGHT_RGBA,
                                 antialias=False, glOptions=on_top)
        feas = result.feasibility
        bad = int(feas.bad_waypoint[0]) if feas is not None and len(feas.bad_waypoint) else -1
        hit = path[bad] if bad >= 0 else path[-1]
        marker = gl.GLScatterPlotItem(pos=hit[None], size=30, color=(1.0, 0.23, 0.19, 1.0),
                                      glOptions=on_top)
        font = QtGui.QFont()
        font.setPointSizeF(max(QtGui.QGuiApplication.font().pointSizeF(), 10.0) * 1.5)
        font.setBold(True)
        text = "regression: the average" + (" → hits the mug" if bad >= 0 else "")
        label = gl.GLTextItem(pos=path[0] + np.array([0.0, 0.0, 0.04], np.float32), text=text,
                              color=QtGui.QColor(255, 255, 255), font=font)
        items = [line, marker, label] + self._mode_labels(font)
        for key, item in zip(BASELINE_OVERLAYS, items):
            item.setDepthValue(30)     # over the plans
            view.add_overlay(key, item)

    def _mode_labels(self, font) -> list:
        """A text label per mode of the diffusion plans ('left grasp'), in the mode's colour,
        beside the middle of its plans: the legend an audience reads without a legend box."""
        import numpy as np
        import pyqtgraph.opengl as gl
        from PySide6 import QtGui

        from app.qt.plots.mode_colors import mode_hex
        result = self._require().state.result
        summary = None if result is None else result.summary
        if summary is None:
            return []
        plans = np.asarray(result.batch.plans[..., :3], dtype=np.float64)
        centre = np.nanmean(plans[:, :, :2].reshape(-1, 2), axis=0)
        labels = []
        for m, name in enumerate(summary.names[:MAX_MODE_LABELS]):
            members = np.flatnonzero(summary.labels == m)
            if members.size < 0.05 * len(plans):
                continue
            mid = np.nanmean(plans[members, plans.shape[1] // 2], axis=0)
            outward = mid[:2] - centre
            outward = outward / max(np.linalg.norm(outward), 1e-6) * 0.07   # 7 cm out
            pos = np.array([mid[0] + outward[0], mid[1] + outward[1], mid[2]], np.float32)
            labels.append(gl.GLTextItem(pos=pos, text=f"{name} grasp", font=font,
                                        color=QtGui.QColor(mode_hex(m))))
        return labels

    def _enter(self, card: str) -> Any:
        self.card = card
        self._loop_chain = False
        self.highlight_baseline(False)
        ws = self._require()
        ws.chain_view.set_playing(False)
        self.ensure_sampled()
        return ws

    def show_problem(self) -> None:
        """Card 1: the final plans of both policies in the 3-D view, nothing isolated."""
        ws = self._enter("problem")

        def done() -> None:
            ws.state.isolate(None)
            ws.state.select(None)
            ws.state.set_step(ws.state.num_steps)
            self._frame()
            self.highlight_baseline(True)
        self._then(done)

    def play_chain(self) -> None:
        """Card 2: the chain dock in front and playing from the noise, looping."""
        ws = self._enter("chain")
        dock = ws.docks["inspector_chain"]
        dock.show()
        dock.raise_()
        self.window.resizeDocks([dock], [int(self.window.height() * 0.38)], Qt.Vertical)

        def done() -> None:
            self._frame()
            ws.state.set_step(0)
            self._loop_chain = True
            ws.chain_view.set_playing(True)
        self._then(done)

    def show_modes(self) -> None:
        """Card 3: the modes dock wide enough to read the bars and both verdicts."""
        ws = self._enter("modes")
        dock = ws.docks["inspector_modes"]
        dock.show()
        dock.raise_()
        self.window.resizeDocks([dock], [int(self.window.width() * 0.30)], Qt.Horizontal)

        def done() -> None:
            ws.state.isolate(None)
            ws.state.set_step(ws.state.num_steps)
            self._frame()
        self._then(done)

    def _on_step(self, step: int) -> None:
        # Loop the chain on card 2: rest on the final plans, then play from the noise again.
        ws = self.workspace
        if self._loop_chain and ws is not None and step >= ws.state.num_steps > 0:
            QtCore.QTimer.singleShot(CHAIN_LOOP_PAUSE_MS, self._replay_chain)

    def _replay_chain(self) -> None:
        ws = self.workspace
        tour = getattr(self.window, "tour", None)
        on_card = tour is not None and tour.model.active and tour.model.current.key == "chain"
        if ws is not None and self._loop_chain and on_card and not ws.chain_view.playing:
            ws.state.set_step(0)
            ws.chain_view.set_playing(True)

    def stop(self) -> None:
        self._loop_chain = False
        self._when_sampled = []
        self.highlight_baseline(False)

    def shutdown(self) -> None:
        self.stop()
