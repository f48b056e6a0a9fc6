"""Per-frame metrics of a dataset scan: N sampled plans against the demonstrated chunk and the
local data distribution (the chunks of the K nearest recorded frames). docs/scan.md.

    local = frame_local_modes(chunks [K,H,D], state distances [K], action_scale=[D],
                              states=[K,F], query=[F])                       once per frame
    m = frame_metrics(samples [N,H,D], demo [H',D], local, action_scale=[D])   once per policy
    m.label                    the verdict as shown: verdict_label(m.verdict, m.off_data_share)
    r = read_frame(samples, demo, local, ...)     the same metrics + shares with intervals + text
    change = compare(m_a, m_b)                                                  two policies

The scan (app/core/scan/work.py) and the dataset-conditioned inspector
(app/core/inspector/dataset_source.py) both build the local modes with frame_local_modes and the
same seed, and both sample a frame with frame_noise(seed, episode, frame): the same frame read
by either gives the same plans, shares and verdict.

Units. Every distance is in the policy's *normalised* action units: a difference (action units)
times `action_scale` [D] (the policy's min-max normaliser scale, 2 / data range; 1 = raw units
when not given). dist(p, q) = sqrt(mean_t |(p_t - q_t) * scale|^2): the RMS over the horizon of
the per-step Euclidean distance, so 0.1 means "on average a twentieth of the data's range".

Local data modes: planners.modes.analyze_modes clusters the neighbours' chunks (the same
clustering as every other mode reading); each cluster is a data mode with its share of the
neighbours and its mean chunk; clusters closer than MIN_MODE_GAP are merged (one motion at other
placements or phases; planners.local_membership). A sample belongs to the nearest mode when it
lies within that mode's radius = max(RADIUS_SPREAD x the mode's RMS spread, RADIUS_FLOOR,
RADIUS_GAP_MIN x the distance to the nearest other mode), capped at RADIUS_GAP x that distance
(so a plan halfway between two modes belongs to neither, and a policy's own imprecision does not
count as leaving a mode that is far from every other), or, failing that, to the mode of the
nearest neighbour's chunk when it lies within LocalModes.reach of it (on a demonstration's own
chunk: NN_REACH x the neighbours' chunk-to-chunk spacing); else it has no mode ("").
analyze_modes then reads the samples with those labels, the neighbours' shares as data shares
(modes under NEGLIGIBLE_SHARE listed, not judged) and the mode means as reference plans, and its
verdict (planners.mode_verdicts) sets the flags: collapsed, averaged (verdict "averaging"),
off_data ("no-mode": most samples in no local mode), invalid (no finite sample). Verdict
"no-reading" (no flag, NaN mode metrics): fewer than MIN_NEIGHBOURS neighbours, or none within
DEMO_SUPPORT of the demonstrated chunk.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from planners.local_membership import (MIN_NEIGHBOURS, chunk_reach, merge_close, nearest_chunk,
                                       too_few, unsupported)
from planners.local_shares import (CREDIBLE_Z, MODE_FIT_C, MODE_FIT_MIN_GAIN,  # noqa: F401
                                    Z95, conditional_fit, conditional_shares, state_weights,
                                    wilson_lower)
from planners.mode_verdicts import NEGLIGIBLE_DATA_SHARE as NEGLIGIBLE_SHARE
from planners.mode_verdicts import NO_MODE_MAX as NO_MODE_SHARE   # from this share in no mode
from planners.modes import analyze_modes                           # the verdict is averaging/no-mode

RADIUS_SPREAD = 3.0     # a mode reaches this many RMS spreads of its own chunks ...
RADIUS_FLOOR = 0.1      # ... at least this far (normalised units: a 20th of the data range) ...
RADIUS_GAP_MIN = 0.4    # ... or this share of the gap to the nearest other mode (0.25 before:
                        # 64 nearly identical first-frame neighbours gave radii of 0.12-0.13 and
                        # plans 0.39 of the gap from one mode, 0.83 from the other, read no-mode)
                        # ...
RADIUS_GAP = 0.45       # ... and never past this share of that gap
MAJOR_SHARE = 0.10      # local data modes this common count for coverage and collapse
COLLAPSE_SHARE = 0.02   # a major mode with fewer samples than this share is missed
OFF_DATA_NOTE = 0.20    # a verdict other than no-mode (which needs half the plans) is qualified
                        # when this share of the plans lies in no local data mode: at the
                        # README's frame 36 % sat in none while the badge read plain "multimodal"


@dataclass
class LocalModes:
    """The data's modes near one frame. means [M, H, D] action units; shares [M] of the K
    neighbours (or, state_conditional, predicted at the query state); radius [M] normalised
    units; num_neighbours K (0: nothing to compare with); effective: Kish's effective number of
    neighbours (sum w)^2 / sum w^2 of the weights; lower [M]: each share's one-sided 95 % Wilson
    lower bound given `effective` neighbours (a collapse needs a missed mode with lower >=
    MAJOR_SHARE)."""
    means: np.ndarray
    shares: np.ndarray
    radius: np.ndarray
    num_neighbours: int
    effective: float = float("nan")
    lower: np.ndarray = field(default_factory=lambda: np.zeros(0))
    state_conditional: bool = False
    groups: list = field(default_factory=list)       # [M] neighbour indices of each mode
    fit_note: str = ""      # how the shares were read (conditional fit's CV, or why plain)
    chunks: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))  # [K, H, D]
    reach: float = 0.0      # a plan this close to a neighbour's chunk is in its mode
                            # (planners.local_membership.chunk_reach, normalised units)

    @property
    def member(self) -> np.ndarray:
        """[K] mode index of each neighbour (-1: in no mode, e.g. non-finite)."""
        out = np.full(len(self.chunks), -1)
        for j, g in enumerate(self.groups):
            out[np.asarray(g, np.int64)] = j
        return out

    @property
    def not_here(self) -> list[str]:
        """Names of the local modes the data gives under NEGLIGIBLE_SHARE at this state: listed,
        never required of the policy nor named as its largest gap (mode_verdicts)."""
        return [n for n, s in zip(self.names, self.shares) if s < NEGLIGIBLE_SHARE]

    @property
    def no_reading(self) -> str:
        """'only K nearest frames to compare with (needs >= M)' when too few neighbours for a
        reading (verdict "no-reading"), else ''."""
        return too_few(self.num_neighbours)

    @property
    def intervals(self) -> np.ndarray:
        """[M, 2] each share's two-sided 95 % Wilson interval given `effective` neighbours (for
        state-conditional shares an approximation: the fit's own uncertainty is not added)."""
        if not len(self.shares):
            return np.zeros((0, 2))
        return np.stack([wilson_lower(self.shares, self.effective, Z95),
                         1.0 - wilson_lower(1.0 - self.shares, self.effective, Z95)], axis=1)

    def describe(self, data_name: str) -> str:
        """What a verdict against these modes compared against, and how sure: 'the 64 nearest
        frames of demos.h5 (2 local data modes; shares at this state by a logistic fit ..., 58.1
        effective neighbours; data m0 52 % (40-64 %), m1 48 % (36-60 %))'."""
        if not self.num_neighbours:
            return "no neighbours (K = 0)"
        if self.no_reading:
            return (f"the {self.num_neighbours} nearest frame{'s' * (self.num_neighbours != 1)} "
                    f"of {data_name}")
        m = len(self.shares)
        shares = ", ".join(f"{n} {s:.0%} ({lo:.0%}-{hi:.0%})" for n, s, (lo, hi)
                           in zip(self.names, self.shares, self.intervals))
        gone = self.not_here
        unjudged = (f"; {', '.join(gone)} under {100 * NEGLIGIBLE_SHARE:.0f} % at this state: "
                    f"not judged") if gone else ""
        return (f"the {self.num_neighbours} nearest frames of {data_name} ({m} local data "
                f"mode{'s' * (m != 1)}; {self.fit_note or 'plain neighbour shares'}; "
                f"{self.effective:.1f} effective neighbours; data {shares}, 95 % intervals"
                f"{unjudged})")

    @property
    def names(self) -> list[str]:
        return [f"m{i}" for i in range(len(self.shares))]

    @property
    def major(self) -> list[str]:
        return [n for n, s in zip(self.names, self.shares) if s >= MAJOR_SHARE]


