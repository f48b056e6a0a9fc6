"""What a mode reading is judged against: the data's mode shares and the training range.

    DataReference(shares={mode: share}, source="training data of 'ckpt' (demos.h5, 300 episodes)")
    parse_shares("left=0.7,right=0.3")          -> DataReference (explicit shares, validated)
    shares_from_recording("demos.h5")          -> DataReference (mode shares of its demonstrations)
    reference_from_spec(planner.spec)          -> DataReference (the checkpoint's training record)
    choose_reference(spec, data_file=, data_shares=)   one place for the CLI's --data/--data-shares
    ObsRange / training_range(spec)            per-feature [low, high] of the training observations

Every failure is a PlannerError naming the file or the text and what is wrong.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from planners.protocol import PlannerError

SHARE_SUM_TOLERANCE = 0.02   # explicit shares must sum to 1 within this (0.7 + 0.3 typed by hand)
OOD_TOLERANCE = 0.05         # an observation feature this far outside its training range (share of
OOD_MIN_M = 1e-3             # the range, at least OOD_MIN_M data units) is out of distribution


@dataclass(frozen=True)
class DataReference:
    """Mode shares to judge plans against. shares: {mode: fraction}, summing to 1 over the modes
    with a share > 0; source: a short text naming what they came from (shown in every reason);
    episodes: how many labelled demonstrations the shares count (None for explicit shares)."""
    shares: dict[str, float]
    source: str
    episodes: int | None = None

    @property
    def modes(self) -> list[str]:
        return list(self.shares)


def _validated(shares: Mapping[str, float], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for mode, value in shares.items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise PlannerError(f"{what}: share of mode {mode!r} is not a number ({value!r})") from None
        if not math.isfinite(v) or v < 0 or v > 1:
            raise PlannerError(f"{what}: share of mode {mode!r} must be in [0, 1], got {value!r}")
        if not str(mode):
            raise PlannerError(f"{what}: a mode name is empty")
        out[str(mode)] = v
    total = sum(out.values())
    if not out or total <= 0:
        raise PlannerError(f"{what}: no mode has a share above 0")
    return out


def parse_shares(text: str) -> DataReference:
    """'left=0.7,right=0.3' (or percentages '70%') -> DataReference. The shares must sum to 1
    (within SHARE_SUM_TOLERANCE; then rescaled exactly); each mode named once."""
    what = f"--data-shares {text!r}"
    raw: dict[str, float] = {}
    for item in (part.strip() for part in str(text).split(",")):
        if not item:
            continue
        mode, sep, value = item.partition("=")
        mode, value = mode.strip(), value.strip()
        if not sep or not mode or not value:
            raise PlannerError(f"{what}: {item!r} must look like MODE=SHARE, e.g. left=0.7,right=0.3")
        if mode in raw:
            raise PlannerError(f"{what}: mode {mode!r} is given twice")
        percent = value.endswith("%")
        try:
            number = float(value[:-1] if percent else value)
        except ValueError:
            raise PlannerError(f"{what}: share {value!r} of mode {mode!r} is not a number") from None
        raw[mode] = number / 100.0 if percent else number
    shares = _validated(raw, what)
    total = sum(shares.values())
    if abs(total - 1.0) > SHARE_SUM_TOLERANCE:
        raise PlannerError(f"{what}: shares sum to {total:.3g}, not 1")
    return DataReference({k: v / total for k, v in shares.items()}, source=f"the shares {_fmt(shares)}")


def shares_from_recording(path: str | Path) -> DataReference:
    """Mode shares of a recording's demonstrations (successful ones when the file says, as
    training uses them), from its summary table: no trace data is read."""
    from recordings.errors import RecordingError
    from recordings.reader import RecordingReader

    path = Path(path)
    if not path.is_file():
        raise PlannerError(f"data file {str(path)!r} does not exist")
    try:
        with RecordingReader(path) as reader:
            summary = reader.summary
            modes = [str(m) for m in summary["mode"]]
            success = np.asarray(summary["success"], dtype=bool)
    except RecordingError as exc:
        raise PlannerError(f"cannot read data file: {exc}") from None
    used = [m for m, ok in zip(modes, success) if ok and m] or [m for m in modes if m]
    if not used:
        raise PlannerError(f"{path}: none of its {len(modes)} demonstrations has a mode label, "
                           f"so it gives no mode shares to compare with")
    counts: dict[str, int] = {}
    for m in used:
        counts[m] = counts.get(m, 0) + 1
    shares = {m: counts[m] / len(used) for m in sorted(counts)}
    return DataReference(shares, source=f"{path.name} ({len(used)} episodes)", episodes=len(used))


def reference_from_spec(spec: Any) -> DataReference | None:
    """The checkpoint's training data shares (training.json's data.mode_shares), or None."""
    extra = getattr(spec, "extra", {}) or {}
    shares = extra.get("data_mode_shares") or {}
    if not shares:
        return None
    data = (extra.get("training") or {}).get("data") or {}
    name = Path(str(data.get("path", ""))).name
    episodes = data.get("episodes")
    detail = ", ".join(x for x in (name, f"{episodes} episodes" if episodes else "") if x)
    source = f"the training data{f' ({detail})' if detail else ''}"
    return DataReference(_validated(shares, f"policy {getattr(spec, 'name', '?')!r} training record"),
                         source=source, episodes=int(episodes) if episodes else None)


def choose_reference(spec: Any, data_file: str | None = None,
                     data_shares: str | None = None) -> DataReference | None:
    """--data FILE.h5 or --data-shares TEXT (at most one), else the checkpoint's training data."""
    if data_file and data_shares:
        raise PlannerError("give --data FILE.h5 or --data-shares MODE=SHARE,..., not both")
    if data_file:
        return shares_from_recording(data_file)
    if data_shares:
        return parse_shares(data_shares)
    return reference_from_spec(spec)


