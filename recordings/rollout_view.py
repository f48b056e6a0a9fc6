"""Lazy views of one recorded rollout: nothing is read until a property or slice is asked for.

RolloutView.actions(sl) -> [t, D] f32, obs(key, sl) -> [t, ...], states(sl) -> [t, S] f64, where
sl is a slice or an int step (an int returns the single step without the leading axis).
ReplanView.samples -> [N, H, D] f32, chain -> [Sd+1, N, H, D] or None, etc.
Read errors (a corrupt block, a file deleted underneath) raise RecordingError naming the file.
"""
from __future__ import annotations

import functools
import json
from typing import Any, Callable

import h5py
import numpy as np

from recordings.errors import RecordingError
from recordings.events import Event

Index = slice | int | np.ndarray


class RolloutView:
    """One demo group. rollout_id: position in the file; row: its summary row (may be partial)."""

    def __init__(self, group: Callable[[], h5py.Group], rollout_id: int, row: dict[str, Any],
                 where: str) -> None:
        self._group_fn = group
        self.rollout_id = rollout_id
        self.row = row
        self._where = where

    def __repr__(self) -> str:
        return f"<RolloutView {self.rollout_id} of {self._where}>"

    # ----- plumbing -----
    @functools.cached_property
    def _group(self) -> h5py.Group:
        return self._guard("its data group", self._group_fn)

    def _guard(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except RecordingError:
            raise
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RecordingError(f"{self._where}: rollout {self.rollout_id}: cannot read {what} "
                                 f"(corrupt, or changed on disk while open: {first})") from None

    @functools.cached_property
    def checked(self) -> bool:
        """Ranks, dtypes and lengths of this rollout's datasets (metadata only), checked once
        before the first trace is handed out (recordings.schema.check_rollout_datasets)."""
        from recordings.schema import check_rollout_datasets
        self._guard("its datasets", lambda: check_rollout_datasets(
            self._group, f"{self._where}: rollout {self.rollout_id}"))
        return True

    def all_nan(self) -> list[str]:
        """Names of the numeric series (actions, states, obs/<key>) holding no finite value: a
        view says so instead of drawing an empty plot. Reads those series."""
        names = ["actions", *(["states"] if self.has_states else []),
                 *(f"obs/{k}" for k in self.obs_keys)]
        out = []
        for name in names:
            values = self._read(name)
            if values.dtype.kind == "f" and values.size and not np.isfinite(values).any():
                out.append(name)
        return out

    def _read(self, name: str, sl: Index = slice(None)) -> np.ndarray:
        self.checked     # noqa: B018 (validates once, raises RecordingError)

        def go() -> np.ndarray:
            ds = self._group[name]
            return ds[sl] if ds.ndim else ds[()]
        return self._guard(name, go)

    # ----- identity and metadata (attrs only) -----
    @functools.cached_property
    def attrs(self) -> dict[str, Any]:
        return self._guard("attributes", lambda: dict(self._group.attrs))

    @property
    def num_steps(self) -> int:
        if "num_steps" in self.row and np.isfinite(self.row["num_steps"]):
            return int(self.row["num_steps"])
        return int(self.attrs.get("num_samples", self._guard(
            "actions", lambda: self._group["actions"].shape[0])))

    def _attr(self, key: str, default: Any) -> Any:
        if key in self.row:
            value = self.row[key]
            return value.item() if hasattr(value, "item") else value
        value = self.attrs.get(key, default)
        return value.item() if hasattr(value, "item") else value

    @property
    def seed(self) -> int:
        return int(self._attr("seed", -1))

    @property
    def policy(self) -> str:
        return str(self._attr("policy", ""))

    @property
    def success(self) -> bool:
        return bool(self._attr("success", True))

    @property
    def failure_label(self) -> str:
        return str(self._attr("failure_label", "unlabelled"))

    @property
    def mode(self) -> str:
        return str(self._attr("mode", ""))

    @property
    def perturbation(self) -> dict:
        text = str(self._attr("perturbation", ""))
        return json.loads(text) if text else {}

    @property
    def state_layout(self) -> dict:
        """{"pending_actions": k, "action_dim": D} of this rollout's state rows: the recorded
        attribute, or (files written before it) derived from the recorded perturbation."""
        text = self.attrs.get("state_layout", "")
        if text:
            try:
                layout = json.loads(text)
                return {"pending_actions": int(layout["pending_actions"]),
                        "action_dim": int(layout["action_dim"])}
            except (ValueError, KeyError, TypeError):
                raise RecordingError(f"{self._where}: rollout {self.rollout_id}: state_layout "
                                     f"attribute {text!r} is not valid") from None
        from recordings.rollout import state_layout
        width = self._guard("actions", lambda: self._group["actions"].shape[-1]
                            if "actions" in self._group else 0)
        return state_layout(self.perturbation, int(width))

    @property
    def user_attrs(self) -> dict:
        text = self.attrs.get("user_attrs", "")
        return json.loads(text) if text else {}

    @functools.cached_property
    def metrics(self) -> dict[str, float]:
        def go() -> dict[str, float]:
            group = self._group.get("metrics")
            return {} if group is None else {k: float(v) for k, v in group.attrs.items()}
        return self._guard("metrics", go)

    # ----- traces (read on demand) -----
    @functools.cached_property
    def obs_keys(self) -> list[str]:
        return self._guard("obs", lambda: list(self._group["obs"].keys())
                           if "obs" in self._group else [])

    @property
    def has_states(self) -> bool:
        return self._guard("states", lambda: "states" in self._group)

    def actions(self, sl: Index = slice(None)) -> np.ndarray:
        return self._read("actions", sl)

    def states(self, sl: Index = slice(None)) -> np.ndarray:
        if not self.has_states:
            raise RecordingError(f"{self._where}: rollout {self.rollout_id} has no states")
        return self._read("states", sl)

    def rewards(self, sl: Index = slice(None)) -> np.ndarray:
        return self._read("rewards", sl)

    def dones(self, sl: Index = slice(None)) -> np.ndarray:
        return self._read("dones", sl)

    def obs(self, key: str, sl: Index = slice(None)) -> np.ndarray:
        if key not in self.obs_keys:
            raise RecordingError(f"{self._where}: rollout {self.rollout_id} has no obs {key!r}; "
                                 f"it has {', '.join(self.obs_keys) or 'none'}")
        return self._read(f"obs/{key}", sl)

    @functools.cached_property
    def events(self) -> list[Event]:
        def go() -> list[Event]:
            group = self._group.get("events")
            if group is None:
                return []
            steps = group["step"][()]
            kinds = group["kind"].asstr()[()]
            bodies = group["bodies"].asstr()[()]
            details = group["detail"].asstr()[()]
            return [Event(kind=str(k), step=int(s), bodies=tuple(json.loads(b)),
                          detail=json.loads(d)) for s, k, b, d in zip(steps, kinds, bodies, details)]
        return self._guard("events", go)

    @functools.cached_property
    def replans(self) -> "ReplanList":
        self.checked     # noqa: B018 (validates once)
        return self._guard("replans", lambda: ReplanList(self._group.get("replans"), self._guard))


class ReplanList:
    """Lazy sequence of ReplanView; steps [R] (control step of each replan) is read once."""

    def __init__(self, group: h5py.Group | None, guard: Callable[[str, Callable], Any]) -> None:
        self._group = group
        self._guard = guard
        self.steps = np.zeros(0, np.int64) if group is None else \
            guard("replans", lambda: group["step"][()])

    def __len__(self) -> int:
        return int(self.steps.shape[0])

    def __getitem__(self, j: int) -> "ReplanView":
        if isinstance(j, slice):
            return [self[k] for k in range(*j.indices(len(self)))]
        n = len(self)
        if not -n <= j < n:
            raise IndexError(f"replan {j} out of range ({n} replans)")
        return ReplanView(self._group, j % n, self._guard)

    def __iter__(self):
        return (self[j] for j in range(len(self)))

    def at_step(self, step: int) -> "ReplanView | None":
        """The replan in force at control step `step` (the latest with steps <= step)."""
        j = int(np.searchsorted(self.steps, step, side="right")) - 1
        return self[j] if j >= 0 else None

    def samples(self) -> np.ndarray:
        """[R, N, H, D] every replan's samples at once (one read)."""
        return self._guard("samples", lambda: self._group["samples"][()])

    def executed_chunks(self) -> np.ndarray:
        """[R, K, D] every executed chunk at once."""
        return self._guard("executed_chunk", lambda: self._group["executed_chunk"][()])


class ReplanView:
    """Replan j of a rollout; each property is one small read."""

    def __init__(self, group: h5py.Group, j: int, guard: Callable[[str, Callable], Any]) -> None:
        self._g = group
        self.index = j
        self._guard = guard

    def _row(self, name: str) -> Any:
        return self._guard(f"replans/{name}", lambda: self._g[name][self.index])

    @property
    def step(self) -> int:
        return int(self._row("step"))

    @property
    def samples(self) -> np.ndarray:
        return self._row("samples")

    @property
    def executed_index(self) -> int:
        return int(self._row("executed_index"))

    @property
    def mode_labels(self) -> list[str]:
        return [str(x) for x in self._guard(
            "mode_labels", lambda: self._g["mode_labels"].asstr()[self.index])]

    @property
    def feasible(self) -> np.ndarray:
        return self._row("feasible")

    @property
    def latency_ms(self) -> float:
        return float(self._row("latency_ms"))

    @property
    def executed_chunk(self) -> np.ndarray:
        return self._row("executed_chunk")

    def _optional(self, name: str, row_name: str) -> np.ndarray | None:
        if row_name not in self._g:      # written before this dataset existed
            return None
        row = int(self._row(row_name))
        return None if row < 0 else self._guard(name, lambda: self._g[name][row])

    @property
    def initial_noise(self) -> np.ndarray | None:
        """[N, H, D] float32 the draw x_T was made from, or None (not kept)."""
        return self._optional("initial_noise", "initial_noise_row")

    @property
    def step_noise(self) -> np.ndarray | None:
        """[Kn, N, H, D] float32 DDPM's per-step draws, or None (not kept)."""
        return self._optional("step_noise", "step_noise_row")

    @property
    def replay(self) -> dict | None:
        """{seed, solver, steps, temperature} of the planner call, or None (not kept)."""
        if "replay" not in self._g:
            return None
        text = self._guard("replays", lambda: self._g["replay"].asstr()[self.index])
        return json.loads(text) if text else None

    def replay_args(self) -> dict | None:
        """Keyword arguments for `planner.plan(obs, **args)` that reproduce `samples` (see
        recordings.rollout.ReplanRecord.replay_args), or None."""
        replay = self.replay
        if replay is None:
            return None
        return {"num_samples": int(self.samples.shape[0]), **replay,
                "initial_noise": self.initial_noise, "step_noise": self.step_noise}

    @property
    def chain(self) -> np.ndarray | None:
        return self._optional("chain", "chain_row")

    @property
    def x0_estimates(self) -> np.ndarray | None:
        return self._optional("x0_estimates", "x0_row")

    @property
    def has_chain(self) -> bool:
        return int(self._row("chain_row")) >= 0