@dataclass
class FrameMetrics:
    """One policy at one frame (scan_ranking.METRICS documents each; NaN = not measurable).
    hit: names of the major local modes the samples reach; verdict, reason: analyze_modes'."""
    demo_dist_nearest: float
    demo_dist_mean: float
    sample_modes: float
    data_modes: float
    coverage: float
    missed_share: float
    averaging: float
    off_data_share: float
    spread: float
    nonfinite: float
    collapsed: int
    averaged: int
    off_data: int
    invalid: int
    latency_ms: float
    verdict: str = ""
    reason: str = ""
    hit: list[str] = field(default_factory=list)
    # the signed averaging scale (analyze_modes against the local modes' mean chunks): [N] per
    # plan (NaN off the scale) and the local modes at 0 and 1; None when not measurable
    positions: np.ndarray | None = field(default=None, repr=False)
    pair: tuple[str, str] | None = None

    @property
    def label(self) -> str:
        """The verdict as badges and summaries show it (verdict_label)."""
        return verdict_label(self.verdict, self.off_data_share)

    def columns(self) -> dict[str, float]:
        """The numeric fields, as scan-file columns."""
        return {k: v for k, v in asdict(self).items()
                if k not in ("verdict", "reason", "hit", "positions", "pair")}


def verdict_label(verdict: str, off_data_share: float) -> str:
    """The one wording of a frame's verdict for every reader (the Modes dock's badge, `sample
    --data` text and JSON, the scan's reason): the verdict, qualified when a large share of the
    plans lies in no local data mode but under the half at which the verdict is averaging or
    no-mode anyway (OFF_DATA_NOTE <= share < NO_MODE_SHARE):
    "multimodal · 36 % off the data's modes". no-mode, invalid and "" stay as they are."""
    off = float(off_data_share) if off_data_share is not None else float("nan")
    if verdict in ("", "no-mode", "invalid") or not np.isfinite(off) or not \
            OFF_DATA_NOTE <= off < NO_MODE_SHARE:
        return verdict          # from half on the verdict itself is about the plans off the data
    return f"{verdict} · {100 * off:.0f} % off the data's modes"


