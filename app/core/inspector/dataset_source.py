"""Dataset-conditioned inspection: sample a policy at a recorded frame and read its plans against
what the demonstrator did there and what the data does at similar states (no scene needed).

    source = DatasetSource("out/", planner, neighbours=32)     # opens lazily, checks the mapping
    result = source.inspect(episode=3, frame=10, num=64, seed=0)
    result.plans [N, H, D]      the policy's plans (action units), with result.batch's chain
    result.demo [H, D]          the demonstrated chunk: the episode's next H actions (demo_mask [H])
    result.neighbours [K, H, D] the chunks of the K nearest frames of the whole data set
    result.metrics              planners.frame_metrics.FrameMetrics (verdict, reason, coverage, ...)
    result.summary()            JSON-ready; format_inspection(result) the CLI's text

Mode analysis without scene labels: ONE reading, the dataset scan's (planners.frame_metrics:
frame_local_modes + read_frame). The neighbours' chunks are clustered into local data modes; their
shares are read at this frame's state by a CV-gated logistic fit of mode on the neighbours'
states where the state predicts the mode, else the neighbours' shares weighted by state distance;
each share has a 95 % interval. Each plan belongs to the mode it lies within, or none; coverage =
major local modes (>= 10 %) reached; collapsed = a credibly major local mode gets < 2 % of the
plans; averaging = plans between local modes. The reason ends with what it compared against: the
K nearest frames, conditional or plain shares (with the fit's CV log-loss), the effective number
of neighbours and the data's shares with their intervals.

Sampling: the frame's noise is planners.frame_metrics.frame_noise(seed, episode, frame), the
scan's, and the analysis uses the same seed: `planscope sample --data DS --episode E --frame F
--seed S` reads exactly what `planscope scan --seed S` read at that frame.

Observation building, demonstrated chunks and neighbours are app/core/dataset_frames.py's, shared
with the scan. Qt-free: the GUI runs inspect() on its worker thread.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.dataset_frames import (LocalData, check_policy_features, demonstrated_chunk,
                                     frame_observation, state_spec)
from recordings.dataset import Dataset, DatasetError, open_dataset

DEFAULT_NEIGHBOURS = 64     # binomial sd of a 50 % local share: 0.06 (0.09 at 32)
EE_ACTION_NAMES = ("x", "y", "z")     # an action whose first dims are these is a hand position


@dataclass
class DatasetInspection:
    """One policy at one recorded frame. Shapes: plans [N, H, D]; demo [H, D] with demo_mask [H];
    neighbours [K, H, D] with neighbour_episodes/neighbour_frames [K] and neighbour_distances [K]
    (normalised state units); labels [N] local mode name per plan ("" = none); shares {mode:
    share of the finite plans}; data_shares {mode: the local data's share at this state}; both
    with 95 % intervals (share_intervals, data_intervals)."""
    data: str
    episode: int
    frame: int
    obs: dict[str, np.ndarray]
    batch: Any
    plans: np.ndarray
    demo: np.ndarray
    demo_mask: np.ndarray
    neighbours: np.ndarray
    neighbour_episodes: np.ndarray
    neighbour_frames: np.ndarray
    neighbour_distances: np.ndarray
    local: Any
    labels: list[str]
    shares: dict[str, float]
    shares_in_modes: dict[str, float]     # share of the plans that are in some local mode
    data_shares: dict[str, float]
    metrics: Any
    compared_against: str
    action_names: list[str]
    end_effector: bool
    policy: str = ""
    action_scale: np.ndarray | None = None     # [D] 2 / the data's action range
    timings_ms: dict[str, float] = field(default_factory=dict)
    data_labels: dict[str, str] = field(default_factory=dict)   # local mode -> the data's labels
    share_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)   # 95 %
    data_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)    # 95 %
    seed: int = 0        # base seed: noise planners.frame_metrics.frame_noise(seed, ep, frame)

    def label_shares(self) -> dict[str, float]:
        """{the data's own mode label: share of the plans in a local mode} where each local mode
        is named by its neighbours' per-episode labels (planscope exports carry them); {} when
        the data has none or a local mode mixes labels."""
        out: dict[str, float] = {}
        for m, text in self.data_labels.items():
            if not text or "," in text:
                return {}
            out[text] = out.get(text, 0.0) + self.shares_in_modes[m]
        return out

    @property
    def verdict(self) -> str:
        return self.metrics.verdict

    @property
    def reason(self) -> str:
        return self.metrics.reason

    def summary(self) -> dict[str, Any]:
        """JSON-ready reading (numbers rounded to 4 places)."""
        m = self.metrics

        def num(v: float) -> float | None:
            return None if v is None or not np.isfinite(v) else round(float(v), 4)
        return {
            "policy": self.policy, "data": self.data, "episode": self.episode,
            "frame": self.frame, "num_samples": int(len(self.plans)),
            "horizon": int(self.plans.shape[1]), "action_dim": int(self.plans.shape[2]),
            "neighbours": int(len(self.neighbours)), "compared_against": self.compared_against,
            "verdict": m.verdict, "verdict_label": m.label, "reason": m.reason,
            "seed": self.seed, "shares_state_conditional": bool(self.local.state_conditional),
            "effective_neighbours": num(self.local.effective),
            "modes": [{"mode": k, "share": round(self.shares[k], 4),
                       "interval": _pair(self.share_intervals.get(k)),
                       "share_in_modes": round(self.shares_in_modes[k], 4),
                       "data_labels": self.data_labels.get(k, ""),
                       "data_share": round(self.data_shares[k], 4),
                       "data_interval": _pair(self.data_intervals.get(k)),
                       "major": k in self.local.major,
                       "judged": k not in self.local.not_here} for k in self.data_shares],
            "no_reading": m.reason if m.verdict == "no-reading" else "",
            "no_mode_share": num(m.off_data_share), "coverage": num(m.coverage),
            "sample_clusters": num(m.sample_modes), "data_modes": num(m.data_modes),
            "averaging_score": num(m.averaging), "missed_share": num(m.missed_share),
            "demo_dist_nearest": num(m.demo_dist_nearest), "demo_dist_mean": num(m.demo_dist_mean),
            "nonfinite": int(m.nonfinite),
            "nearest_frames": [{"episode": int(e), "frame": int(f), "distance": num(d)}
                               for e, f, d in zip(self.neighbour_episodes[:8],
                                                  self.neighbour_frames[:8],
                                                  self.neighbour_distances[:8])],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


class DatasetSource:
    """A data set opened for one policy. data: a path (any format open_dataset reads) or an
    open Dataset; neighbours: K nearest frames for the local data modes (0: none)."""

    def __init__(self, data: str | os.PathLike | Dataset, planner: Any, *,
                 neighbours: int = DEFAULT_NEIGHBOURS) -> None:
        self.ds = data if isinstance(data, Dataset) else open_dataset(data)
        self.planner = planner
        spec = planner.spec
        who = f"policy {spec.name!r}"
        check_policy_features(self.ds, spec, who)
        key = self.ds.action_key
        if key is None:
            raise DatasetError(f"{self.ds.path}: the data set has no action feature; {who} "
                               f"plans {spec.action_dim}-D actions")
        action = self.ds.features[key]
        dim = int(np.prod(action.shape)) if action.shape else 1
        if dim != int(spec.action_dim):
            raise DatasetError(f"{self.ds.path}: {who} plans {spec.action_dim}-D actions but the "
                               f"data set's {key} is {dim}-D")
        self.action_names = list(action.names or (f"{key}.{i}" for i in range(dim)))
        # a hand position: named x, y, z, or a policy of one of planscope's scenes (whose
        # actions are hand targets) on unnamed columns; a policy trained on data without a scene
        # (spec.scene "": a real robot's recording) is not assumed to command hand positions
        self.end_effector = tuple(n.split(".")[-1] for n in self.action_names[:3]) == \
            EE_ACTION_NAMES or (bool(spec.scene) and dim >= 3)
        self.horizon = int(spec.horizon)
        self.k = int(neighbours)
        self._local: LocalData | None = None
        self._scale: np.ndarray | None = None

    @property
    def name(self) -> str:
        return os.path.basename(os.path.normpath(str(self.ds.path)))

    @property
    def local(self) -> LocalData:
        """The index of every frame's state (built on first use: one pass over the columns)."""
        if self._local is None:
            self._local = LocalData(self.ds, state_spec(self.planner.spec), self.horizon,
                                    int(getattr(self.planner.spec, "action_start", 0)))
        return self._local

    @property
    def action_scale(self) -> np.ndarray:
        """[D] 2 / the data's action range (1 for a constant dimension): normalised units."""
        if self._scale is None:
            from planners.normalizer import MinMaxNormalizer
            self._scale = MinMaxNormalizer.fit(self.local.actions).scale.astype(np.float64)
        return self._scale

    def check_frame(self, episode: int, frame: int) -> None:
        """DatasetError naming the data set and its range unless (episode, frame) exists."""
        eps = self.ds.episodes
        if not 0 <= episode < len(eps):
            raise DatasetError(f"{self.ds.path}: no episode {episode} (the data set has "
                               f"{len(eps)} episodes, 0..{len(eps) - 1})")
        length = eps[episode].length
        if not 0 <= frame < length:
            raise DatasetError(f"{self.ds.path}: episode {episode} has no frame {frame} (it has "
                               f"{length} frames, 0..{length - 1})")

    def observation(self, episode: int, frame: int) -> dict[str, np.ndarray]:
        """The policy's observation history at the frame: {feature: [To, *shape]}."""
        self.check_frame(episode, frame)
        return frame_observation(self.ds, self.planner.spec, episode, frame)

    def demo(self, episode: int, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """(demonstrated chunk [H, D], mask [H])."""
        self.check_frame(episode, frame)
        return demonstrated_chunk(self.ds, episode, frame, self.horizon,
                                  int(getattr(self.planner.spec, "action_start", 0)))

    def _label_modes(self, local: Any, chunks: np.ndarray, near_eps: np.ndarray
                     ) -> dict[str, str]:
        """Name each local mode by its neighbours' per-episode mode labels, when the data has
        them (a neighbour belongs to the local mode whose mean chunk is nearest)."""
        from planners.frame_metrics import distances
        modes = [e.mode for e in self.ds.episodes]
        if not len(chunks) or not any(modes):
            return {}
        d = np.stack([distances(np.asarray(chunks, np.float64), m, self.action_scale)
                      for m in local.means], axis=1)
        near = d.argmin(axis=1)
        ep_modes = [modes[int(e)] for e in near_eps]
        return _majority_labels(local.names, [np.flatnonzero(near == j)
                                              for j in range(len(local.names))], ep_modes)

    def inspect(self, episode: int, frame: int, num: int, *, seed: int = 0,
                solver: str | None = None, steps: int | None = None,
                temperature: float = 1.0) -> DatasetInspection:
        """Sample `num` plans at (episode, frame) and read them against the demo and the K
        nearest frames (module docstring)."""
        from planners.boundary import run_planner

        from planners.frame_metrics import frame_noise

        t0 = time.perf_counter()
        obs = self.observation(episode, frame)
        demo, mask = self.demo(episode, frame)
        t1 = time.perf_counter()
        kwargs = {k: v for k, v in (("solver", solver), ("steps", steps)) if v is not None}
        spec = self.planner.spec
        frame_seed, noise = frame_noise(seed, episode, frame, num, self.horizon,
                                        int(spec.action_dim))
        if getattr(spec, "kind", "") == "diffusion":
            kwargs["initial_noise"] = noise
        batch = run_planner(self.planner, obs, num, seed=frame_seed, temperature=temperature,
                            **kwargs)
        plans = np.asarray(batch.plans, np.float32)
        t2 = time.perf_counter()
        states = query = None
        if self.k > 0:
            chunks, dist = self.local.nearest(episode, frame, self.k)
            near_eps, near_frames = self.local.locate(self.local.last_rows)
            if len(self.local.last_rows):
                states = self.local.states[self.local.last_rows]
                query = self.local.states[self.local.starts[episode] + frame]
        else:
            chunks, dist = np.zeros((0, self.horizon, plans.shape[2]), np.float32), np.zeros(0)
            near_eps = near_frames = np.zeros(0, np.int64)
        reading = read_against_data(plans, demo, mask, chunks, dist, self.action_scale,
                                    data_name=self.name, latency_ms=(t2 - t1) * 1000.0,
                                    seed=seed, states=states, query=query)
        reading["data_labels"] = self._label_modes(reading["local"], chunks, near_eps)
        t3 = time.perf_counter()
        return DatasetInspection(
            data=str(self.ds.path), episode=episode, frame=frame, obs=obs, batch=batch,
            plans=plans, demo=demo, demo_mask=mask, neighbours=np.asarray(chunks, np.float32),
            neighbour_episodes=near_eps, neighbour_frames=near_frames,
            neighbour_distances=np.asarray(dist, np.float64), **reading,
            action_names=self.action_names, end_effector=self.end_effector,
            policy=self.planner.spec.name, action_scale=self.action_scale, seed=seed,
            timings_ms={"observation": (t1 - t0) * 1e3, "sample": (t2 - t1) * 1e3,
                        "analysis": (t3 - t2) * 1e3})


def _pair(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [round(float(pair[0]), 4), round(float(pair[1]), 4)]


def _majority_labels(names: list[str], members: list[np.ndarray], episode_modes: list[str]
                     ) -> dict[str, str]:
    """{local mode: the data label most of its neighbours carry ('left'), or 'left,right' when
    no label holds 80 %}; {} when the data has no labels."""
    out = {}
    for name, rows in zip(names, members):
        labs = [episode_modes[i] for i in rows if episode_modes[i]]
        if not labs:
            return {}
        vals, counts = np.unique(labs, return_counts=True)
        top = int(np.argmax(counts))
        out[name] = str(vals[top]) if counts[top] >= 0.8 * len(labs) else ",".join(vals)
    return out


def read_against_data(plans: np.ndarray, demo: np.ndarray, demo_mask: np.ndarray,
                      neighbours: np.ndarray, distances: np.ndarray, scale: np.ndarray, *,
                      data_name: str, latency_ms: float = float("nan"), seed: int = 0,
                      states: np.ndarray | None = None, query: np.ndarray | None = None
                      ) -> dict[str, Any]:
    """The mode reading of plans [N, H, D] against the neighbours' chunks [K, H, D] (state
    distances [K]; their normalised states [K, F] and the query's [F], for shares read at the
    query state) and the demo [H, D] (mask [H]), in normalised units (scale [D]): the scan's
    reading (planners.frame_metrics.frame_local_modes + read_frame), as DatasetInspection's
    fields: local, metrics, labels, shares (+ share_intervals), shares_in_modes, data_shares
    (+ data_intervals), compared_against (also the end of metrics.reason)."""
    from planners.frame_metrics import frame_local_modes, read_frame

    local = frame_local_modes(neighbours, distances, action_scale=scale, states=states,
                              query=query, seed=seed)
    r = read_frame(plans, demo, local, action_scale=scale, demo_mask=demo_mask,
                   data_name=data_name, latency_ms=latency_ms, seed=seed)
    return {"local": r.local, "metrics": r.metrics, "labels": r.labels, "shares": r.shares,
            "share_intervals": r.intervals, "shares_in_modes": r.shares_in_modes,
            "data_shares": r.data_shares, "data_intervals": r.data_intervals,
            "compared_against": r.compared_against}


def pca_2d(groups: list[np.ndarray], scale: np.ndarray | None = None
           ) -> tuple[list[np.ndarray], np.ndarray]:
    """A 2-D PCA projection of action chunks: groups of [n_i, H, D] chunks (e.g. plans, demo,
    neighbours) -> ([n_i, 2] each, explained-variance ratio [2]), fitted on all of them together
    in normalised units (each dimension times scale [D])."""
    flat = [np.asarray(g, np.float64).reshape(len(g), -1) for g in groups]
    if scale is not None:
        reps = np.asarray(groups[0]).shape[1]
        w = np.tile(np.asarray(scale, np.float64), reps)
        flat = [f * w for f in flat]
    allx = np.concatenate([f for f in flat if len(f)])
    allx = allx[np.isfinite(allx).all(axis=1)]
    mean = allx.mean(axis=0) if len(allx) else 0.0
    if len(allx) < 2:
        return [np.zeros((len(f), 2)) for f in flat], np.zeros(2)
    _, s, vt = np.linalg.svd(allx - mean, full_matrices=False)
    comps = vt[:2] if len(vt) >= 2 else np.vstack([vt, np.zeros_like(vt)])
    var = s ** 2
    ratio = var[:2] / max(var.sum(), 1e-12)
    ratio = np.pad(ratio, (0, 2 - len(ratio)))
    for i in range(len(comps)):            # a deterministic sign: largest loading positive
        if comps[i][np.argmax(np.abs(comps[i]))] < 0:
            comps[i] = -comps[i]
    return [(f - mean) @ comps.T for f in flat], ratio


def format_inspection(r: DatasetInspection) -> str:
    """The CLI's text reading."""
    s = r.summary()
    lines = [f"policy {s['policy']} at episode {r.episode}, frame {r.frame} of {s['data']}: "
             f"{s['num_samples']} plans of {s['horizon']} x {s['action_dim']}",
             f"verdict: {s['verdict_label']} - {s['reason']}"]
    if s["no_reading"]:         # too few or too far: their "modes" are not listed as modes
        lines.append(f"local data modes: none read ({s['neighbours']} nearest frame"
                     f"{'s' * (s['neighbours'] != 1)})")
    else:
        lines.append(f"local data modes (of {s['neighbours']} nearest frames):")
    for m in [] if s["no_reading"] else s["modes"]:
        named = f" = {m['data_labels']}" if m["data_labels"] else ""
        lo, hi = m["interval"] or (0.0, 1.0)
        dlo, dhi = m["data_interval"] or (0.0, 1.0)
        lines.append(f"  {m['mode'] + named:<14} plans {m['share']:6.1%} ({lo:.0%}-{hi:.0%})   "
                     f"data {m['data_share']:6.1%} ({dlo:.0%}-{dhi:.0%})"
                     f"{'   (major)' if m['major'] else ''}"
                     f"{'' if m['judged'] else '   (not at this state: not judged)'}")
    if s["no_mode_share"] is not None and not s["no_reading"]:
        lines.append(f"  {'none':<14} plans {s['no_mode_share']:6.1%}")

    def fmt(v: Any, spec: str) -> str:
        return "n/a" if v is None else format(v, spec)
    lines.append(f"coverage {fmt(s['coverage'], '.2f')}   averaging score "
                 f"{fmt(s['averaging_score'], '.2f')}   sample clusters "
                 f"{fmt(s['sample_clusters'], '.0f')}")
    lines.append(f"demonstrated chunk: nearest plan {fmt(s['demo_dist_nearest'], '.3f')}, "
                 f"mean plan {fmt(s['demo_dist_mean'], '.3f')} (normalised action units)")
    t = s["timings_ms"]
    lines.append(f"timings: observation {t['observation']:.1f} ms, sample {t['sample']:.1f} ms, "
                 f"analysis {t['analysis']:.1f} ms")
    return "\n".join(lines)


__all__ = ["DatasetInspection", "DatasetSource", "format_inspection", "pca_2d",
           "read_against_data"]
