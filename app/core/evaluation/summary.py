"""The evaluation summary: what the report, the Evaluation view and the acceptance rule show.

Built from an eval artifact's summary table and config only (no trace is read), except the
latency histogram, which reads each rollout's small per-replan latency array when asked.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from app.core.evaluation.failure_labels import FAILED_TO_RUN
from app.core.evaluation.stats import wilson

NOMINAL = "nominal"


@dataclass
class Cell:
    """One policy under one perturbation cell."""
    policy: str
    perturbation: str
    n: int                  # rollouts that ran (failed-to-run excluded)
    successes: int
    unsafe_events: int      # sum of unsafe contacts
    unsafe_rollouts: int    # rollouts with >= 1 unsafe contact
    failed_to_run: int
    ci: tuple[float, float]

    @property
    def rate(self) -> float:
        return self.successes / self.n if self.n else math.nan


@dataclass
class EvalSummary:
    path: str
    scene: str
    policies: list[str]                       # labels, baseline first
    perturbations: list[str]                  # names, nominal first
    columns: dict[str, np.ndarray]            # the file's summary table (perturbation -> names)
    partial: bool
    total_jobs: int
    code_version: tuple[str, str]
    config: dict
    modes: list[str]
    data_mode_shares: dict[str, float] | None
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)

    @property
    def num_rollouts(self) -> int:
        return int(len(self.columns.get("id", [])))

    def rows(self, policy: str | None = None, perturbation: str | None = None) -> np.ndarray:
        """Indices of summary rows that match (None = any)."""
        mask = np.ones(self.num_rollouts, dtype=bool)
        if policy is not None:
            mask &= self.columns["policy"] == policy
        if perturbation is not None:
            mask &= self.columns["perturbation"] == perturbation
        return np.flatnonzero(mask)

    def metric(self, name: str) -> np.ndarray:
        col = self.columns.get(name)
        return np.full(self.num_rollouts, math.nan) if col is None else col.astype(np.float64)

    def overall(self, policy: str) -> Cell:
        cells = [self.cells[(policy, p)] for p in self.perturbations if (policy, p) in self.cells]
        n = sum(c.n for c in cells)
        s = sum(c.successes for c in cells)
        return Cell(policy, "all", n, s, sum(c.unsafe_events for c in cells),
                    sum(c.unsafe_rollouts for c in cells), sum(c.failed_to_run for c in cells),
                    wilson(s, n))

    def mode_shares(self, policy: str, perturbation: str = NOMINAL) -> dict[str, float]:
        """Share of each mode among the samples of the first replan (what the policy considered
        from the reset observation), averaged over the policy's rollouts in one cell. 'other'
        collects samples between modes or in no mode."""
        idx = self.rows(policy, perturbation)
        out = {}
        for mode in [*self.modes, "other"]:
            values = self.metric(f"share_{mode}")[idx]
            values = values[np.isfinite(values)]
            out[mode] = float(values.mean()) if values.size else math.nan
        return out

    def worst(self, k: int = 20) -> list[int]:
        """Row indices of the k hardest rollouts, by the review queue's hardness ranking
        (recordings.ranking: failures first, then clearance, mode switches, plan gap, sample
        disagreement) with unsafe contacts weighted in too, so the report and the review screen
        agree on what "worst" means."""
        from recordings.ranking import hardness
        cols = {key: np.asarray(v) for key, v in self.columns.items()}
        return [int(i) for i in hardness(cols, {"contacts": 1.0}).top(k)]

    def failure_counts(self, policy: str) -> dict[str, int]:
        idx = self.rows(policy)
        labels = np.asarray(self.columns["failure_label"])[idx]
        success = np.asarray(self.columns["success"], dtype=bool)[idx]
        out: dict[str, int] = {}
        for lab in labels[~success]:
            out[str(lab) or "unlabelled"] = out.get(str(lab) or "unlabelled", 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def latencies(self, policy: str, limit: int = 2000) -> np.ndarray:
        """[K] per-replan latency (ms) of up to `limit` rollouts of a policy (reads traces)."""
        from recordings.reader import RecordingReader
        out: list[float] = []
        with RecordingReader(self.path) as reader:
            for i in self.rows(policy)[:limit]:
                replans = reader.rollout(int(i)).replans
                out.extend(float(r.latency_ms) for r in replans)
        return np.asarray(out, dtype=np.float64)

    def text_table(self) -> str:
        """Success per policy and perturbation, plain text (printed by `planscope eval`)."""
        width = max(12, *(len(p) for p in self.policies))
        pw = max(12, *(len(p) for p in self.perturbations))
        lines = [f"{'policy':<{width}}  {'perturbation':<{pw}}  {'success':>7}  {'95% CI':<12}  "
                 f"{'unsafe':>6}  {'n':>4}"]
        for policy in self.policies:
            for pert in self.perturbations:
                cell = self.cells.get((policy, pert))
                if cell is None:
                    continue
                lo, hi = cell.ci
                ci = f"[{_pct(lo).strip()}, {_pct(hi).strip()}]"
                line = (f"{policy:<{width}}  {pert:<{pw}}  {_pct(cell.rate):>7}  {ci:<12}  "
                        f"{cell.unsafe_events:>6}  {cell.n:>4}")
                if cell.failed_to_run:
                    line += f"  ({cell.failed_to_run} failed to run)"
                lines.append(line)
        if self.partial:
            lines.append(f"PARTIAL: {self.num_rollouts} of {self.total_jobs} rollouts")
        return "\n".join(lines)


def _pct(x: float) -> str:
    return "  n/a" if x is None or not np.isfinite(x) else f"{100 * x:.0f}%"


def _perturbation_names(columns: dict[str, np.ndarray], grid: list[dict], names: list[str]) -> np.ndarray:
    from recordings.rollout import perturbation_key
    lookup = {perturbation_key(cell): name for cell, name in zip(grid, names)}
    raw = columns.get("perturbation", np.zeros(0, dtype=str))
    out = []
    for text in raw:
        text = str(text)
        if text in lookup:
            out.append(lookup[text])
        else:   # a cell not in this config (older file): name it from its JSON
            cell = json.loads(text) if text else {}
            out.append(",".join(f"{k}={cell[k]}" for k in sorted(cell)) or NOMINAL)
    return np.asarray(out, dtype=str)


def _data_shares(facts: dict) -> dict[str, float] | None:
    """The mode shares to compare with: --data / --data-shares when the run was given them, else
    the training data's as the first policy's checkpoint records them."""
    chosen = (facts.get("data_reference") or {}).get("shares")
    if isinstance(chosen, dict) and chosen:
        return {str(k): float(v) for k, v in chosen.items()}
    for policy in facts.get("policies", []):
        extra = policy.get("extra") or {}
        for key in ("data_mode_shares", "mode_shares", "data_modes"):
            shares = extra.get(key)
            if isinstance(shares, dict) and shares:
                try:
                    return {str(k): float(v) for k, v in shares.items()}
                except (TypeError, ValueError):
                    continue
    return None


def load_summary(path: str) -> EvalSummary:
    """Read an eval artifact's summary (RecordingError for anything that is not one)."""
    from recordings.errors import RecordingError
    from recordings.reader import RecordingReader
    with RecordingReader(path) as reader:
        if reader.kind != "eval" or "eval" not in (reader.config or {}):
            raise RecordingError(f"{reader.path}: not an evaluation artifact (kind "
                                 f"{reader.kind!r}); make one with `planscope eval`")
        columns = {k: np.asarray(v) for k, v in reader.summary.items()}
        config, partial, version = reader.config, reader.partial, reader.code_version
        scene = str(reader.env_args.get("env_name", ""))
        rpath = reader.path
    ev = config["eval"]
    facts = config.get("facts", {})
    columns["perturbation_text"] = columns.get("perturbation", np.zeros(0, dtype=str))
    columns["perturbation"] = _perturbation_names(columns, ev["perturbations"],
                                                  ev["perturbation_names"])
    policies = list(ev["policy_labels"])
    perts = list(ev["perturbation_names"])
    for extra in np.unique(columns["perturbation"]):
        if extra not in perts:
            perts.append(str(extra))
    summary = EvalSummary(path=rpath, scene=scene, policies=policies, perturbations=perts,
                          columns=columns, partial=bool(partial),
                          total_jobs=int(config.get("total_jobs", len(columns["id"]))),
                          code_version=version, config=config,
                          modes=list(facts.get("scene_modes", [])),
                          data_mode_shares=_data_shares(facts))
    contacts = np.nan_to_num(summary.metric("contacts"))
    ftr = np.asarray(columns["failure_label"]) == FAILED_TO_RUN
    success = np.asarray(columns["success"], dtype=bool)
    for policy in policies:
        for pert in perts:
            idx = summary.rows(policy, pert)
            if idx.size == 0:
                continue
            ran = idx[~ftr[idx]]
            s = int(success[ran].sum())
            summary.cells[(policy, pert)] = Cell(
                policy, pert, int(ran.size), s, int(contacts[ran].sum()),
                int((contacts[ran] > 0).sum()), int(ftr[idx].sum()), wilson(s, int(ran.size)))
    return summary
