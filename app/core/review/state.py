"""The review session, Qt-free: open recordings, the current rollout and step, playback speed,
the hardest-20 queue and the failure tags.

Views never read files: they connect to the session's events (ReviewEvents, below) and draw
what it holds. Every method that can fail because of the user's input raises a
`UserFacingError` subclass with a one-line message; the GUI turns it into a dialog and keeps
running.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from app.core.events import Event, event
from app.core.review.data import RolloutData
from app.core.review.files import OpenRecording, open_recording
from app.core.review.tags import TAXONOMY, Tag
from recordings.errors import RecordingError, UserFacingError

SPEEDS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
CONTROL_HZ = 10.0
QUEUE_SIZE = 20
# Event kinds the timeline jumps between ("tag" is our own: a tag anchored to a step).
JUMP_KINDS = ("contact", "replan", "success", "joint_limit", "timeout", "tag")


@dataclass(frozen=True)
class ReviewEvents:
    """What the review views react to (app/core/events.py)."""
    recordings_changed: Event[[]] = event()                      # a file was opened or closed
    rollout_changed: Event[["RolloutData | None"]] = event()    # current rollout (arrays ready)
    compare_changed: Event[["RolloutKey | None"]] = event()     # the rollout shown beside it
    step_changed: Event[[int]] = event()                         # the current control step
    playing_changed: Event[[bool]] = event()
    speed_changed: Event[[float]] = event()
    tags_changed: Event[[]] = event()          # the tag store's content (here or elsewhere)
    queue_changed: Event[[]] = event()         # the hardest-20 queue or its reviewed count


@dataclass(frozen=True)
class RolloutKey:
    """A rollout in one of the open files: (file index in the session, row in its summary)."""
    file: int
    row: int


class ReviewSession:
    """State of the review workspace. One instance per window."""

    def __init__(self) -> None:
        self.recordings: list[OpenRecording] = []
        self.current: RolloutKey | None = None
        self.rollout: RolloutData | None = None
        self.compare: RolloutKey | None = None
        self._compare_data: RolloutData | None = None
        self.step = 0
        self.playing = False
        self.speed = 1.0
        self._position = 0.0  # fractional step while playing
        self.weights: dict[str, float] | None = None  # None: the ranking's documented defaults
        self.queue: list[RolloutKey] = []
        self.queue_scores: np.ndarray = np.zeros(0)
        self.events = ReviewEvents()
        # where the reviewer stopped, per file (rollout id); the GUI keeps it in its settings
        self.recall: Callable[[Path], int | None] = lambda _path: None
        self.remember: Callable[[Path, int], None] = lambda _path, _id: None
        # tag edits that Ctrl+Z takes back, newest last: (kind, file index, tag, old note)
        self._undo: list[tuple[str, int, Tag, str]] = []

    # ---------------------------------------------------------------- files
    def open(self, path: str | Path) -> OpenRecording:
        """Open a recording (or focus it when already open) and select its first rollout."""
        path = Path(path).expanduser().resolve()
        for i, rec in enumerate(self.recordings):
            if rec.path == path:
                return rec
        rec = open_recording(path)
        self.recordings.append(rec)
        self.events.recordings_changed.emit()
        self.rebuild_queue()      # the queue ranks every open file together
        if len(self.recordings) == 1:
            if len(rec):
                self.select(self.start_key(0))
        else:
            self._default_compare()
        return rec

    def start_key(self, file: int) -> RolloutKey:
        """Where review of file `file` opens: the rollout the reviewer was on last time (kept per
        file), else the hardest-20 queue's #1, else the first rollout."""
        rec = self.recordings[file]
        try:
            last = self.recall(rec.path)
        except Exception:  # noqa: BLE001  a damaged settings entry: start at the top
            last = None
        row = rec.row_of(int(last)) if last is not None else None
        if row is not None:
            return RolloutKey(file, row)
        mine = [k for k in self.queue if k.file == file]
        return mine[0] if mine else RolloutKey(file, 0)

    def close_all(self) -> None:
        for rec in self.recordings:
            rec.close()
        self.recordings.clear()
        self.current = self.compare = None
        self.rollout = self._compare_data = None
        self.queue = []
        self.events.recordings_changed.emit()
        self.events.rollout_changed.emit(None)
        self.events.queue_changed.emit()

    def shutdown(self) -> None:
        """Close every file and tag store without telling the views (they are going away)."""
        for rec in self.recordings:
            rec.close()
        self.recordings = []
        self.current = self.compare = None
        self.rollout = self._compare_data = None

    def recording(self, key: RolloutKey | None = None) -> OpenRecording | None:
        key = key or self.current
        if key is None or key.file >= len(self.recordings):
            return self.recordings[0] if self.recordings and key is None else None
        return self.recordings[key.file]

    # ---------------------------------------------------------------- selection and time
    def select(self, key: RolloutKey) -> RolloutData:
        """Make `key` the current rollout: read its small arrays (one read per array)."""
        rec = self.recordings[key.file]
        data = rec.load(key.row)
        self.current, self.rollout = key, data
        self.step, self._position = 0, 0.0
        try:
            self.remember(rec.path, rec.rollout_id(key.row))
        except Exception:  # noqa: BLE001  settings not writable: review goes on
            pass
        self.events.rollout_changed.emit(data)
        self.events.step_changed.emit(0)
        self._default_compare()
        self.events.queue_changed.emit()
        return data

    def set_compare(self, key: RolloutKey | None) -> None:
        """Pick the comparison rollout; its arrays are read when a view first asks for them
        (`compare_rollout`), so selecting rollouts with the Compare panel hidden costs nothing."""
        if key == self.compare and (key is None or self._compare_data is not None):
            return
        self.compare = key
        self._compare_data = None
        self.events.compare_changed.emit(key)

    @property
    def compare_rollout(self) -> RolloutData | None:
        if self.compare is not None and self._compare_data is None:
            self._compare_data = self.recordings[self.compare.file].load(self.compare.row)
        return self._compare_data

    def compare_candidates(self) -> list[RolloutKey]:
        """Rollouts the current one can be compared with, best first: the same seed AND the same
        perturbation under another policy (another file first), then the same seed under
        another perturbation of another policy, then the same policy's other perturbations."""
        if self.current is None:
            return []
        cur = self.current
        rec = self.recordings[cur.file]
        seed = rec.cell(cur.row, "seed")
        policy, pert = rec.cell(cur.row, "policy"), rec.cell(cur.row, "perturbation")
        ranked: list[tuple[int, int, RolloutKey]] = []
        for f, other in enumerate(self.recordings):
            for r in other.rows_where(seed=seed):
                if (f, r) == (cur.file, cur.row):
                    continue
                same_policy = f == cur.file and other.cell(r, "policy") == policy
                same_pert = other.cell(r, "perturbation") == pert
                rank = (0 if same_pert else 2) if not same_policy else (4 if same_pert else 3)
                ranked.append((rank, 0 if f != cur.file else 1, RolloutKey(f, r)))
        return [k for _rank, _f, k in sorted(ranked, key=lambda t: (t[0], t[1], t[2].file,
                                                                     t[2].row)) if _rank < 4]

    def _default_compare(self) -> None:
        """Pair the current rollout with the same seed and perturbation under the other policy
        (the comparison a reviewer asks for first); see `compare_candidates`."""
        if self.current is None:
            return
        candidates = self.compare_candidates()
        if candidates:
            self.set_compare(candidates[0])
        elif self.compare is not None:
            self.set_compare(None)

    @property
    def num_steps(self) -> int:
        return self.rollout.num_steps if self.rollout is not None else 0

    def set_step(self, step: int) -> None:
        step = int(np.clip(step, 0, max(self.num_steps - 1, 0)))
        self._position = float(step)
        if step != self.step:
            self.step = step
            self.events.step_changed.emit(step)

    def step_by(self, delta: int) -> None:
        self.set_step(self.step + delta)

    def jump_event(self, direction: int, kinds: Sequence[str] = JUMP_KINDS) -> int:
        """Move to the next (direction > 0) or previous event of `kinds`; returns the new step."""
        steps = self.event_steps(kinds)
        target = steps[steps > self.step] if direction > 0 else steps[steps < self.step]
        if target.size:
            self.set_step(int(target[0] if direction > 0 else target[-1]))
        return self.step

    def event_steps(self, kinds: Sequence[str] = JUMP_KINDS) -> np.ndarray:
        """Sorted steps of the current rollout's events, replans and step-anchored tags."""
        if self.rollout is None:
            return np.zeros(0, np.int64)
        parts = [self.rollout.event_steps([k for k in kinds if k not in ("replan", "tag")])]
        if "replan" in kinds:
            parts.append(self.rollout.replan_steps)
        if "tag" in kinds:
            parts.append(np.asarray([t.step for t in self.tags() if t.step is not None], np.int64))
        return np.unique(np.concatenate(parts).astype(np.int64))

    def set_playing(self, playing: bool) -> None:
        playing = bool(playing) and self.num_steps > 1
        if playing and self.step >= self.num_steps - 1:
            self.set_step(0)  # play from the start when at the end, as video players do
        if playing != self.playing:
            self.playing = playing
            self.events.playing_changed.emit(playing)

    def toggle_playing(self) -> None:
        self.set_playing(not self.playing)

    def set_speed(self, speed: float) -> None:
        speed = float(np.clip(speed, SPEEDS[0], SPEEDS[-1]))
        if speed != self.speed:
            self.speed = speed
            self.events.speed_changed.emit(speed)

    def advance(self, dt_s: float) -> None:
        """Playback clock: move by dt_s seconds of wall time at the current speed (10 Hz
        control); stops at the end."""
        if not self.playing:
            return
        self._position = min(self._position + dt_s * CONTROL_HZ * self.speed, self.num_steps - 1)
        step = int(self._position)
        if step != self.step:
            self.step = step
            self.events.step_changed.emit(step)
        if step >= self.num_steps - 1:
            self.set_playing(False)

    # ---------------------------------------------------------------- tags
    def tags(self, key: RolloutKey | None = None) -> list[Tag]:
        key = key or self.current
        if key is None:
            return []
        rec = self.recordings[key.file]
        return rec.tags.for_rollout(rec.rollout_id(key.row))

    def add_tag(self, label: str, *, at_step: bool = True, note: str = "") -> Tag:
        """Store a tag on the current rollout (anchored to the current step, or to the whole
        rollout). Returns once the store has committed it: only then do views show it."""
        if self.current is None:
            raise UserFacingError("no rollout is selected: open a recording and pick a rollout first")
        label = label.strip()
        if not label:
            raise UserFacingError("a tag needs a name")
        rec = self.recordings[self.current.file]
        tag = rec.tags.add(rec.rollout_id(self.current.row), label,
                           step=self.step if at_step else None, note=note)
        self._undo.append(("add", self.current.file, tag, ""))
        self.events.tags_changed.emit()
        self.events.queue_changed.emit()
        return tag

    def add_taxonomy_tag(self, number: int, **kw) -> Tag:
        """Keys 1..8 tag with the shared failure taxonomy."""
        return self.add_tag(TAXONOMY[number - 1], **kw)

    def remove_tag(self, tag: Tag) -> None:
        rec = self.recordings[self.current.file] if self.current else None
        if rec is not None:
            rec.tags.remove(tag.tag_id)
            self._undo.append(("remove", self.current.file, tag, ""))
            self.events.tags_changed.emit()
            self.events.queue_changed.emit()

    def set_note(self, tag: Tag, note: str) -> Tag | None:
        """Edit the note of a tag of the current rollout; returns the tag as stored now."""
        if self.current is None:
            return None
        book = self.recordings[self.current.file].tags
        book.set_note(tag.tag_id, note.strip())
        self._undo.append(("note", self.current.file, tag, tag.note))
        self.events.tags_changed.emit()
        return next((t for t in book.all() if t.tag_id == tag.tag_id), None)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo(self) -> str:
        """Take back the newest tag edit (add, remove or note) made in this session; returns
        what was undone in words ("" when there is nothing to undo)."""
        while self._undo:
            kind, file, tag, old_note = self._undo.pop()
            if file >= len(self.recordings):
                continue
            book = self.recordings[file].tags
            where = "whole rollout" if tag.step is None else f"step {tag.step}"
            if kind == "add":
                book.remove(tag.tag_id)
                text = f"removed {tag.label} · {where}"
            elif kind == "remove":
                book.add(tag.rollout_id, tag.label, step=tag.step, note=tag.note)
                text = f"restored {tag.label} · {where}"
            else:
                book.set_note(tag.tag_id, old_note)
                text = f"note of {tag.label} · {where} restored"
            self.events.tags_changed.emit()
            self.events.queue_changed.emit()
            return text
        return ""

    def refresh_tags(self) -> bool:
        """Re-read tags another app instance wrote (cheap: compares the store's data version).
        Returns True when anything changed."""
        changed = False
        for rec in self.recordings:
            changed |= rec.tags.refresh()
        if changed:
            self.events.tags_changed.emit()
            self.events.queue_changed.emit()
        return changed

    def check_files(self) -> None:
        """Raise RecordingError when an open file was replaced or truncated on disk."""
        for rec in self.recordings:
            rec.check_unchanged()

    def reload(self, index: int) -> bool:
        """Reopen a file that changed on disk; its tags stay in the sidecar. Returns True when
        the new file only appended rollouts to the old one (an evaluation still writing)."""
        old = self.recordings[index]
        new = open_recording(old.path)   # the old one stays usable if this raises
        grew = new.extends(old)
        old.close()
        self.recordings[index] = new
        self.rebuild_queue()
        current = self.current
        if current is not None and current.file == index:
            self.current, self.rollout = None, None
        if self.compare is not None and self.compare.file == index:
            self.compare, self._compare_data = None, None
        self.events.recordings_changed.emit()
        if current is not None and current.file == index:
            row = min(current.row, len(self.recordings[index]) - 1)
            if row >= 0:
                self.select(RolloutKey(index, row))
            else:
                self.events.rollout_changed.emit(None)
        return grew

    # ---------------------------------------------------------------- hardest-20 queue
    def set_weights(self, weights: dict[str, float] | None) -> None:
        self.weights = weights
        self.rebuild_queue()

    def rebuild_queue(self) -> None:
        """The QUEUE_SIZE hardest rollouts over EVERY open recording, ranked as one population."""
        from app.core.review.rank import rank_files
        if not self.recordings:
            self.queue, self.queue_scores = [], np.zeros(0)
        else:
            files, rows, scores = rank_files([rec.columns for rec in self.recordings], self.weights)
            self.queue = [RolloutKey(int(f), int(r)) for f, r in zip(files[:QUEUE_SIZE], rows[:QUEUE_SIZE])]
            self.queue_scores = np.asarray(scores[:QUEUE_SIZE], dtype=np.float64)
        self.events.queue_changed.emit()

    def is_reviewed(self, key: RolloutKey) -> bool:
        """A rollout counts as reviewed once it carries at least one tag."""
        return bool(self.tags(key))

    @property
    def reviewed_count(self) -> int:
        return sum(self.is_reviewed(k) for k in self.queue)

    @property
    def queue_position(self) -> int:
        """Index of the current rollout in the queue, -1 when it is not in it."""
        return self.queue.index(self.current) if self.current in self.queue else -1

    def queue_step(self, direction: int) -> RolloutKey | None:
        """N / P: select the next / previous rollout in the hardest-20 queue."""
        if not self.queue:
            return None
        pos = self.queue_position
        if pos < 0:
            pos = -1 if direction > 0 else len(self.queue)
        pos = int(np.clip(pos + direction, 0, len(self.queue) - 1))
        self.select(self.queue[pos])
        return self.queue[pos]

    # ---------------------------------------------------------------- export / import / artifact
    def export_tags(self, path: str | Path) -> int:
        rec = self.recording()
        if rec is None:
            raise UserFacingError("no recording is open")
        return rec.tags.export(Path(path))

    def import_tags(self, path: str | Path) -> int:
        rec = self.recording()
        if rec is None:
            raise UserFacingError("no recording is open")
        count = rec.tags.import_file(Path(path))
        self.events.tags_changed.emit()
        self.events.queue_changed.emit()
        return count

    def save_review_into_artifact(self) -> Path:
        """Copy the tags into the recording's /review group (atomic replace of the file), then
        reopen it: the file on disk is a new one, on purpose this time."""
        rec = self.recording()
        if rec is None:
            raise RecordingError("no recording is open")
        index = self.recordings.index(rec)
        target = rec.tags.save_into_artifact()
        self.reload(index)
        return target