def off_data_note(off_data_share: float) -> str:
    """The reason's opening clause when verdict_label qualifies the verdict, else ""."""
    off = float(off_data_share) if off_data_share is not None else float("nan")
    if not np.isfinite(off) or not OFF_DATA_NOTE <= off < NO_MODE_SHARE:
        return ""
    return (f"{100 * off:.0f} % of the plans lie in no local data mode (a verdict is qualified "
            f"from {100 * OFF_DATA_NOTE:.0f} %; no-mode needs half); ")


def distances(plans: np.ndarray, ref: np.ndarray, scale: np.ndarray,
              mask: np.ndarray | None = None) -> np.ndarray:
    """[N] RMS-over-horizon distance (normalised units) of plans [N,H,D] to ref [H,D]; mask [H]
    bool selects the steps compared (padded steps of a demo past its episode's end excluded)."""
    diff = (plans - ref[None]) * scale
    per_step = np.sqrt((diff ** 2).sum(-1))                      # [N, H]
    if mask is not None:
        per_step = per_step[:, mask]
    return np.sqrt((per_step ** 2).mean(-1)) if per_step.shape[1] else np.full(len(plans), np.nan)


def local_modes(neighbours: np.ndarray | None, *, action_scale: np.ndarray | None = None,
                weights: np.ndarray | None = None, seed: int = 0,
                states: np.ndarray | None = None, query: np.ndarray | None = None
                ) -> LocalModes:
    """Cluster the neighbours' chunks [K, H, D] (action units) into local data modes. weights
    [K] (default equal): how much each neighbour speaks for the query state; a mode's share is
    its members' share of the weight (see state_weights). states [K, F] and query [F] (the
    neighbours' and the query's normalised states): where they predict the mode on held-out
    neighbours, the shares are the ones predicted at the query (conditional_shares)."""
    if neighbours is None or len(neighbours) == 0:
        return LocalModes(np.zeros((0, 0, 0)), np.zeros(0), np.zeros(0), 0)
    chunks = np.asarray(neighbours, dtype=np.float64)
    k, _, d = chunks.shape
    scale = np.ones(d) if action_scale is None else np.asarray(action_scale, np.float64)
    reading = analyze_modes(chunks, seed=seed)
    finite = np.isfinite(chunks).reshape(k, -1).all(axis=1)
    groups = [c.members for c in reading.clusters] or [np.flatnonzero(finite)]
    if action_scale is not None:      # MIN_MODE_GAP is in normalised units: a split of one
        groups = merge_close(groups, chunks, scale)    # motion is not two modes
    means = np.stack([chunks[g].mean(axis=0) for g in groups])
    w = np.ones(k) if weights is None else np.asarray(weights, np.float64).reshape(k)
    w = np.where(finite, w, 0.0)
    shares = np.asarray([w[g].sum() for g in groups]) / max(float(w.sum()), 1e-12)
    effective = float(w.sum() ** 2 / max(float((w ** 2).sum()), 1e-12))
    conditional, note = None, ""
    if states is not None and query is not None and len(groups) >= 2:
        conditional, note = conditional_fit(groups, states, query, w, seed=seed)
        if conditional is not None:
            shares = conditional
    spread = np.asarray([np.sqrt(np.mean(distances(chunks[g], m, scale) ** 2))
                         for g, m in zip(groups, means)])
    radius = np.maximum(RADIUS_SPREAD * spread, RADIUS_FLOOR)
    if len(means) > 1:
        gaps = np.stack([distances(means, m, scale) for m in means])     # [M, M]
        np.fill_diagonal(gaps, np.inf)
        gap = gaps.min(axis=1)
        radius = np.minimum(np.maximum(radius, RADIUS_GAP_MIN * gap), RADIUS_GAP * gap)
    return LocalModes(means, shares, radius, k, effective, wilson_lower(shares, effective),
                      conditional is not None, [np.asarray(g) for g in groups], note,
                      chunks, chunk_reach(chunks, scale))


