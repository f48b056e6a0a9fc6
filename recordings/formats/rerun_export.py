"""Write a planscope recording (or a plain robomimic HDF5 file) as a Rerun `.rrd` recording, for
the Rerun viewer (`rerun OUT.rrd`). `planscope sample --out F.h5` writes its plan batch as a
one-step recording with the denoising chain; it exports the same way, chain included.

rerun-sdk is an optional extra (`pip install 'planscope[rerun]'`), imported only when a file is
written; without it `RerunNotInstalled` says how to install it, in one line.

What the file holds (entity paths; `i` = rollout index, `j` = replan index; timelines `step`:
the rollout's control step, and `denoise_step`: 0 = pure noise .. S = the final plans):

    info                               TextDocument (static): file, kind, scene, rollouts
    rollouts/i/info                    TextDocument (static): seed, policy, mode, success, ...
    rollouts/i/actions                 Scalars [D] per step; SeriesLines names (static)
    rollouts/i/obs/<key>               Scalars [d] per step, every low-dimensional observation
    rollouts/i/states                  Scalars [S] per step (the simulator state row, if kept)
    rollouts/i/rewards                 Scalars [1] per step
    rollouts/i/ee                      Points3D: the end effector now (obs ee_pos, eef_pos ...)
    rollouts/i/ee_path                 LineStrips3D (static): the whole end-effector path
    rollouts/i/camera/<key>            Image per step (every [H, W, 3] uint8 observation)
    rollouts/i/events                  TextLog at the event's step ("contact panda,mug {...}")
    rollouts/i/plans                   LineStrips3D at each replan's step: the N sampled plans'
                                       first 3 action dimensions (a 2-D action gets z = 0),
                                       coloured and labelled by mode
    rollouts/i/plans/executed          LineStrips3D at each replan's step: the executed chunk
    rollouts/i/replans/j/chain         LineStrips3D on denoise_step (and step = the replan's):
                                       x_t of every plan, when the chain was kept
    rollouts/i/replans/j/x0            the same for the x0-estimates (denoise_step 1..S)

Plans, chunks and chains are in action units (metres for planscope's end-effector targets).
Written to a temporary file beside OUT and renamed into place: a failed export leaves nothing.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from recordings.atomic import remove_quietly, replace
from recordings.errors import UserFacingError
from recordings.reader import RecordingReader

INSTALL_HINT = "pip install 'planscope[rerun]'"
STEP, DENOISE = "step", "denoise_step"
EE_KEYS = ("ee_pos", "robot0_eef_pos", "eef_pos")    # planscope's scenes, then robomimic's
UNLABELLED = ("", "nonfinite", "none")


class RerunNotInstalled(UserFacingError):
    """The optional rerun-sdk is missing."""


def import_rerun() -> Any:
    """The rerun module, or RerunNotInstalled naming the install command."""
    try:
        import rerun
    except ImportError:
        raise RerunNotInstalled(f"export --to rerun needs the optional rerun-sdk, which is not "
                                f"installed: {INSTALL_HINT}") from None
    return rerun


@dataclass
class RerunExport:
    """What was written: path, rollouts, frames (control steps), replans, entity paths."""
    path: str
    rollouts: int = 0
    frames: int = 0
    replans: int = 0
    entities: list[str] = field(default_factory=list)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _xyz(paths: np.ndarray) -> np.ndarray | None:
    """[..., H, D] action paths -> [..., H, 3] float32 (first three dimensions; z = 0 for D = 2),
    or None for 1-D actions (no path to draw)."""
    d = paths.shape[-1]
    if d < 2:
        return None
    if d == 2:
        return np.concatenate([paths, np.zeros_like(paths[..., :1])], -1).astype(np.float32)
    return np.ascontiguousarray(paths[..., :3], dtype=np.float32)


class _Writer:
    """One open RecordingStream writing columns (never per-row logs: no log_time is added)."""

    def __init__(self, rr: Any, tmp: str, recording_id: str, colours: dict[str, tuple]) -> None:
        self.rr = rr
        self.rec = rr.RecordingStream("planscope", recording_id=recording_id,
                                      send_properties=False)
        self.rec.save(tmp)
        self.colours = colours
        self.entities: list[str] = []

    def _seen(self, path: str) -> None:
        if path not in self.entities:
            self.entities.append(path)

    def static(self, path: str, archetype: Any) -> None:
        self.rec.log(path, archetype, static=True)
        self._seen(path)

    def columns(self, path: str, indexes: dict[str, np.ndarray], columns: Any) -> None:
        rr = self.rr
        self.rec.send_columns(path, indexes=[rr.TimeColumn(k, sequence=np.asarray(v, np.int64))
                                             for k, v in indexes.items()], columns=columns)
        self._seen(path)

    def scalars(self, path: str, steps: np.ndarray, values: np.ndarray,
                names: Sequence[str] | None = None) -> None:
        """values [T, d] -> one Scalars row of d values per step (float64: exact for float32)."""
        values = np.asarray(values, np.float64).reshape(len(steps), -1)
        self.columns(path, {STEP: steps}, self.rr.Scalars.columns(scalars=values))
        if names is not None:
            self.static(path, self.rr.SeriesLines(names=list(names)))

    def strips(self, path: str, indexes: dict[str, np.ndarray], paths: np.ndarray,
               labels: list[list[str]] | None = None) -> None:
        """paths [R, N, H, 3]: R rows (one per index value) of N line strips each."""
        r, n = paths.shape[:2]
        kw: dict[str, Any] = {"strips": list(paths.reshape(r * n, *paths.shape[2:]))}
        if labels is not None:
            flat = [m for row in labels for m in row]
            kw["labels"] = flat
            kw["colors"] = np.asarray([self.colours.get(m, self.colours[""]) for m in flat],
                                      np.uint8)
        cols = self.rr.LineStrips3D.columns(**kw).partition([n] * r)
        self.columns(path, indexes, cols)

    def close(self) -> None:
        self.rec.flush()
        self.rec.disconnect()


def _text(rows: dict[str, Any]) -> str:
    return "\n".join(f"- **{k}**: {v}" for k, v in rows.items() if v not in (None, "", {}))


def _mode_colours(reader: RecordingReader, palette: Sequence[str], unlabelled: str
                  ) -> dict[str, tuple]:
    """Every mode label in the file -> RGB, in sorted order (the same mode, the same colour in
    every rollout); no mode / non-finite -> the unlabelled grey."""
    labels: set[str] = set()
    for view in reader:
        for rp in view.replans:
            labels.update(rp.mode_labels)
    grey = _rgb(unlabelled)
    out: dict[str, tuple] = {m: grey for m in UNLABELLED}
    modes = sorted(m for m in labels if m not in UNLABELLED)
    out.update({m: _rgb(palette[k % len(palette)]) for k, m in enumerate(modes)})
    return out


def _has(view: Any, name: str) -> bool:
    """Whether the rollout's group holds dataset `name` (RolloutView reads only what it has)."""
    return bool(view._guard(name, lambda: name in view._group))


