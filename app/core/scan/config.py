"""What a dataset scan runs: which policies, which data, which frames, how each frame is sampled.

Jobs are deterministic: episode-major, `every`-th frame, at most FRAMES_PER_JOB frames per job
(one episode per job at most), so 1 worker, N workers and Ray scan the same frames with the same
noise: the noise of frame (episode, t) comes from (seed, episode, t) alone (`frame_seed`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from recordings.errors import UserFacingError
from recordings.scan_ranking import CHANGE_COLUMNS, FLAGS, METRICS

FRAMES_PER_JOB = 16      # small enough to balance N workers, large enough to amortise the IPC
MAX_POLICIES = 2


class ScanConfigError(UserFacingError):
    """Bad scan arguments: policies, data, episode range, settings, output path."""


@dataclass(frozen=True)
class ScanSettings:
    """How every frame is scanned. episodes: (first, stop) of the scanned range (stop exclusive,
    None = to the end); every: scan frames 0, K, 2K, ... of each episode; num_samples N; solver /
    steps ("" / 0 = the policy's default); neighbours K (0 = no local-data comparison); seed;
    keep_plans: store the N plans [P, N, H, D] and the demonstrated chunk per frame; device;
    frames_per_call: frames sampled in one call (0 = the rule in app/core/scan/batching.py; the
    results do not depend on it beyond float rounding, so the file does not record it)."""
    episodes: tuple[int, int | None] = (0, None)
    every: int = 1
    num_samples: int = 32
    solver: str = ""
    steps: int = 0
    neighbours: int = 32
    seed: int = 0
    temperature: float = 1.0
    keep_plans: bool = False
    device: str = "cpu"
    frames_per_call: int = 0

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ScanConfigError(f"--every {self.every}: must be >= 1")
        if self.num_samples < 2:
            raise ScanConfigError(f"--num {self.num_samples}: a scan needs at least 2 samples "
                                  f"per frame to see modes")
        if self.neighbours < 0:
            raise ScanConfigError(f"--neighbours {self.neighbours}: must be >= 0")
        if self.steps < 0:
            raise ScanConfigError(f"--steps {self.steps}: must be >= 0")
        if self.frames_per_call < 0:
            raise ScanConfigError(f"--frames-per-call {self.frames_per_call}: must be >= 0 "
                                  f"(0 = chosen by the rule)")

    def to_json(self) -> dict[str, Any]:
        """What the scan file records (device and frames per call excluded: they do not change
        the results' meaning)."""
        out = asdict(self)
        out["episodes"] = list(self.episodes)
        out.pop("device")
        out.pop("frames_per_call")
        return out


@dataclass(frozen=True)
class ScanConfig:
    """policies: 1 or 2 policy references (anything load_planner opens); labels: their names in
    the file and the GUI; data: the data set path (anything open_dataset opens); data_shares:
    ((mode, share), ...) to judge against instead of the neighbours' shares (`--data-shares`;
    local modes are named by their neighbours' recorded mode labels), shares_source: what they
    came from."""
    policies: tuple[str, ...]
    data: str
    settings: ScanSettings = field(default_factory=ScanSettings)
    labels: tuple[str, ...] = ()
    data_shares: tuple[tuple[str, float], ...] = ()
    shares_source: str = ""

    def __post_init__(self) -> None:
        if not 1 <= len(self.policies) <= MAX_POLICIES:
            raise ScanConfigError(f"--policy given {len(self.policies)} times: a scan takes one "
                                  f"policy, or two to compare")
        if not self.labels:
            object.__setattr__(self, "labels", tuple(_label(p, i) for i, p in
                                                     enumerate(self.policies)))


def _label(ref: str, i: int) -> str:
    import os
    name = os.path.basename(os.path.normpath(str(ref))) or str(ref)
    return f"{'AB'[i]}: {name}"


@dataclass(frozen=True)
class FrameJob:
    """index: position in the job list; episode; frames: the frame indices scanned [F]."""
    index: int
    episode: int
    frames: tuple[int, ...]


def make_jobs(lengths: dict[int, int], every: int, done: set[tuple[int, int]] = frozenset(),
              per_job: int = FRAMES_PER_JOB) -> list[FrameJob]:
    """Jobs over episode -> length (in episode order), skipping (episode, frame) in done."""
    jobs: list[FrameJob] = []
    for episode, length in lengths.items():
        frames = [t for t in range(0, length, every) if (episode, t) not in done]
        for start in range(0, len(frames), per_job):
            jobs.append(FrameJob(len(jobs), episode, tuple(frames[start:start + per_job])))
    return jobs


def frame_seed(seed: int, episode: int, frame: int) -> int:
    """The seed of one frame's sampling: a function of (seed, episode, frame) only."""
    return int(np.random.SeedSequence([int(seed), int(episode), int(frame)]).generate_state(1)[0])


def column_spec(num_policies: int, *, keep_plans: bool = False, num_samples: int = 0,
                horizon: int = 0, action_dim: int = 0) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The scan file's columns (besides episode, frame): every METRICS entry per policy, the
    change columns for two policies, and optionally plans / demonstrated chunk."""
    p = num_policies
    spec: dict[str, tuple[str, tuple[int, ...]]] = {
        name: ("uint8" if name in FLAGS else "float32", (p,)) for name in METRICS}
    if p == 2:
        spec.update({name: ("float32", ()) for name in CHANGE_COLUMNS})
    if keep_plans:
        spec["plans"] = ("float32", (p, num_samples, horizon, action_dim))
        spec["demo"] = ("float32", (horizon, action_dim))
    return spec