def with_given_shares(local: LocalModes, labels: list[str], given: dict[str, float]
                      ) -> LocalModes:
    """The local modes judged against given data-wide shares (`--data-shares`): mode i is named
    labels[i] (its neighbours' recorded mode label), its share is given[label] split among the
    local modes of that label, renormalised over the labels present here (a label absent from
    `given` weighs 0)."""
    if len(local.shares) == 0:
        return local
    count = {lab: labels.count(lab) for lab in set(labels)}
    raw = np.asarray([given.get(lab, 0.0) / count[lab] for lab in labels], np.float64)
    if raw.sum() <= 0:
        return local
    shares = raw / raw.sum()
    return LocalModes(local.means, shares, local.radius, local.num_neighbours, local.effective,
                      wilson_lower(shares, local.effective), False, local.groups,
                      "given shares (--data-shares) split among the local modes of each label",
                      local.chunks, local.reach)


def label_samples(samples: np.ndarray, local: LocalModes, scale: np.ndarray) -> list[str]:
    """[N] local mode name of each sample ("" = no mode, or non-finite): the mode whose mean
    chunk it lies within the radius of, else the mode of the nearest neighbour's chunk when the
    sample lies within local.reach of it (it does what one demonstration does there;
    planners.local_membership), else none."""
    return membership(samples, local, scale)[0]


def membership(samples: np.ndarray, local: LocalModes, scale: np.ndarray
               ) -> tuple[list[str], np.ndarray]:
    """(label_samples' labels [N], [N] bool: within a mode mean's radius)."""
    if not len(local.shares):
        return [""] * len(samples), np.zeros(len(samples), bool)
    samples = np.asarray(samples, np.float64)
    d = np.stack([distances(samples, m, scale) for m in local.means], axis=1)   # [N, M]
    d = np.where(np.isfinite(d), d, np.inf)
    nearest = d.argmin(axis=1)
    inside = d[np.arange(len(samples)), nearest] <= local.radius[nearest]
    by_mean = inside.copy()
    if local.reach > 0 and len(local.chunks) == local.num_neighbours and local.groups:
        mode, dist = nearest_chunk(samples, local.chunks, local.member, scale)
        on_data = ~inside & (mode >= 0) & (dist <= local.reach)
        nearest = np.where(on_data, mode, nearest)
        inside = inside | on_data
    names = local.names
    return [names[j] if ok else "" for j, ok in zip(nearest, inside)], by_mean


