"""Shares with intervals, the signed averaging position, and the verdict of a mode reading.

Used by planners.modes.analyze_modes (see docs/mode-analysis.md for what each number means).

- Interval: Wilson score interval at 95 % (z = 1.96) for every share k / n of the n finite plans.
  Wilson, not the normal approximation: it stays inside [0, 1] and is honest at k = 0 (0 of 256
  plans -> 0 .. 1.5 %, 0 of 16 -> 0 .. 19 %).
- Verdict, checked in this order (the first that holds wins):
    invalid               no plan is finite
    out-of-distribution   the observation lies outside the training range (a verdict against
                          the data would be a guess there)
    averaging / no-mode   >= NO_MODE_MAX of plans reach none of the data's modes: `averaging` when
                          most of those sit between two modes (or no reference plans exist to
                          tell), else `no-mode`
    averaging             mean betweenness (averaging score) >= AVERAGING_MIN
    collapsed             a data mode with >= MAJOR_DATA_SHARE of the data gets < COLLAPSE_SHARE of
                          plans and its interval's upper end is below the data's share
    unimodal-as-data      the data has one mode (modes under NEGLIGIBLE_DATA_SHARE not counted,
                          unless the plans are skewed against the one that is left)
    skewed                every common mode present, but a share differs from the data's by more
                          than SKEW_MARGIN and the data's share lies outside its interval
    multimodal            otherwise
  Without labels (clusters only): multimodal (k >= 2), unimodal-as-data, collapsed (one cluster,
  data with >= 2 modes) or unimodal (nothing to compare with).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

Z95 = 1.959964              # two-sided 95 % normal quantile
INTERVAL = "95% Wilson interval"
MAJOR_DATA_SHARE = 0.10     # a data mode this common must not vanish ...
COLLAPSE_SHARE = 0.02       # ... i.e. get fewer than this share of plans
SKEW_MARGIN = 0.25          # |plan share - data share| beyond this (and beyond the interval): skewed
NEGLIGIBLE_DATA_SHARE = 0.05  # a data mode under this share is listed but not judged: never named
                            # as the largest gap, not counted among the modes present, and the
                            # data counts as unimodal when one mode is left (at a recorded frame
                            # the state-conditional fit gives a grasp the hand has turned away
                            # from ~0 %: "m0 gets 0 % of plans against 0 %" was the reason)
NO_MODE_MAX = 0.5           # this share of plans in no data mode: averaging / no-mode
AVERAGING_MIN = 0.5         # averaging score that means "plans between modes"
BETWEEN_FULL = 0.3          # a plan this far (share of the modes' separation) from both modes is fully between
BETWEEN_MIN = 0.5           # betweenness from which one plan counts as between (15 % .. 85 % of the way)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval (low, high) of the proportion k / n; (0, 1) when n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class ModeShare:
    """One row of the reading: mode name ("" = no mode), plans in it (count of n finite plans),
    share = count / n with its Wilson interval (low, high), and the data's share (None when the
    mode is not a data mode, e.g. the no-mode row)."""
    mode: str
    count: int
    n: int
    share: float
    low: float
    high: float
    data_share: float | None = None

    def to_json(self) -> dict:
        return {"mode": self.mode, "count": self.count, "share": round(self.share, 4),
                "interval": [round(self.low, 4), round(self.high, 4)],
                "data_share": None if self.data_share is None else round(self.data_share, 4)}

    def text(self) -> str:
        """'left 46 % (40-52 %) vs data 52 %'."""
        data = "" if self.data_share is None else f" vs data {self.data_share:.0%}"
        return f"{self.mode or '(no mode)'} {self.share:.0%} ({self.low:.0%}-{self.high:.0%}){data}"


def share_rows(labels: Sequence[str], data_shares: Mapping[str, float],
               modes: Sequence[str] = ()) -> tuple[list[ModeShare], ModeShare]:
    """Rows for every data mode (0 plans included), then every other known mode, then every
    other label seen; and the no-mode row (label ""). labels: of the finite plans only."""
    n = len(labels)
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    order = list(data_shares) + [m for m in modes if m not in data_shares]
    order += sorted(k for k in counts if k and k not in order)
    rows = []
    for mode in order:
        k = counts.get(mode, 0)
        rows.append(ModeShare(mode, k, n, k / n if n else 0.0, *wilson(k, n),
                              data_share=float(data_shares[mode]) if mode in data_shares else None))
    k = counts.get("", 0)
    return rows, ModeShare("", k, n, k / n if n else 0.0, *wilson(k, n))


def coarsen(labels: list[str], data_shares: dict[str, float], modes: Sequence[str]
            ) -> tuple[list[str], dict[str, float], list[str], str]:
    """Compare plans too short to decide the whole mode on the part they do decide.

    A label that is a proper prefix of the (equal-length) mode names (obstacle_reach rows=2:
    "L" for a plan that ends before the second row; scene.label_mode(path, partial=True)) means
    "one of the modes starting so". When any plan carries one, every label and the data's shares
    are cut to the shortest such prefix, and the note says so. Returns (labels, data_shares,
    modes, note); unchanged with note "" when no label is partial."""
    known = list(dict.fromkeys([*data_shares, *modes]))
    lengths = {len(m) for m in known}
    partial = {lab for lab in labels if lab and lab not in known and len(lengths) == 1
               and any(m.startswith(lab) and len(m) > len(lab) for m in known)}
    if not partial:
        return labels, data_shares, list(modes), ""
    depth = min(len(p) for p in partial)
    full = lengths.pop()

    def cut(lab: str) -> str:
        return lab[:depth] if lab and (lab in known or lab in partial or
                                       any(m.startswith(lab) for m in known)) else lab

    groups: dict[str, list[str]] = {}
    for m in known:
        groups.setdefault(m[:depth], []).append(m)
    coarse_data: dict[str, float] = {}
    for m, v in data_shares.items():
        coarse_data[m[:depth]] = coarse_data.get(m[:depth], 0.0) + float(v)
    short = sum(1 for lab in labels if lab in partial) / max(len(labels), 1)
    legend = ", ".join(f"{g} = {'|'.join(ms)}" for g, ms in groups.items())
    note = (f"{short:.0%} of plans end before the mode is decided: compared on its first "
            f"{depth} of {full} decisions ({legend})")
    return [cut(lab) for lab in labels], coarse_data, list(groups), note


def averaging_positions(feats: np.ndarray, refs: Sequence[np.ndarray], pair: tuple[int, int]
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where plans sit between reference modes. feats [M, F]; refs list of [F]; pair (a, b):
    indices of the two modes of the signed scale (0 = at a, 1 = at b).

    Returns (position [M] on the a->b scale, NaN when the plan lies farther from that segment
    than half the modes' separation; betweenness [M] in [0, 1] against each plan's two nearest
    references: min(lam, 1-lam) / BETWEEN_FULL clipped, 0 off the segment; between [M] bool,
    betweenness >= BETWEEN_MIN)."""
    r = np.stack(refs)
    a, b = r[pair[0]], r[pair[1]]
    ab = b - a
    denom = max(float(ab @ ab), 1e-12)
    lam = (feats - a) @ ab / denom
    perp = np.linalg.norm(feats - (a + lam[:, None] * ab), axis=-1)
    position = np.where(perp <= 0.5 * math.sqrt(denom), lam, np.nan)
    d2 = ((feats[:, None, :] - r[None]) ** 2).sum(-1)
    two = np.argsort(d2, axis=1)[:, :2]
    na, nb = r[two[:, 0]], r[two[:, 1]]
    nab = nb - na
    ndenom = np.maximum((nab ** 2).sum(-1), 1e-12)
    nlam = ((feats - na) * nab).sum(-1) / ndenom
    nperp = np.linalg.norm(feats - (na + nlam[:, None] * nab), axis=-1)
    between = np.clip(np.minimum(nlam, 1.0 - nlam) / BETWEEN_FULL, 0.0, 1.0)
    between = np.where(nperp <= 0.5 * np.sqrt(ndenom), between, 0.0)
    return position, between, between >= BETWEEN_MIN


