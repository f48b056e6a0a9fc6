"""The Scan workspace's model (Qt-free): an open scan file, the metric shown, the heat-map grid,
the selected frame, the review queue and the frame tags.

    state = ScanState(); state.open("scan.h5")
    state.set_metric("demo_dist_nearest"); state.grid        # [E, T] float32, NaN = not scanned
    state.select(episode, frame); state.curves()             # metric per frame of that episode
    state.queue                                              # hardest frames, [QueueRow]
    state.add_tag("planning")                                # on the selected frame (sidecar)

Views connect to `state.events` and only read the state (app/qt/scan/).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.events import Event, event
from recordings.scan_ranking import CHANGE_COLUMNS, METRICS, change_score, hardness, heat_grid

QUEUE_LENGTH = 20


@dataclass(frozen=True)
class ScanEvents:
    opened: Event[[str]] = event()              # path
    metric: Event[[str, int]] = event()         # metric, policy
    selected: Event[[int, int]] = event()       # episode, frame
    tags: Event[[]] = event()


@dataclass(frozen=True)
class QueueRow:
    """One frame of the review queue: rank (0 = hardest), sorted row, episode, frame, score,
    flags (names of the flags set), the queue it comes from ("hardness" or "change")."""
    rank: int
    row: int
    episode: int
    frame: int
    score: float
    flags: tuple[str, ...]
    queue: str


class ScanState:
    """See the module docstring."""

    def __init__(self) -> None:
        self.events = ScanEvents()
        self.reader = None
        self.path = ""
        self.metric = "demo_dist_nearest"
        self.policy = 0
        self.grid = np.zeros((0, 0), np.float32)
        self.episodes = np.zeros(0, np.int64)
        self.every = 1
        self.selection: tuple[int, int] | None = None
        self._queue: list[QueueRow] | None = []
        self.queue_kind = "hardness"
        self.tag_store = None
        self._frames: dict[str, np.ndarray] = {}
        self._grids: dict[tuple[str, int], np.ndarray] = {}

    # ----- file -----
    def open(self, path: str) -> None:
        """Open a scan file (ScanFileError in one line otherwise) and show its default metric."""
        from recordings.formats.scan_reader import ScanReader
        reader = ScanReader(path)
        self.close()
        self.reader, self.path = reader, reader.path
        self.every = int(reader.header.get("settings", {}).get("every", 1) or 1)
        self._frames = {}
        self._grids = {}
        self.policy = self.num_policies - 1      # the candidate when two were compared
        self.queue_kind = "change" if self.num_policies == 2 else "hardness"
        self.selection = None
        self._queue = None           # ranked on first use: the heat map draws first
        self.events.opened.emit(self.path)
        self.set_metric("demo_dist_nearest" if "demo_dist_nearest" in reader.spec
                        else self.metrics[0], self.policy)

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        if self.tag_store is not None:
            self.tag_store.close()
            self.tag_store = None

    @property
    def status(self) -> str:
        return self.reader.status if self.reader is not None else "no scan open"

    @property
    def num_policies(self) -> int:
        return max(1, len(self.reader.policies)) if self.reader is not None else 1

    @property
    def policy_labels(self) -> list[str]:
        if self.reader is None:
            return []
        return [p.get("label", f"policy {i}") for i, p in enumerate(self.reader.policies)] or \
            ["policy"]

    @property
    def metrics(self) -> list[str]:
        """Every column the heat map can show: metrics, then change columns."""
        if self.reader is None:
            return []
        return [m for m in (*METRICS, *CHANGE_COLUMNS) if m in self.reader.spec]

    def column(self, name: str) -> np.ndarray:
        if name not in self._frames:
            self._frames[name] = self.reader.column(name)
        return self._frames[name]

    def values(self, metric: str, policy: int | None = None) -> np.ndarray:
        """[F] one metric for one policy (change columns have no policy axis)."""
        v = self.column(metric)
        return v[:, self.policy if policy is None else policy] if v.ndim == 2 else v

    # ----- heat map -----
    def set_metric(self, metric: str, policy: int | None = None) -> None:
        if metric not in self.metrics:
            raise ValueError(f"no metric {metric!r}; the scan has {', '.join(self.metrics)}")
        self.metric = metric
        if policy is not None and int(policy) != self.policy:
            self.policy = int(policy)
            self._queue = None
        key = (metric, self.policy)
        if key not in self._grids:
            self._grids[key], self.episodes = heat_grid(
                self.column("episode"), self.column("frame"), self.values(metric), self.every)
        self.grid = self._grids[key]
        self.events.metric.emit(metric, self.policy)

    def direction(self, metric: str | None = None) -> int:
        """+1 when higher is worse, -1 when lower is worse, 0 when neither (colour scale)."""
        name = metric or self.metric
        return METRICS[name][0] if name in METRICS else +1

    def cell(self, row: int, col: int) -> tuple[int, int] | None:
        """(episode, frame) of a heat-map cell, None outside or where nothing was scanned."""
        if not (0 <= row < self.grid.shape[0] and 0 <= col < self.grid.shape[1]):
            return None
        if not np.isfinite(self.grid[row, col]):
            return None
        return int(self.episodes[row]), int(col * self.every)

    # ----- selection -----
    def select(self, episode: int, frame: int) -> None:
        if self.reader is None or self.reader.find(episode, frame) < 0:
            raise ValueError(f"episode {episode} frame {frame} was not scanned")
        self.selection = (int(episode), int(frame))
        self.events.selected.emit(int(episode), int(frame))

    def selected_row(self) -> int:
        return -1 if self.selection is None else self.reader.find(*self.selection)

    def curves(self, episode: int | None = None, metric: str | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(frames [T'], values [T', P] or [T', 1]) of one metric along one episode."""
        episode = self.selection[0] if episode is None and self.selection else episode
        ep = self.column("episode")
        lo, hi = np.searchsorted(ep, episode, "left"), np.searchsorted(ep, episode, "right")
        v = self.column(metric or self.metric)[lo:hi]
        return self.column("frame")[lo:hi], v if v.ndim == 2 else v[:, None]

    def frame_facts(self, row: int) -> dict[str, Any]:
        """Every metric of one frame, per policy (the detail panel)."""
        out = {}
        for m in self.metrics:
            v = self.column(m)[row]
            out[m] = np.atleast_1d(v).tolist()
        return out

    # ----- queue -----
    def set_queue(self, kind: str) -> None:
        if kind not in ("hardness", "change"):
            raise ValueError(f"queue {kind!r}: hardness or change")
        if kind == "change" and self.num_policies < 2:
            raise ValueError("the change queue needs a scan of two policies")
        self.queue_kind = kind
        self._queue = None

    @property
    def queue(self) -> list[QueueRow]:
        """The hardest QUEUE_LENGTH frames of the current queue kind (and policy)."""
        if self._queue is None:
            self._queue = self._stored_queue()
            if self._queue is None:
                self._queue = self._rank()
        return self._queue

    def _stored_queue(self) -> list[QueueRow] | None:
        """The queue a merged file stores (its worst table): no full-column read."""
        worst = self.reader.table("worst")
        if worst is None or self.reader.layout != "single":
            return None
        pick = (worst["queue"] == self.queue_kind) & \
            ((worst["policy"] == self.policy) | (worst["queue"] == "change"))
        rows = worst["row"][pick][:QUEUE_LENGTH]
        flags = [f for f in ("collapsed", "averaged", "off_data", "invalid")
                 if f in self.reader.spec]
        p = self.policy
        values = {f: np.atleast_2d(self.reader.values_at(f, rows).reshape(len(rows), -1))
                  for f in flags}
        return [QueueRow(rank, int(r), int(e), int(fr), float(sc),
                         tuple(f for f in flags if values[f][k, min(p, values[f].shape[1] - 1)]),
                         self.queue_kind)
                for k, (rank, r, e, fr, sc) in enumerate(zip(
                    worst["rank"][pick][:QUEUE_LENGTH], rows, worst["episode"][pick],
                    worst["frame"][pick], worst["score"][pick]))]

    def _rank(self) -> list[QueueRow]:
        frames = {name: self.column(name) for name in self.reader.small_columns}
        if self.queue_kind == "change":
            score, order = change_score(frames)
        else:
            score, order = hardness(frames, self.policy)
        flags = [f for f in ("collapsed", "averaged", "off_data", "invalid") if f in frames]
        p = self.policy
        return [QueueRow(rank, int(i), int(frames["episode"][i]), int(frames["frame"][i]),
                               float(score[i]),
                               tuple(f for f in flags if np.atleast_1d(frames[f][i])[p]),
                               self.queue_kind)
                      for rank, i in enumerate(order[:QUEUE_LENGTH])]

    # ----- tags (SQLite sidecar of the scan file: rollout_id = episode, step = frame) -----
    def _tags(self):
        if self.tag_store is None:
            from recordings.tags import TagStore
            self.tag_store = TagStore(self.path)
        return self.tag_store

    def add_tag(self, tag: str, note: str = ""):
        if self.selection is None:
            raise ValueError("select a frame before tagging it")
        episode, frame = self.selection
        added = self._tags().add(episode, tag, step=frame, note=note)
        self.events.tags.emit()
        return added

    def remove_tag(self, tag_id: int) -> bool:
        removed = self._tags().remove(tag_id)
        self.events.tags.emit()
        return removed

    def tags(self, episode: int | None = None, frame: int | None = None) -> list:
        """Tags of the whole scan, or of one frame."""
        if self.reader is None:
            return []
        tags = self._tags().list(episode)
        return [t for t in tags if frame is None or t.step == frame]

    @property
    def tag_notice(self) -> str:
        return self._tags().notice if self.reader is not None else ""