def frame_metrics(samples: np.ndarray, demo: np.ndarray, local: LocalModes, *,
                  action_scale: np.ndarray | None = None, demo_mask: np.ndarray | None = None,
                  latency_ms: float = float("nan"), seed: int = 0) -> FrameMetrics:
    """Metrics of samples [N, H, D] (action units) at a frame whose demonstrated chunk is demo
    [H, D] (demo_mask [H]: steps that exist in the episode) and whose local data is `local`."""
    plans = np.asarray(samples, dtype=np.float64)
    n, h, d = plans.shape
    scale = np.ones(d) if action_scale is None else np.asarray(action_scale, np.float64)
    demo = np.asarray(demo, dtype=np.float64)[:h]
    mask = None if demo_mask is None else np.asarray(demo_mask, bool)[:h]
    finite = np.isfinite(plans).reshape(n, -1).all(axis=1)
    good = plans[finite]
    nan = float("nan")
    if len(good):
        dist = distances(good, demo, scale, mask)
        nearest, to_mean = float(dist.min()), float(distances(good.mean(0)[None], demo, scale,
                                                              mask)[0])
        spread = float((good * scale).std(axis=0).mean())
    else:
        nearest = to_mean = spread = nan
    labels, by_mean = membership(plans, local, scale)
    if local.no_reading:        # too few neighbours: no verdict against them
        return _no_reading(plans, finite, nearest, to_mean, spread, local, latency_ms)
    sparse = unsupported(float(distances(local.chunks, demo, scale, mask).min())) \
        if len(local.chunks) and np.isfinite(demo).all() else ""
    if sparse:                  # no neighbour near what this frame's demonstration does
        return _no_reading(plans, finite, nearest, to_mean, spread, local, latency_ms, sparse)
    data_shares = dict(zip(local.names, local.shares.tolist()))
    refs = dict(zip(local.names, local.means)) if len(local.shares) >= 2 else None
    reading = analyze_modes(plans, labels=labels if len(local.shares) else None,
                            data_shares=data_shares or None, mode_refs=refs, seed=seed,
                            data_source=f"the {local.num_neighbours} nearest frames")
    scale_reading = reading           # the signed averaging scale (Modes dock), kept either way
    if reading.verdict == "averaging" and (reading.off_mode_share or 0.0) < NO_MODE_SHARE \
            and by_mean[finite].mean() < 0.5:
        # averaging by score alone, though most plans lie on a demonstration's own chunk and
        # not near any mode's mean: "between the mean chunks" (of modes that mix phases and
        # placements, which no demonstration performs) is not averaging there; read again
        # without the betweenness against the means (20-episode export, episode 0 frame 10:
        # every plan on a neighbour's chunk read "averaging, score 1.00"). Plans within the
        # means' radii keep the rule (a regression average at a first frame).
        reading = analyze_modes(plans, labels=labels, data_shares=data_shares, seed=seed,
                                data_source=f"the {local.num_neighbours} nearest frames")
    counts = {name: sum(lab == name for lab, ok in zip(labels, finite) if ok)
              for name in local.names}
    valid = max(int(finite.sum()), 1)
    major = local.major
    hit = [m for m in major if counts[m] / valid >= COLLAPSE_SHARE] if len(good) else []
    missed = [s for m, s in zip(local.names, local.shares)
              if m in major and m not in hit]
    off = sum(1 for lab, ok in zip(labels, finite) if ok and lab == "") / valid
    verdict = reading.verdict
    if verdict == "averaging" and len(local.shares) - len(local.not_here) < 2:
        verdict = "no-mode"      # one local mode: nothing to sit between; the plans left it
    lower = dict(zip(local.names, local.lower.tolist())) if len(local.lower) else {}
    unsure = ""
    missed_names = [m for m in major if m not in hit]
    if verdict == "collapsed" and lower and missed_names and not any(
            lower.get(m, 0.0) >= MAJOR_SHARE for m in missed_names):
        # the data may not hold the missed mode here: its share's lower bound is under 10 %
        verdict = "unimodal"
        worst = max(missed_names, key=lambda m: lower.get(m, 0.0))
        unsure = (f"one mode of the local data; the other ({worst}, share "
                  f"{dict(zip(local.names, local.shares.tolist())).get(worst, 0.0):.0%}) is "
                  f"not credibly >= {MAJOR_SHARE:.0%} here (lower bound "
                  f"{lower.get(worst, 0.0):.0%} of {local.effective:.1f} effective neighbours)")
    if verdict == "collapsed" and local.state_conditional and len(good):
        # the fit says this state decides the mode, and this frame's own demonstration (the data
        # AT the state, not near it) lies in the mode the plans reach: a collapse claim rests on
        # a fit over other states (40-episode export: neighbours 0.5-2.5 state units away, the
        # fit gave the other grasp 75 % while the demonstration and every plan took this one)
        own = label_samples(demo[None], local, scale)[0]
        if own and own in hit:
            verdict = "unimodal"
            unsure = (f"the state decides the mode here (the fit), and this frame's own "
                      f"demonstration is in {own}, where the plans are; the fit's "
                      f"{max(missed):.0%} for the missed mode rests on other states")
    off_share = off if local.num_neighbours and len(good) else nan
    reason = reading.reason if verdict == reading.verdict else unsure or \
        f"the plans leave the one local data mode ({reading.reason})"
    if verdict_label(verdict, off_share) != verdict:
        reason = off_data_note(off_share) + reason
    return FrameMetrics(
        demo_dist_nearest=nearest, demo_dist_mean=to_mean,
        sample_modes=float(getattr(reading, "shape_clusters", reading.num_clusters)) if len(good)
        else nan,
        data_modes=float(len(local.shares)) if local.num_neighbours else nan,
        coverage=len(hit) / len(major) if major else nan,
        missed_share=float(max(missed)) if missed else (0.0 if major else nan),
        averaging=nan if scale_reading.averaging_score is None else
        float(scale_reading.averaging_score),
        off_data_share=off_share,
        spread=spread, nonfinite=float(n - finite.sum()),
        collapsed=int(verdict == "collapsed"), averaged=int(verdict == "averaging"),
        off_data=int(verdict == "no-mode"), invalid=int(verdict == "invalid"),
        latency_ms=float(latency_ms), verdict=verdict, reason=reason, hit=hit,
        positions=getattr(scale_reading, "averaging_positions", None),
        pair=getattr(scale_reading, "averaging_pair", None))


