"""Training pairs from a demonstration recording (`planscope collect` output).

A pair is (flat observation at t [obs_dim], action chunk actions[t:t+H] [H, D]), the chunk padded
with the episode's last action past its end (the robot holds its final target). To = 1.

The recording is read through `recordings.reader.RecordingReader` (the shared API); no file-format
knowledge lives here.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from planners.protocol import PlannerError


@dataclass
class Episode:
    """One demonstration: obs fields {key: [T, size]}, actions [T, D], mode label ("" if unknown),
    success (None when the file does not say)."""
    obs: dict[str, np.ndarray]
    actions: np.ndarray
    mode: str = ""
    success: bool | None = None


@dataclass
class DemoData:
    """Pairs ready for training.

    obs [M, obs_dim] float32 flat observations; actions [M, H, D] float32 chunks (data units);
    episode [M] int index of the source episode; obs_spec the (key, size) order of the flat vector.
    """
    obs: np.ndarray
    actions: np.ndarray
    episode: np.ndarray
    obs_spec: tuple[tuple[str, int], ...]
    scene: str
    episode_modes: list[str]
    sha256: str
    path: str
    env_args: dict = field(default_factory=dict)
    skipped_failed: int = 0

    @property
    def num_episodes(self) -> int:
        return len(self.episode_modes)

    def mode_shares(self) -> dict[str, float]:
        """Share of episodes per mode label (labelled episodes only)."""
        labelled = [m for m in self.episode_modes if m]
        counts = Counter(labelled)
        return {m: counts[m] / len(labelled) for m in sorted(counts)} if labelled else {}

    def summary(self) -> dict:
        return {"scene": self.scene, "episodes": self.num_episodes, "pairs": int(len(self.obs)),
                "mode_shares": self.mode_shares(), "skipped_failed_episodes": self.skipped_failed,
                "obs_spec": [list(k) for k in self.obs_spec],
                "obs_dim": int(self.obs.shape[1]), "action_dim": int(self.actions.shape[2]),
                "horizon": int(self.actions.shape[1])}


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def chunk_actions(actions: np.ndarray, horizon: int) -> np.ndarray:
    """actions [T, D] -> [T, H, D]: row t holds actions[t:t+H], padded with actions[-1]."""
    t_len = len(actions)
    idx = np.minimum(np.arange(t_len)[:, None] + np.arange(horizon)[None, :], t_len - 1)
    return actions[idx]


def load_demo_pairs(path: str | Path, horizon: int = 16) -> DemoData:
    """Read every episode of a demo recording into (obs, action-chunk) pairs.

    Raises PlannerError (one line) when the file is missing, unreadable or has no usable demos."""
    path = Path(path)
    if path.is_dir():
        raise PlannerError(f"training data {str(path)!r} is a folder, not a recording file (.h5)")
    if not path.is_file():
        raise PlannerError(f"training data {str(path)!r} does not exist")
    env_args, episodes = _read_episodes(path)
    spec = tuple((str(k), int(s)) for k, s in env_args.get("obs_spec", []))
    if not spec:
        raise PlannerError(f"{path}: env_args has no 'obs_spec' (is this a planscope recording?)")
    if not episodes:
        raise PlannerError(f"{path}: holds no demonstrations")
    # Learn from successful demonstrations only (a failed expert episode teaches the failure).
    total = len(episodes)
    episodes = [e for e in episodes if e.success is not False]
    if not episodes:
        raise PlannerError(f"{path}: none of its {total} demonstrations succeeded")
    obs_rows, chunks, ep_index = [], [], []
    for i, ep in enumerate(episodes):
        t_len = len(ep.actions)
        if t_len == 0:
            continue
        parts = []
        for key, size in spec:
            if key not in ep.obs:
                raise PlannerError(f"{path}: demo {i} has no observation field {key!r}")
            parts.append(np.asarray(ep.obs[key], dtype=np.float32).reshape(t_len, size))
        obs_rows.append(np.concatenate(parts, axis=1))
        chunks.append(chunk_actions(np.asarray(ep.actions, dtype=np.float32), horizon))
        ep_index.append(np.full(t_len, i, dtype=np.int64))
    if not obs_rows:
        raise PlannerError(f"{path}: every demonstration is empty")
    obs = np.concatenate(obs_rows)
    actions = np.concatenate(chunks)
    if not (np.isfinite(obs).all() and np.isfinite(actions).all()):
        raise PlannerError(f"{path}: observations or actions hold NaN/inf values")
    return DemoData(obs=obs, actions=actions, episode=np.concatenate(ep_index), obs_spec=spec,
                    scene=str(env_args.get("env_name", "")), episode_modes=[e.mode for e in episodes],
                    sha256=file_sha256(path), path=str(path), env_args=env_args,
                    skipped_failed=total - len(episodes))


def _read_episodes(path: Path) -> tuple[dict, list[Episode]]:
    """(env_args, episodes) through RecordingReader."""
    from recordings.errors import RecordingError
    from recordings.reader import RecordingReader

    try:
        reader = RecordingReader(path)
        env_args = dict(reader.env_args)
        episodes = []
        for i in range(len(reader)):
            ro = reader.rollout(i)
            spec = env_args.get("obs_spec", [])
            obs = {key: np.asarray(ro.obs(key)) for key, _ in spec}
            episodes.append(Episode(obs=obs, actions=np.asarray(ro.actions()),
                                    mode=str(getattr(ro, "mode", "") or ""), success=bool(ro.success)))
    except RecordingError as exc:
        raise PlannerError(f"cannot read training data: {exc}") from None
    close = getattr(reader, "close", None)
    if callable(close):
        close()
    return env_args, episodes
