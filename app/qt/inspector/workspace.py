"""The Inspector workspace: policy & sampling (left), modes (right), denoising chain and solver
sweep (bottom), plan overlays in the central 3-D view, menus and keyboard shortcuts.

    install(window) -> InspectorWorkspace          (called by MainWindow for every window)
    prepare_snapshot(window, args)                 (`planscope snapshot --view inspector ...`)

Keys (active in the Inspector workspace, listed in Help ▸ Keyboard shortcuts): Space play/pause
the chain, ←/→ step, Ctrl+Enter sample, Esc cancel sampling / clear selection, 1–9 isolate a mode,
0 isolate the plans in no mode.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app import CHECKPOINTS
from app.core.inspector.state import NO_MODE, DataFrameSource, InspectorState
from app.qt.inspector.chain_view import ChainView
from app.qt.inspector.controller import InspectorController
from app.qt.inspector.export import ExportMenu
from app.qt.inspector.modes_view import ModesView
from app.qt.inspector.plan_overlay import PlanOverlay
from app.qt.inspector.policy_panel import PolicyPanel, remember_policy
from app.qt.inspector.sampling_panel import SamplingPanel
from app.qt.inspector.recorded_scene import RecordedSceneGuard
from app.qt.inspector.source_banner import SourceBanner
from app.qt.inspector.sweep_view import SweepView
from app.qt.inspector.whatif import WhatIfPanel

Qt = QtCore.Qt
WORKSPACE = "inspector"
DEFAULT_POLICY = CHECKPOINTS / "mug_grasp_diffusion"
DEFAULT_BASELINE = CHECKPOINTS / "mug_grasp_regression"


def is_checkpoint(path: str) -> bool:
    """True for a policy the inspector opens: a planscope checkpoint folder (or a file inside
    one), a LeRobot pretrained_model folder (or the checkpoint folder holding one), a
    diffusion_policy `.ckpt` file."""
    p = Path(path)
    if p.suffix == ".ckpt" and p.is_file():
        return True
    from planners.lerobot.config import is_lerobot_folder   # torch-free: reads one JSON file
    if is_lerobot_folder(p if p.is_dir() else p.parent):
        return True
    folder = p if p.is_dir() else p.parent
    config = folder / "config.json"
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text()).get("format") == "planscope-checkpoint"
    except (OSError, ValueError):
        return True  # looks like one; loading will say exactly what is wrong with it


class _FormScroll(QtWidgets.QScrollArea):
    """The side panel's scroll area: always as wide as its forms' own minimum (the seed row,
    Sample | Cancel, a loaded policy's facts) plus the vertical bar — narrower, with the
    horizontal bar off, the buttons were cut ("Canc"). Follows the forms as they change."""

    def setWidget(self, widget: QtWidgets.QWidget) -> None:
        super().setWidget(widget)
        widget.installEventFilter(self)
        self._fit_width()

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if obj is self.widget() and event.type() == QtCore.QEvent.Type.LayoutRequest:
            self._fit_width()
        return super().eventFilter(obj, event)

    def _fit_width(self) -> None:
        inner = self.widget()
        need = max(330, inner.minimumSizeHint().width()
                   + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth() + 2)
        if need != self.minimumWidth():
            self.setMinimumWidth(need)


class InspectorWorkspace(QtCore.QObject):
    """Everything the inspector adds to a MainWindow (kept in window.features["inspector"])."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.state = InspectorState()
        self.controller = InspectorController(self.state, window.session,
                                              report_error=self._report_error)
        self.policy_panel = PolicyPanel(self.state)
        self.sampling_panel = SamplingPanel(self.state)
        self.whatif = WhatIfPanel(self.state, self.controller, window)
        self.chain_view = ChainView(self.state)
        self.modes_view = ModesView(self.state)
        self.sweep_view = SweepView(self.state, self.controller)
        self.overlay = PlanOverlay(self.state)
        self.overlay.attach(window.scene_view)
        self.banner = SourceBanner(self.state, window.scene_view)
        # at a recorded frame: the live scene set to its state, or hidden (never shown as if it were)
        self.recorded_scene = RecordedSceneGuard(window, self.state, self.banner)
        self._parked: list[tuple[QtGui.QAction, QtGui.QKeySequence]] = []
        self._closed = False
        self._build_docks()
        self._build_actions()
        self._wire()
        QtWidgets.QApplication.instance().aboutToQuit.connect(self.shutdown)
        window.installEventFilter(self)

    # ---- layout ------------------------------------------------------------------------------
    def _build_docks(self) -> None:
        w = self.window
        left = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(left)
        layout.setContentsMargins(0, 0, 0, 0)
        # sampling first: it is what one uses all the time; the policy is loaded once
        for panel in (self.sampling_panel, self.policy_panel, self.whatif):
            layout.addWidget(panel)
        layout.addStretch(1)
        scroll = _FormScroll()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left)
        self.docks = {
            "inspector_policy": w.add_dock("inspector_policy", "Policy && Sampling", scroll,
                                           Qt.DockWidgetArea.LeftDockWidgetArea, WORKSPACE),
            "inspector_modes": w.add_dock("inspector_modes", "Modes", self.modes_view,
                                          Qt.DockWidgetArea.RightDockWidgetArea, WORKSPACE),
            "inspector_chain": w.add_dock("inspector_chain", "Denoising chain", self.chain_view,
                                          Qt.DockWidgetArea.BottomDockWidgetArea, WORKSPACE),
            "inspector_sweep": w.add_dock("inspector_sweep", "Solver sweep", self.sweep_view,
                                          Qt.DockWidgetArea.BottomDockWidgetArea, WORKSPACE),
        }
        w.tabifyDockWidget(self.docks["inspector_chain"], self.docks["inspector_sweep"])
        self.docks["inspector_chain"].raise_()
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # the default layout leaves the 3-D view most of the height (the tour's cards live there)
        fit_docks(w, self.docks, chain_share=0.28)

    def fit_default_layout(self) -> None:
        """The first-launch layout at the window's size (the shell calls it once it is known)."""
        fit_docks(self.window, self.docks, chain_share=0.28)

    def _action(self, text: str, slot, shortcuts: list[str], tip: str = "") -> QtGui.QAction:
        action = QtGui.QAction(text, self.window)
        action.setShortcuts([QtGui.QKeySequence(s) for s in shortcuts])
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.triggered.connect(slot)
        self.window.addAction(action)
        self.actions.append(action)
        return action

    def _build_actions(self) -> None:
        self.actions: list[QtGui.QAction] = []
        c, chain = self.controller, self.chain_view
        self.sample_action = self._action("Sample plans", lambda: c.sample(),
                                          ["Ctrl+Return", "Ctrl+Enter"], "Sample N plans (Ctrl+Enter)")
        self.chain_play_action = self._action("Play/pause denoising chain", chain.toggle_playing,
                                              ["Space"])
        self._action("Chain step back", lambda: chain.step_by(-1), ["Left"])
        self._action("Chain step forward", lambda: chain.step_by(1), ["Right"])
        self._action("Cancel sampling / clear selection and isolation", self.escape, ["Esc"])
        for i in range(1, 10):
            self._action(f"Isolate mode {i}", lambda _c=False, m=i - 1: self.modes_view.toggle_isolation(m),
                         [str(i)])
        self._action("Isolate the plans in no mode", lambda: self.modes_view.toggle_isolation(NO_MODE), ["0"])
        self.open_baseline_action = QtGui.QAction("Open &Baseline Policy…", self.window)
        self.open_baseline_action.triggered.connect(self.policy_panel.slots["baseline"].browse)
        menu = self.window.file_menu
        first = menu.actions()[2] if len(menu.actions()) > 2 else None
        menu.insertAction(first, self.open_baseline_action)
        self.export_menu = ExportMenu(self, menu)
        self.inspector_menu = self.window.menuBar().insertMenu(
            self.window.help_menu.menuAction(), QtWidgets.QMenu("&Inspector", self.window))
        imenu = self.inspector_menu.menu()
        for action in (self.sample_action, self.chain_play_action):
            imenu.addAction(action)
        imenu.addAction("Cancel sampling", c.cancel)
        imenu.addAction("Run solver sweep", self.sweep_view.run)

    def _wire(self) -> None:
        w, c = self.window, self.controller
        w.register_policy_handler(self.open_policy)
        w.register_drop_handler(is_checkpoint, self.open_policy, name="policy checkpoint")
        self.policy_panel.openRequested.connect(lambda slot, src: self.open_policy(src, slot))
        self.policy_panel.clearRequested.connect(c.clear_slot)
        self.sampling_panel.sampleRequested.connect(lambda: c.sample())
        self.sampling_panel.cancelRequested.connect(c.cancel)
        c.cudaAvailable.connect(self.sampling_panel.set_cuda_available)
        self.banner.backRequested.connect(self.back_to_scene)
        self.banner.frameStepRequested.connect(self.step_frame)
        self.state.events.message.connect(lambda text: w.status(text, 8000))
        w.workspaceChanged.connect(self._on_workspace)
        self._on_workspace(w.workspace)

    def _on_workspace(self, name: str) -> None:
        active = name == WORKSPACE
        for action in self.actions:
            action.setEnabled(active)
        if hasattr(self, "inspector_menu"):
            self.inspector_menu.setVisible(active)
        if not active:
            self._restore_parked()
        else:
            # after every other workspace's handler has run (one may give a shortcut back now)
            QtCore.QTimer.singleShot(0, self._park_conflicting)

    def _park_conflicting(self) -> None:
        """Take our keys (Space, arrows, digits, Esc) away from other window actions while the
        inspector is active, so Qt never sees an ambiguous shortcut; given back on leaving."""
        if self.window.workspace != WORKSPACE or self._closed:
            return
        mine = {seq.toString() for a in self.actions for seq in a.shortcuts()}
        for action in self.window.findChildren(QtGui.QAction):
            if action in self.actions or action.shortcut().isEmpty():
                continue
            if action.shortcut().toString() in mine:
                self._parked.append((action, action.shortcut()))
                action.setShortcut(QtGui.QKeySequence())

    def _restore_parked(self) -> None:
        for action, key in self._parked:
            if action.shortcut().isEmpty():
                action.setShortcut(key)
        self._parked.clear()

    # ---- behaviour ---------------------------------------------------------------------------
    def open_policy(self, source: str, slot: str | None = None, *, data: str | None = None) -> None:
        """Load a policy (File ▸ Open Policy, a drop, `--policy`). data: the data set it is for
        (`snapshot --data`); else the data set open in the review workspace's browser, if any,
        so a policy the live scene cannot feed still loads for that data set's frames."""
        self.controller.synchronous = bool(getattr(self.window, "raise_errors", False))
        if self.window.workspace != WORKSPACE:
            self.window.set_workspace(WORKSPACE)
        if os.path.exists(source):
            source = os.path.abspath(source)
        self.controller.open_policy(source, slot, data=data or self.open_data_set())
        remember_policy(source)

    def open_data_set(self) -> str | None:
        """The path of the data set open in the review workspace's browser (reached at run time:
        rooms never import each other), or None."""
        ds = getattr(getattr(self.window.features.get("review"), "datasets", None), "ds", None)
        return None if ds is None else str(ds.path)

    def open_data_frame(self, data: str, episode: int, frame: int, policy_ref: str | None = None,
                        *, length: int | None = None, wait: bool = False) -> None:
        """A recorded frame as the inspector's observation: switch to the inspector and sample
        there with the sampling panel's N, solver, steps and seed (streamed, cancellable, with the
        chain); policy_ref: a checkpoint to load for it (a scan's), else the policy held.
        wait=True samples on this thread (snapshots, scripted tests). The data-set browser and
        the scan reach this through DatasetWorkspace.open_data_frame."""
        if not policy_ref and self.state.policy is None:
            from recordings.errors import UserFacingError
            raise UserFacingError("no policy loaded: open a checkpoint (File ▸ Open Policy…) to "
                                  "inspect it at a recorded frame")
        if self.window.workspace != WORKSPACE:
            self.window.set_workspace(WORKSPACE)
        synchronous = self.controller.synchronous
        self.controller.synchronous = wait or synchronous
        try:
            self.controller.open_frame(DataFrameSource(str(data), int(episode), int(frame),
                                                       length), policy_ref)
        finally:
            self.controller.synchronous = synchronous

    def step_frame(self, delta: int) -> None:
        """Sample at the frame `delta` frames on in the same episode (the banner's ◀ / ▶)."""
        from dataclasses import replace
        source = self.state.source
        if source is None:
            return
        frame = source.frame + int(delta)
        if frame < 0 or (source.length is not None and frame >= source.length):
            return
        self.controller.open_frame(replace(source, frame=frame))

    def back_to_scene(self) -> None:
        """The live scene as the observation again (one click on the banner)."""
        self.controller.back_to_scene()
        self.window.status("observation: the live scene", 4000)

    def escape(self) -> None:
        if self.state.sampling:
            self.controller.cancel()
        else:
            self.state.clear()

    def _report_error(self, title: str, exc: BaseException) -> None:
        self.window.report_error(title, exc)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        if obj is self.window and event.type() == QtCore.QEvent.Type.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        if not self._closed:
            self._closed = True
            self.chain_view.set_playing(False)
            self.controller.shutdown()
            self.recorded_scene.close()