def _no_reading(plans: np.ndarray, finite: np.ndarray, nearest: float, to_mean: float,
                spread: float, local: LocalModes, latency_ms: float, why: str = ""
                ) -> FrameMetrics:
    """FrameMetrics of a frame with too few neighbours (0 < K < MIN_NEIGHBOURS) or none near its
    demonstrated chunk (why): the distances to the demonstrated chunk and the spread, no mode
    reading (NaN) and verdict "no-reading"."""
    nan = float("nan")
    n = len(plans)
    return FrameMetrics(
        demo_dist_nearest=nearest, demo_dist_mean=to_mean, sample_modes=nan, data_modes=nan,
        coverage=nan, missed_share=nan, averaging=nan, off_data_share=nan, spread=spread,
        nonfinite=float(n - finite.sum()), collapsed=0, averaged=0, off_data=0,
        invalid=int(not finite.any()), latency_ms=float(latency_ms),
        verdict="no-reading" if finite.any() else "invalid",
        reason=(why or local.no_reading) if finite.any() else f"all {n} plans hold NaN/inf values")


def frame_seed(seed: int, episode: int, frame: int) -> int:
    """The sampling seed of one frame: a function of (base seed, episode, frame) only (the same
    formula as app.core.scan.config.frame_seed, pinned by a test), so a scan with --seed S and
    `planscope sample --data DS --episode E --frame F --seed S` draw the same noise there."""
    return int(np.random.SeedSequence([int(seed), int(episode), int(frame)]).generate_state(1)[0])


def frame_noise(seed: int, episode: int, frame: int, num: int, horizon: int, action_dim: int
                ) -> tuple[int, np.ndarray]:
    """(the frame's sampling seed, initial noise [num, horizon, action_dim] float32, normalised
    units) of a diffusion policy at one recorded frame: the scan's and the inspector's."""
    fs = frame_seed(seed, episode, frame)
    noise = np.random.default_rng(fs).standard_normal((num, horizon, action_dim))
    return fs, noise.astype(np.float32)


