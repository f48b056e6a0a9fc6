"""The driver that puts the review workspace in the state tour cards 4-5 talk about.

It uses only the workspace's public objects: `window.features["review"]` (ReviewWorkspace:
session, open, replans, draw_now) and the window's docks. The recording may still be being
made when a card asks for it (first run): the card's action then waits for the demo's
`recording_ready` signal and runs if the card is still showing.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6 import QtCore

from app.qt.demo.drivers import frame_on_mug

Qt = QtCore.Qt


class ReviewDriver(QtCore.QObject):
    """Cards 4-5: the demo recording in the review workspace."""

    def __init__(self, window: Any, demo: Any) -> None:
        super().__init__(window)
        self.window = window
        self.demo = demo
        self.card = ""
        self._pending: Callable[[], None] | None = None
        demo.recording_ready.connect(self._on_recording_ready)

    @property
    def workspace(self):
        return self.window.features.get("review")

    def _require(self):
        ws = self.workspace
        if ws is None:
            raise RuntimeError("the review workspace is not installed in this build")
        return ws

    def recording_open(self) -> bool:
        ws = self.workspace
        path = self.demo.recording_path
        return (ws is not None and path is not None
                and any(rec.path == path.resolve() for rec in ws.session.recordings))

    def settled(self, key: str) -> bool:
        ws = self.workspace
        if not self.recording_open() or ws.session.rollout is None:
            return False
        if key == "rollout":
            return ws.session.playing
        return True

    def _open(self) -> bool:
        """Open the demo recording (False while it is still being made)."""
        ws = self._require()
        if self.window.workspace != "review":
            self.window.set_workspace("review")
        if self.recording_open():
            return True
        path = self.demo.recording_path
        if path is None:
            self.window.status("the demo recording is being made (first run only); this card "
                               "fills in as soon as it is ready", 15000)
            return False
        ws.open(str(path))
        return True

    def _index_of_recording(self) -> int:
        ws = self._require()
        path = self.demo.recording_path.resolve()
        return next(i for i, rec in enumerate(ws.session.recordings) if rec.path == path)

    def _when_open(self, action: Callable[[], None]) -> None:
        if self._open():
            self._pending = None
            action()
        else:
            self._pending = action

    def _on_recording_ready(self, _path: str) -> None:
        tour = getattr(self.window, "tour", None)
        if self._pending is not None and tour is not None and tour.model.active \
                and tour.model.current.key == self.card:
            action, self._pending = self._pending, None
            self._when_open(action)

    def show_rollout(self) -> None:
        """Card 4: a successful diffusion rollout replaying, plans at each replan in view."""
        self.card = "rollout"
        ws = self._require()

        def action() -> None:
            from app.core.review.state import RolloutKey
            s = ws.session
            f = self._index_of_recording()
            rec = s.recordings[f]
            rows = rec.rows_where(policy="diffusion")
            ok = [r for r in rows if bool(rec.cell(r, "success"))]
            row = (ok or rows or [0])[0]
            key = RolloutKey(f, row)
            if s.current != key:
                s.select(key)
            s.set_step(0)
            ws.replans.tabs.setCurrentIndex(0)
            dock = self.window.dock("review_replans")
            if dock is not None:
                dock.show()
                dock.raise_()
            s.set_playing(True)
            ws.draw_now()
            self._layout(s.rollout, "rollout")
        self._when_open(action)

    def show_queue(self) -> None:
        """Card 5: the hardest rollout at the replan where it went wrong, with a failure tag."""
        self.card = "review"
        ws = self._require()

        def action() -> None:
            s = ws.session
            s.set_playing(False)
            if s.queue:
                if s.current != s.queue[0]:
                    s.select(s.queue[0])
            data = s.rollout
            if data is None:
                return
            target = data.failure_step if not data.success else data.num_steps // 2
            before = data.replan_steps[data.replan_steps <= target]
            s.set_step(int(before[-1]) if before.size else int(target))
            self._tag_example(s, data)
            dock = self.window.dock("review_queue")
            if dock is not None:
                dock.show()
                dock.raise_()
            ws.draw_now()
            self._layout(data, "review")
        self._when_open(action)

    def _layout(self, data, card: str) -> None:
        """A short timeline (it is one bar) so the replayed scene gets the height, and the
        camera on this rollout's mug."""
        timeline = self.window.dock("review_timeline")
        if timeline is not None:
            self.window.resizeDocks([timeline], [190], Qt.Vertical)
        side = self.window.dock("review_replans" if card == "rollout" else "review_queue")
        if side is not None:
            share = 0.40 if card == "rollout" else 0.36
            self.window.resizeDocks([side], [int(self.window.width() * share)], Qt.Horizontal)
        mug = None if data is None else data.obs.get("mug_pos")
        if mug is not None and len(mug):
            frame_on_mug(self.window, mug[0], card)

    @staticmethod
    def _tag_example(session, data) -> None:
        """Show what a tag looks like: the hardest rollout gets its automatic failure label as
        a reviewer's tag at the failure moment, once (tags persist in the demo's sidecar)."""
        if session.tags():
            return
        from app.core.review.tags import TAXONOMY
        label = str(getattr(data, "failure_label", "") or "")
        if label not in TAXONOMY:
            label = "planning"
        session.add_tag(label, at_step=True,
                        note="demo: automatic label confirmed")

    def stop(self) -> None:
        ws = self.workspace
        if ws is not None:
            ws.session.set_playing(False)
        self._pending = None
