"""Events: what happened at one control step. Shared by scenes (which raise them), the recording
format (which stores them) and the review views (which mark them on the timeline)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EVENT_TYPES = ("contact", "joint_limit", "replan", "timeout", "success")


@dataclass(frozen=True)
class Event:
    """kind: one of EVENT_TYPES; step: control step index in the rollout; bodies: names of the
    bodies involved (contact: e.g. ("panda", "mug")); detail: extra JSON-serialisable facts."""
    kind: str
    step: int
    bodies: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)