def _fmt(shares: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in shares.items())


@dataclass(frozen=True)
class ObsRange:
    """Per-feature range of the training observations: low, high [F] (data units); names [F]
    ("mug_pos[0]", ...)."""
    low: np.ndarray
    high: np.ndarray
    names: tuple[str, ...] = field(default_factory=tuple)

    def outside(self, obs: np.ndarray) -> list[str]:
        """Features of obs [F] outside the range by more than OOD_TOLERANCE of the range (and
        OOD_MIN_M), as 'mug_pos[0] = 0.712 (trained 0.450..0.600)'; [] when within."""
        obs = np.asarray(obs, dtype=np.float64).reshape(-1)
        if obs.shape != self.low.shape:
            return []
        slack = np.maximum(OOD_TOLERANCE * (self.high - self.low), OOD_MIN_M)
        bad = np.flatnonzero((obs < self.low - slack) | (obs > self.high + slack) | ~np.isfinite(obs))
        names = self.names if len(self.names) == len(obs) else tuple(f"obs[{i}]" for i in range(len(obs)))
        return [f"{names[i]} = {obs[i]:.3f} (trained {self.low[i]:.3f}..{self.high[i]:.3f})" for i in bad]

    def to_json(self) -> dict:
        return {"low": [float(v) for v in self.low], "high": [float(v) for v in self.high],
                "names": list(self.names)}

    @classmethod
    def from_json(cls, payload: Mapping) -> "ObsRange":
        low = np.asarray(payload["low"], dtype=np.float64)
        high = np.asarray(payload["high"], dtype=np.float64)
        if low.shape != high.shape or low.ndim != 1:
            raise ValueError(f"low {low.shape} and high {high.shape} must be equal-length vectors")
        return cls(low, high, tuple(str(n) for n in payload.get("names", ())))


def feature_names(obs_spec: Sequence[Sequence]) -> tuple[str, ...]:
    """[(key, size), ...] -> ('key[0]', ..., 'key[size-1]', ...); a size-1 key keeps its name."""
    names: list[str] = []
    for key, size in obs_spec:
        size = int(size)
        names += [str(key)] if size == 1 else [f"{key}[{i}]" for i in range(size)]
    return tuple(names)


def training_range(spec: Any) -> ObsRange | None:
    """The training observations' range from the checkpoint: training.json's data.obs_range,
    else (checkpoints written before it was recorded) normalizer.json's obs low/high. None for
    planners without a checkpoint."""
    extra = getattr(spec, "extra", {}) or {}
    data = (extra.get("training") or {}).get("data") or {}
    try:
        if data.get("obs_range"):
            return ObsRange.from_json(data["obs_range"])
        ckpt = extra.get("checkpoint")
        if not ckpt or not (Path(ckpt) / "normalizer.json").is_file():
            return None
        norm = json.loads((Path(ckpt) / "normalizer.json").read_text())["obs"]
        return ObsRange.from_json({"low": norm["low"], "high": norm["high"],
                                   "names": feature_names(data.get("obs_spec") or
                                                          getattr(spec, "obs_keys", ()) or ())})
    except (KeyError, TypeError, ValueError, OSError, json.JSONDecodeError) as exc:
        raise PlannerError(f"policy {getattr(spec, 'name', '?')!r}: unreadable training range ({exc})") from None