def _write_rollout(w: _Writer, i: int, view: Any, cameras: Sequence[str] | None) -> int:
    """Every entity of rollout i; returns the number of replans written."""
    rr = w.rr
    base = f"rollouts/{i}"
    actions = np.asarray(view.actions())
    t = len(actions)
    steps = np.arange(t)
    w.static(f"{base}/info", rr.TextDocument(_text({
        "rollout": i, "seed": view.seed, "policy": view.policy, "mode": view.mode,
        "success": view.success, "failure label": view.failure_label,
        "perturbation": json.dumps(view.perturbation) if view.perturbation else "",
        "steps": t}), media_type="text/markdown"))
    if t == 0:
        return 0
    d = actions.shape[1]
    names = ["x", "y", "z", "gripper"] if d == 4 else [f"action.{k}" for k in range(d)]
    w.scalars(f"{base}/actions", steps, actions, names)
    ee = None
    for key in view.obs_keys:
        values = np.asarray(view.obs(key))
        if values.ndim == 4 and values.shape[-1] == 3 and values.dtype == np.uint8:
            if cameras is None or key in cameras:
                h, wd = values.shape[1:3]
                w.static(f"{base}/camera/{key}", rr.Image.from_fields(
                    format=rr.components.ImageFormat(width=wd, height=h, color_model="RGB",
                                                     channel_datatype="U8")))
                w.columns(f"{base}/camera/{key}", {STEP: steps},
                          rr.Image.columns(buffer=values.reshape(t, -1)))
            continue
        flat = values.reshape(t, -1)
        w.scalars(f"{base}/obs/{key}", steps, flat,
                  [key] if flat.shape[1] == 1 else [f"{key}.{k}" for k in range(flat.shape[1])])
        if ee is None and key in EE_KEYS and flat.shape[1] == 3:
            ee = flat.astype(np.float32)
    if view.has_states:
        w.scalars(f"{base}/states", steps, view.states())
    if _has(view, "rewards"):           # robomimic-style files from other tools may lack it
        w.scalars(f"{base}/rewards", steps, view.rewards())
    if ee is not None:
        w.columns(f"{base}/ee", {STEP: steps}, rr.Points3D.columns(positions=ee))
        w.static(f"{base}/ee_path", rr.LineStrips3D([ee]))
    events = view.events
    if events:
        w.columns(f"{base}/events", {STEP: [e.step for e in events]}, rr.TextLog.columns(
            text=[f"{e.kind} {','.join(e.bodies)} {json.dumps(e.detail) if e.detail else ''}"
                  .strip() for e in events]))
    return _write_replans(w, base, view.replans)