def verdict(r) -> tuple[str, str]:
    """(verdict, one-line reason) of a ModeAnalysis `r` (see the module docstring)."""
    if r.num_valid == 0:
        return "invalid", f"all {r.num_samples} plans hold NaN/inf values"
    bad = f" ({int(r.nonfinite.sum())} non-finite plans ignored)" if r.nonfinite.any() else ""
    note = f"; {r.resolution_note}" if r.resolution_note else ""
    source = r.reference or "the data"
    data = {k: v for k, v in r.data_shares.items() if v > 0}
    if r.out_of_range:
        more = f" and {len(r.out_of_range) - 1} more" if len(r.out_of_range) > 1 else ""
        reading = (f"{r.off_mode_share:.0%} of plans reach none of the data's modes"
                   if r.off_mode_share is not None else f"{r.num_clusters} plan cluster(s)")
        return "out-of-distribution", (f"the observation is outside the training range: "
                                       f"{r.out_of_range[0]}{more}; {reading}; no verdict against "
                                       f"{source} here{bad}")
    if r.labels is not None and data:
        return _labelled(r, data, source, bad, note)
    return _clusters_only(r, data, bad)


def _position_text(r) -> str:
    if r.averaging_position is None or r.averaging_pair is None:
        return ""
    a, b = r.averaging_pair
    return f", at {r.averaging_position:.2f} from {a!r} (0) to {b!r} (1)"


