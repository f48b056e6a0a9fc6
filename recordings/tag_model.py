"""The tag vocabulary shared by the sidecar (recordings/tags.py) and its import/export
(recordings/tags_io.py): the failure taxonomy, a tag record, and the rule for a tag's name.
Kept apart so those two modules depend on it and not on each other."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from recordings.errors import RecordingError

# The shared failure vocabulary, in the GUI's key order (keys 1..8).
TAXONOMY = ("perception", "representation", "dynamics", "planning", "control", "data coverage",
            "timing", "evaluation")
MAX_TAG_LENGTH = 64


@dataclass(frozen=True)
class Tag:
    """id: unique in the sidecar; rollout_id: the rollout's id (summary column "id");
    tag: a TAXONOMY entry or a user-defined name; step: control step, None = whole rollout;
    created: Unix seconds (UTC)."""
    id: int
    rollout_id: int
    tag: str
    step: int | None
    note: str = ""
    author: str = ""
    created: float = 0.0

    @property
    def tag_id(self) -> int:
        return self.id

    @property
    def label(self) -> str:
        return self.tag

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalise_tag(name: str) -> str:
    """Strip and check a tag name; taxonomy names are matched case-insensitively."""
    text = " ".join(str(name).split())
    if not text:
        raise RecordingError("a tag name cannot be empty")
    if len(text) > MAX_TAG_LENGTH:
        raise RecordingError(f"tag name {text[:20]!r}... is longer than {MAX_TAG_LENGTH} characters")
    lower = text.lower()
    return lower if lower in TAXONOMY else text