def frame_local_modes(neighbours: np.ndarray | None, state_distances: np.ndarray | None, *,
                      action_scale: np.ndarray | None, states: np.ndarray | None = None,
                      query: np.ndarray | None = None, seed: int = 0) -> LocalModes:
    """THE local data modes of one recorded frame, as the scan and the dataset inspector read
    them: the neighbours' chunks [K, H, D] clustered, weighted by their state distances [K]
    (state_weights), their shares read at the query state [F] from the neighbours' states
    [K, F] where the CV test says the state predicts the mode (conditional_fit), else the plain
    weighted shares. One recipe, so the two never disagree at a frame."""
    d = None if state_distances is None else np.asarray(state_distances, np.float64)
    return local_modes(neighbours, action_scale=action_scale, seed=seed,
                       weights=state_weights(d) if d is not None and len(d) else None,
                       states=states, query=query)


@dataclass
class FrameReading:
    """One policy's plans at one frame read against the local data modes (read_frame).
    labels [N] local mode per plan ("" = none); shares {mode: share of the finite plans} and
    intervals {mode: (low, high)} their 95 % Wilson intervals; shares_in_modes: share among the
    plans in some mode; data_shares {mode: the local data's share} and data_intervals (95 %,
    LocalModes.intervals); compared_against: LocalModes.describe (also ends metrics.reason)."""
    local: LocalModes
    metrics: FrameMetrics
    labels: list[str]
    shares: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    shares_in_modes: dict[str, float]
    data_shares: dict[str, float]
    data_intervals: dict[str, tuple[float, float]]
    compared_against: str


def read_frame(samples: np.ndarray, demo: np.ndarray, local: LocalModes, *,
               action_scale: np.ndarray | None = None, demo_mask: np.ndarray | None = None,
               data_name: str = "the data", latency_ms: float = float("nan"), seed: int = 0
               ) -> FrameReading:
    """frame_metrics plus the shares it judged, with intervals, and the text naming what it
    compared against (appended to the reason): the dataset inspector's whole reading."""
    from planners.mode_verdicts import wilson

    plans = np.asarray(samples, np.float64)
    d = plans.shape[2]
    scale = np.ones(d) if action_scale is None else np.asarray(action_scale, np.float64)
    metrics = frame_metrics(plans, demo, local, action_scale=scale, demo_mask=demo_mask,
                            latency_ms=latency_ms, seed=seed)
    labels = label_samples(plans, local, scale)
    finite = np.isfinite(plans).reshape(len(plans), -1).all(axis=1)
    valid = int(finite.sum())
    counts = {m: sum(1 for lab, ok in zip(labels, finite) if ok and lab == m)
              for m in local.names}
    shares = {m: c / max(valid, 1) for m, c in counts.items()}
    intervals = {m: wilson(c, valid) for m, c in counts.items()}
    moded = max(sum(counts.values()), 1)
    against = local.describe(data_name)
    metrics.reason = f"{metrics.reason} [against {against}]"
    return FrameReading(local, metrics, labels, shares, intervals,
                        {m: c / moded for m, c in counts.items()},
                        dict(zip(local.names, (float(s) for s in local.shares))),
                        {m: (float(lo), float(hi)) for m, (lo, hi)
                         in zip(local.names, local.intervals)}, against)


def compare(a: FrameMetrics, b: FrameMetrics) -> dict[str, float]:
    """How policy B differs from A at one frame (same local modes, same noise): modes_lost
    (major local modes A reached and B does not), modes_gained, demo_dist_change (B - A),
    spread_change (B - A), averaging_started (+1 B started averaging, -1 stopped, 0 same)."""
    return {"modes_lost": float(len(set(a.hit) - set(b.hit))),
            "modes_gained": float(len(set(b.hit) - set(a.hit))),
            "demo_dist_change": b.demo_dist_nearest - a.demo_dist_nearest,
            "spread_change": b.spread - a.spread,
            "averaging_started": float(b.averaged - a.averaged)}


def timed(fn, *args, **kwargs):
    """(result, milliseconds) of one call: the latency the scan records per frame."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, (time.perf_counter() - start) * 1000.0