def _write_replans(w: _Writer, base: str, replans: Any) -> int:
    if not len(replans):
        return 0
    samples = replans.samples()                                    # [R, N, H, D]
    paths = _xyz(samples)
    if paths is None:
        return len(replans)
    labels = [rp.mode_labels for rp in replans]
    w.strips(f"{base}/plans", {STEP: replans.steps}, paths, labels)
    chunks = _xyz(replans.executed_chunks())                       # [R, K, 3]
    w.strips(f"{base}/plans/executed", {STEP: replans.steps}, chunks[:, None])
    for j, rp in enumerate(replans):
        for name, arr, first in (("chain", rp.chain, 0), ("x0", rp.x0_estimates, 1)):
            if arr is None:
                continue
            k = np.arange(first, first + len(arr))
            w.strips(f"{base}/replans/{j}/{name}",
                     {STEP: np.full(len(arr), replans.steps[j]), DENOISE: k}, _xyz(arr),
                     [labels[j]] * len(arr))
    return len(replans)


def export_rerun(source: str, out: str, *, palette: Sequence[str], unlabelled: str,
                 cameras: Sequence[str] | None = None) -> RerunExport:
    """Write the recording `source` to the .rrd file `out` (atomically; an existing `out` is
    replaced: the caller applies the --out rule first). palette: mode colours (hex), the
    unlabelled grey for plans in no mode; cameras: the image keys to include (None = all).
    Raises RecordingError for a file that is not a recording, RerunNotInstalled without the
    extra."""
    rr = import_rerun()
    out = os.path.abspath(out)
    with RecordingReader(source) as reader:
        if cameras is not None and len(reader):
            have = reader.rollout(0).obs_keys
            missing = [c for c in cameras if c not in have]
            if missing:
                raise UserFacingError(f"{reader.path}: no camera {missing[0]!r} recorded; "
                                      f"observations in the file: {', '.join(have) or 'none'}")
        colours = _mode_colours(reader, palette, unlabelled)
        tmp = os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.{os.getpid()}.tmp")
        result = RerunExport(out)
        writer = _Writer(rr, tmp, f"planscope:{os.path.basename(reader.path)}", colours)
        try:
            writer.static("info", rr.TextDocument(_text({
                "file": os.path.basename(reader.path), "kind": reader.kind,
                "scene": reader.env_args.get("env_name", ""), "rollouts": len(reader)}),
                media_type="text/markdown"))
            for i, view in enumerate(reader):
                result.replans += _write_rollout(writer, i, view, cameras)
                result.frames += view.num_steps
                result.rollouts += 1
            writer.close()
            replace(tmp, out, durable=True)
        except BaseException:
            try:
                writer.close()
            finally:
                remove_quietly(tmp)
            raise
        result.entities = writer.entities
        return result


__all__ = ["INSTALL_HINT", "RerunExport", "RerunNotInstalled", "export_rerun", "import_rerun"]
