"""What an evaluation runs: policies × seed panel × perturbation grid, and how each rollout runs.

The job list is deterministic: seed-major, then perturbation (nominal first), then policy. Seed-major
order means a run stopped early (Ctrl+C) still holds every policy on the same seeds, and the
nominal rollout of a (policy, seed) always precedes its perturbed ones, which the failure labeller
relies on ("success lost only under delay" needs the nominal outcome).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from recordings.errors import UserFacingError

# Perturbation keys the scenes understand (scenes/ validates values; this list gives early,
# one-line errors before any worker starts).
PERTURBATION_KEYS = ("obs_noise", "delay", "action_noise", "pose_shift", "friction", "mass")
NOMINAL = "nominal"


class EvalConfigError(UserFacingError):
    """Bad evaluation arguments (seeds, perturbations, policies, output path)."""


def parse_seeds(text: str) -> list[int]:
    """'0:100' -> 0..99; '3,5,9' -> [3, 5, 9]; '7' -> [7]. Raises EvalConfigError naming the text."""
    text = text.strip()
    try:
        if ":" in text:
            lo, hi = (int(part) for part in text.split(":"))
            seeds = list(range(lo, hi))
        else:
            seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise EvalConfigError(f"--seeds {text!r}: expected A:B (e.g. 0:100) or a comma list "
                              f"of non-negative integers") from None
    if not seeds or min(seeds) < 0:
        raise EvalConfigError(f"--seeds {text!r}: the panel is empty or has a negative seed "
                              f"(A:B means A, A+1, ..., B-1)")
    if len(set(seeds)) != len(seeds):
        raise EvalConfigError(f"--seeds {text!r}: seeds repeat")
    return seeds


def _parse_value(key: str, raw: str) -> Any:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvalConfigError(f"--perturb {key}={raw}: value must be a number")
    return value


def parse_perturbation(text: str) -> dict[str, Any]:
    """'obs_noise=0.01' -> {'obs_noise': 0.01}; 'delay=2,obs_noise=0.01' -> one combined cell."""
    cell: dict[str, Any] = {}
    for part in text.strip().split(","):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise EvalConfigError(f"--perturb {text!r}: expected KEY=VALUE, keys: "
                                  f"{', '.join(PERTURBATION_KEYS)}")
        if key not in PERTURBATION_KEYS:
            raise EvalConfigError(f"--perturb {text!r}: unknown perturbation {key!r}; valid: "
                                  f"{', '.join(PERTURBATION_KEYS)}")
        cell[key] = _parse_value(key, raw.strip())
    return cell


def perturbation_name(cell: dict[str, Any]) -> str:
    """Stable display name: 'nominal' or 'delay=2,obs_noise=0.01' (keys sorted)."""
    if not cell:
        return NOMINAL
    return ",".join(f"{k}={json.dumps(cell[k])}" for k in sorted(cell))


@dataclass(frozen=True)
class RolloutSettings:
    """How every rollout of a run is executed (identical for all policies).

    record_samples: N plans sampled (and recorded) at each replan; the executed chunk is Ta
    waypoints of sample `executed_index` from the policy's spec.action_start (Ta = its
    n_action_steps, else `action_steps`; planners.protocol.executed_window). max_steps: control steps before the runner
    stops a rollout the scene did not end (10 Hz, so 200 = 20 s). Every replan keeps what replays
    its samples (seed, solver, steps, temperature, initial noise [N, H, D]); record_noise adds
    DDPM's step noise [S-1, N, H, D] so any subset of samples replays exactly."""
    scene: str
    scene_options: dict = field(default_factory=dict)
    record_samples: int = 16
    record_chain: bool = False
    record_noise: bool = False  # DDPM's per-step noise too (~S x the samples); see runner
    solver: str = ""            # "" = the planner's default
    steps: int = 0              # 0 = the planner's default
    temperature: float = 1.0
    action_steps: int = 8       # Ta
    executed_index: int = 0
    max_steps: int = 200