def install(window: Any) -> InspectorWorkspace:
    return InspectorWorkspace(window)


def prepare_snapshot(window: Any, args: Any) -> None:
    """Load the policy (the shipped diffusion + regression checkpoints when --policy is not
    given), sample synchronously, select one plan and frame the view for the PNG."""
    ws: InspectorWorkspace = window.features["inspector"]
    ws.controller.synchronous = True
    if getattr(args, "data", None):
        prepare_data_snapshot(window, ws, args)
        return
    if ws.state.policy is None:
        if not DEFAULT_POLICY.is_dir():
            from recordings.errors import UserFacingError
            raise UserFacingError("--view inspector: no --policy given and the shipped checkpoint "
                                  f"{DEFAULT_POLICY} is missing (make checkpoints)")
        ws.controller.open_policy(str(DEFAULT_POLICY), "policy")
    if ws.state.baseline is None and DEFAULT_BASELINE.is_dir() and not getattr(args, "policy", None):
        ws.controller.open_policy(str(DEFAULT_BASELINE), "baseline")
    ws.state.update_settings(num_samples=max(ws.state.settings.num_samples, 128))
    ws.controller.sample()
    result = ws.state.result
    if result is not None and result.summary is not None:
        labels = result.summary.labels
        ws.state.select(int(next((i for i, m in enumerate(labels) if m >= 0), 0)))
    frame_scene_view(window)
    ws.docks["inspector_chain"].raise_()
    fit_docks(window, ws.docks)
    if getattr(ws.state.policy.spec, "library", "") not in ("", "planscope"):
        show_policy_facts(window, ws)


