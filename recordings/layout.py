"""How one Rollout is laid out in an HDF5 group (robomimic's demo layout plus planscope extras).

    demo_<i>/ attrs: num_samples (T), rollout_id, seed, policy, perturbation (JSON), success,
                     failure_label, mode, user_attrs (JSON of Rollout.attrs),
                     state_layout (JSON: pending_actions, action_dim; see rollout.state_layout)
      actions [T,D] f32   states [T,S] f64   rewards [T] f32   dones [T] bool   obs/<key> [T,...]
      events/  step [E] i64, kind [E] str, bodies [E] str (JSON list), detail [E] str (JSON)
      metrics/ attrs: name -> float64
      replans/ step [R] i64, samples [R,N,H,D] f32, executed_index [R] i64, mode_labels [R,N] str,
               feasible [R,N] bool, latency_ms [R] f64, executed_chunk [R,K,D] f32,
               chain [C,Sd+1,N,H,D] f32 + chain_row [R] i32 (row in chain, -1 = not kept),
               x0_estimates [C',Sd,N,H,D] f32 + x0_row [R] i32,
               initial_noise [C'',N,H,D] f32 + initial_noise_row [R] i32,
               step_noise [C''',Kn,N,H,D] f32 + step_noise_row [R] i32,
               replay [R] str (JSON seed/solver/steps/temperature, "" = none)
               (the last three pairs are optional: files written before them have none)
Datasets are contiguous and uncompressed: a one-step read is one small hyperslab read, and the
writer streams at close to disk speed.
"""
from __future__ import annotations

import json

import h5py
import numpy as np

from recordings.rollout import ReplanRecord, Rollout
from recordings.schema import derived_metrics, json_attr

_STR = h5py.string_dtype("utf-8")


def _strings(values: list[str] | np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.empty(shape, dtype=object)
    flat = arr.reshape(-1)
    for i, v in enumerate(np.asarray(values, dtype=object).reshape(-1)):
        flat[i] = str(v)
    return arr


def write_demo(group: h5py.Group, rollout: Rollout, rollout_id: int) -> None:
    """Fill an empty group with one rollout (robomimic core + our extras)."""
    t = rollout.num_steps
    a = group.attrs
    a["num_samples"] = t
    a["rollout_id"] = rollout_id
    a["seed"] = rollout.seed
    a["policy"] = rollout.policy
    a["perturbation"] = rollout.perturbation_text
    a["success"] = rollout.success
    a["failure_label"] = rollout.failure_label
    a["mode"] = rollout.mode
    a["user_attrs"] = json_attr(rollout.attrs)
    a["state_layout"] = json_attr(rollout.state_layout)   # replay of delay-extended states
    group.create_dataset("actions", data=rollout.actions)
    group.create_dataset("states", data=rollout.states)
    group.create_dataset("rewards", data=rollout.rewards)
    group.create_dataset("dones", data=rollout.dones)
    obs = group.create_group("obs")
    for key, arr in rollout.obs.items():
        obs.create_dataset(key, data=arr)
    _write_events(group.create_group("events"), rollout)
    metrics = group.create_group("metrics")
    for key, value in derived_metrics(rollout).items():
        metrics.attrs[key] = float(value)
    _write_replans(group.create_group("replans"), rollout.replans, rollout.actions.shape[1])


def _write_events(group: h5py.Group, rollout: Rollout) -> None:
    ev = rollout.events
    group.create_dataset("step", data=np.asarray([e.step for e in ev], dtype=np.int64))
    group.create_dataset("kind", data=_strings([e.kind for e in ev], (len(ev),)), dtype=_STR)
    group.create_dataset("bodies", data=_strings([json.dumps([str(b) for b in e.bodies]) for e in ev],
                                                 (len(ev),)), dtype=_STR)
    group.create_dataset("detail", data=_strings([json_attr(e.detail) for e in ev], (len(ev),)),
                         dtype=_STR)


def _write_replans(group: h5py.Group, replans: list[ReplanRecord], d: int) -> None:
    r = len(replans)
    if r:
        n, h, d = replans[0].samples.shape
        k = replans[0].executed_chunk.shape[0]
    else:
        n, h, k = 0, 0, 0
    group.attrs["num_replans"] = r
    group.create_dataset("step", data=np.asarray([x.step for x in replans], dtype=np.int64))
    samples = np.stack([x.samples for x in replans]) if r else np.zeros((0, n, h, d), np.float32)
    group.create_dataset("samples", data=samples)
    group.create_dataset("executed_index",
                         data=np.asarray([x.executed_index for x in replans], dtype=np.int64))
    group.create_dataset("mode_labels", data=_strings([m for x in replans for m in x.mode_labels],
                                                      (r, n)), dtype=_STR)
    feasible = np.stack([x.feasible for x in replans]) if r else np.zeros((0, n), np.bool_)
    group.create_dataset("feasible", data=feasible)
    group.create_dataset("latency_ms",
                         data=np.asarray([x.latency_ms for x in replans], dtype=np.float64))
    chunks = np.stack([x.executed_chunk for x in replans]) if r else np.zeros((0, k, d), np.float32)
    group.create_dataset("executed_chunk", data=chunks)
    for name, row_name in (("chain", "chain_row"), ("x0_estimates", "x0_row"),
                           ("initial_noise", "initial_noise_row"), ("step_noise", "step_noise_row")):
        kept = [getattr(x, name) for x in replans if getattr(x, name) is not None]
        rows = np.full(r, -1, dtype=np.int32)
        j = 0
        for i, x in enumerate(replans):
            if getattr(x, name) is not None:
                rows[i] = j
                j += 1
        empty = (0, n, h, d) if name == "initial_noise" else (0, 0, n, h, d)
        data = np.stack(kept) if kept else np.zeros(empty, np.float32)
        group.create_dataset(name, data=data)
        group.create_dataset(row_name, data=rows)
    group.create_dataset("replay", data=_strings(["" if x.replay is None else json_attr(x.replay)
                                                  for x in replans], (r,)), dtype=_STR)