@dataclass(frozen=True)
class RolloutJob:
    """One rollout to run: `index` is its position in the deterministic job order."""
    index: int
    policy_index: int
    policy: str          # display label (unique within the run)
    policy_ref: str      # DIR or module:attr, as the planner loader takes it
    seed: int
    perturbation: dict
    perturbation_name: str

    @property
    def key(self) -> tuple[str, str, int]:
        """Identity used by --resume: (policy label, perturbation name, seed)."""
        return (self.policy, self.perturbation_name, self.seed)


@dataclass
class EvalConfig:
    """The full evaluation request; stored verbatim (as JSON) in the artifact."""
    policies: list[str]                      # refs, baseline first, candidate last
    seeds: list[int]
    perturbations: list[dict]                # the grid; element 0 is always nominal {}
    settings: RolloutSettings
    policy_labels: list[str] = field(default_factory=list)
    accept_metric: str = "success"
    min_improvement: float = 0.10
    data_reference: dict = field(default_factory=dict)   # {"shares", "source"}: --data / --data-shares

    def __post_init__(self) -> None:
        if not self.policies:
            raise EvalConfigError("give at least one --policy")
        if not self.perturbations or self.perturbations[0]:
            self.perturbations = [{}] + [p for p in self.perturbations if p]
        names = [perturbation_name(p) for p in self.perturbations]
        if len(set(names)) != len(names):
            raise EvalConfigError(f"--perturb cells repeat: {names}")
        if self.settings.record_samples < 1:
            raise EvalConfigError("--record-samples must be >= 1")
        if not 0 <= self.settings.executed_index < self.settings.record_samples:
            raise EvalConfigError("the executed sample index must be < --record-samples")
        if not self.policy_labels:
            self.policy_labels = unique_labels(self.policies)

    @property
    def perturbation_names(self) -> list[str]:
        return [perturbation_name(p) for p in self.perturbations]

    def jobs(self) -> list[RolloutJob]:
        """Every rollout of the run in its fixed order (seed, perturbation, policy)."""
        out: list[RolloutJob] = []
        for seed in self.seeds:
            for cell in self.perturbations:
                for p, ref in enumerate(self.policies):
                    out.append(RolloutJob(len(out), p, self.policy_labels[p], ref, seed,
                                          dict(cell), perturbation_name(cell)))
        return out

    def to_json(self) -> dict:
        return {"policies": list(self.policies), "policy_labels": list(self.policy_labels),
                "seeds": list(self.seeds), "perturbations": [dict(p) for p in self.perturbations],
                "perturbation_names": self.perturbation_names, "settings": asdict(self.settings),
                "accept_metric": self.accept_metric, "min_improvement": self.min_improvement,
                "data_reference": dict(self.data_reference)}

    @classmethod
    def from_json(cls, data: dict) -> "EvalConfig":
        return cls(policies=list(data["policies"]), seeds=[int(s) for s in data["seeds"]],
                   perturbations=[dict(p) for p in data["perturbations"]],
                   settings=RolloutSettings(**data["settings"]),
                   policy_labels=list(data.get("policy_labels", [])),
                   accept_metric=data.get("accept_metric", "success"),
                   min_improvement=float(data.get("min_improvement", 0.10)),
                   data_reference=dict(data.get("data_reference") or {}))


def unique_labels(refs: list[str]) -> list[str]:
    """Short display names for policy refs: the directory's base name or the module:attr text;
    repeated names get '#2', '#3' so every policy stays distinguishable in tables."""
    labels: list[str] = []
    for ref in refs:
        if ":" in ref and "/" not in ref.split(":")[0]:
            base = ref.rsplit(":", 1)[-1]           # module:attr -> attr
        else:
            base = ref.rstrip("/").rsplit("/", 1)[-1]   # checkpoint dir -> its name
        label, k = base, 2
        while label in labels:
            label, k = f"{base}#{k}", k + 1
        labels.append(label)
    return labels