def prepare_data_snapshot(window: Any, ws: "InspectorWorkspace", args: Any) -> None:
    """--data DS --episode E --frame F [--policy P]: the data set opened in the review
    workspace's browser (reached at run time: rooms never import each other), the frame sampled
    in the inspector with --policy (or the shipped diffusion policy), one plan selected."""
    datasets = getattr(window.features.get("review"), "datasets", None)
    episode, frame = int(getattr(args, "episode", 0) or 0), int(getattr(args, "frame", 0) or 0)
    policy = None if ws.state.policy is not None else str(DEFAULT_POLICY)
    if datasets is not None:
        datasets.open_data_frame(args.data, episode, frame, policy, wait=True)
    else:
        ws.open_data_frame(args.data, episode, frame, policy, wait=True)
    if window.workspace != WORKSPACE:
        window.set_workspace(WORKSPACE)
    result = ws.state.result
    if result is not None and result.summary is not None:
        labels = result.summary.labels
        ws.state.select(int(next((i for i, m in enumerate(labels) if m >= 0), 0)))
    if ws.state.data is not None and ws.state.data.end_effector:
        frame_scene_view(window)
    ws.docks["inspector_chain"].raise_()
    fit_docks(window, ws.docks, chain_share=0.40)


def show_policy_facts(window: Any, ws: "InspectorWorkspace") -> None:
    """A policy from another library: a wider left dock scrolled to the Policy panel, so the
    snapshot shows what its files say (library, features, horizons, scheduler, normalisation)."""
    window.resizeDocks([ws.docks["inspector_policy"]], [min(480, window.width() // 3)], Qt.Orientation.Horizontal)
    QtWidgets.QApplication.processEvents()
    scroll = ws.docks["inspector_policy"].widget()
    if isinstance(scroll, QtWidgets.QScrollArea):
        scroll.verticalScrollBar().setValue(ws.policy_panel.y())


def fit_docks(window: Any, docks: dict[str, QtWidgets.QDockWidget], chain_share: float = 0.36) -> None:
    """Give the chain view `chain_share` of the height, the modes view most of the right column
    (the shell's camera dock shares it) and the left panel room for its forms."""
    h, w = max(window.height(), 600), max(window.width(), 900)
    window.resizeDocks([docks["inspector_chain"]], [int(h * chain_share)], Qt.Orientation.Vertical)
    window.resizeDocks([docks["inspector_modes"]], [int(w * 0.27)], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["inspector_policy"]], [360], Qt.Orientation.Horizontal)
    camera = window.dock("camera") if hasattr(window, "dock") else None
    if camera is not None and camera.isVisible():
        window.resizeDocks([camera, docks["inspector_modes"]], [int(h * 0.16), int(h * 0.48)],
                           Qt.Orientation.Vertical)


def frame_scene_view(window: Any) -> None:
    """Camera on the mug and the plans, from the front-left and above."""
    view = window.scene_view
    ws: InspectorWorkspace = window.features["inspector"]
    result = ws.state.result
    if result is None:
        return
    import numpy as np
    from pyqtgraph import Vector
    xyz = result.batch.plans[..., :3].reshape(-1, 3)
    xyz = xyz[np.isfinite(xyz).all(axis=1)]
    if not len(xyz):
        return
    centre = (xyz.min(axis=0) + xyz.max(axis=0)) / 2
    view.setCameraPosition(pos=Vector(*centre), distance=1.15, elevation=32, azimuth=-140)