def _labelled(r, data: dict[str, float], source: str, bad: str, note: str) -> tuple[str, str]:
    rows = {row.mode: row for row in r.modes}
    no_mode = r.off_mode_share or 0.0
    if no_mode >= NO_MODE_MAX:
        if r.between_no_mode is None:
            return "averaging", (f"{no_mode:.0%} of plans reach none of the modes of {source} (no "
                                 f"reference plans to tell between-modes from elsewhere){bad}{note}")
        if r.between_no_mode >= 0.5:
            return "averaging", (f"{no_mode:.0%} of plans reach none of the modes of {source}; "
                                 f"{r.between_no_mode:.0%} of those sit between two modes"
                                 f"{_position_text(r)}{bad}{note}")
        return "no-mode", (f"{no_mode:.0%} of plans reach none of the modes of {source}, and only "
                           f"{r.between_no_mode:.0%} of those sit between two modes: no mode "
                           f"reached{bad}{note}")
    if r.averaging_score is not None and r.averaging_score >= AVERAGING_MIN:
        return "averaging", (f"plans sit between the modes of {source} (averaging score "
                             f"{r.averaging_score:.2f}{_position_text(r)}){bad}{note}")
    missing = [m for m, q in data.items() if q >= MAJOR_DATA_SHARE and rows[m].share < COLLAPSE_SHARE
               and rows[m].high < q]
    if missing:
        m = max(missing, key=lambda k: data[k])
        row = rows[m]
        return "collapsed", (f"mode {m!r} holds {data[m]:.0%} of {source} but {row.share:.1%} of plans "
                             f"({row.count} of {row.n}; {INTERVAL} {row.low:.1%}-{row.high:.1%}){bad}{note}")
    judged = {m: q for m, q in data.items() if q >= NEGLIGIBLE_DATA_SHARE} or data
    rare = [m for m in data if m not in judged]
    unjudged = (f"; not judged: {', '.join(repr(m) for m in rare)} (under "
                f"{100 * NEGLIGIBLE_DATA_SHARE:.0f} % of {source})") if rare else ""
    # the judged mode farthest from its data share; on a tie (two modes) the one that lost plans
    worst = max(judged, key=lambda m: (round(abs(rows[m].share - judged[m]), 9),
                                       rows[m].share < judged[m]))
    row, q = rows[worst], data[worst]
    gap = row.share - q
    numbers = (f"mode {worst!r} gets {row.share:.0%} of plans ({INTERVAL} {row.low:.0%}-{row.high:.0%}) "
               f"against {q:.0%} in {source}")
    skewed = abs(gap) > SKEW_MARGIN and not (row.low <= q <= row.high)
    if len(data) == 1 or (len(judged) == 1 and not skewed):
        m = next(iter(judged))
        return "unimodal-as-data", (f"one mode ({m!r}) in {source}, and {rows[m].share:.0%} of "
                                    f"plans are in it{unjudged}{bad}{note}")
    if skewed:
        return "skewed", (f"{numbers}: off by {100 * gap:+.0f} points, beyond the "
                          f"{100 * SKEW_MARGIN:.0f}-point margin{unjudged}{bad}{note}")
    hit = sum(1 for m in judged if rows[m].count > 0)
    return "multimodal", (f"{hit} of {len(judged)} data modes present; largest gap: {numbers} "
                          f"({100 * gap:+.0f} points, within the {100 * SKEW_MARGIN:.0f}-point margin)"
                          f"{unjudged}{bad}{note}")


def _clusters_only(r, data: dict[str, float], bad: str) -> tuple[str, str]:
    if r.averaging_score is not None and r.averaging_score >= AVERAGING_MIN:
        return "averaging", (f"plans sit between the reference modes (averaging score "
                             f"{r.averaging_score:.2f}{_position_text(r)}){bad}")
    if r.labels is not None:     # labels but no data shares: the labelled modes are the clusters
        named = [c for c in r.clusters if c.label]
        shares = ", ".join(f"{c.label} {c.share:.0%}" for c in named) or "none"
        kind = "multimodal" if len(named) >= 2 else "unimodal"
        return kind, f"{len(named)} labelled mode(s) among the plans ({shares}); no data shares to compare with{bad}"
    if r.num_clusters >= 2:
        shares = ", ".join(f"{c.share:.0%}" for c in r.clusters)
        return "multimodal", f"{r.num_clusters} well-separated plan clusters ({shares}); no labels{bad}"
    if len(data) == 1:
        return "unimodal-as-data", f"one plan cluster, and the data has one mode{bad}"
    if len(data) >= 2:
        return "collapsed", (f"one plan cluster, but the data has {len(data)} modes "
                             f"({', '.join(data)}); no labels to say which is kept{bad}")
    return "unimodal", f"one plan cluster; no data modes given to compare with{bad}"


def alarm_supported(reading: str, truth_shares: Mapping[str, float], data_shares: Mapping[str, float]) -> bool:
    """Is a `collapsed` / `skewed` reading borne out by shares measured on a much larger sample
    at the same observation (truth_shares {mode: share})? A reading the larger sample does not
    support is a false alarm of the instrument (sampling noise), as opposed to the policy really
    being collapsed or skewed there. Other verdicts return True (nothing to check)."""
    data = {m: float(q) for m, q in data_shares.items() if q > 0}
    gone = any(q >= MAJOR_DATA_SHARE and truth_shares.get(m, 0.0) < COLLAPSE_SHARE for m, q in data.items())
    off = any(abs(truth_shares.get(m, 0.0) - q) > SKEW_MARGIN for m, q in data.items())
    if reading == "collapsed":
        return gone
    if reading == "skewed":
        return gone or off
    return True
