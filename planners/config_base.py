"""What the policy configs share: JSON round trip that refuses unknown fields, validation
helpers whose errors name the config, the field, the value and what is allowed, and the
obs_spec (the (key, size) pairs of the observation the policy was trained on).

    @dataclass
    class MyConfig(PolicyConfig):
        obs_dim: int
        ...
        def __post_init__(self) -> None:
            self.normalize_obs_spec()
            self.check_positive_ints("obs_dim", ...)
"""
from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, Sequence


class PolicyConfig:
    """Mixin for a policy's config dataclass (needs `obs_dim` and `obs_spec` fields)."""

    obs_dim: int
    obs_spec: tuple[tuple[str, int], ...]

    def normalize_obs_spec(self) -> None:
        """obs_spec from JSON (lists) -> tuple of (str, int); checks it sums to obs_dim."""
        try:
            self.obs_spec = tuple((str(k), int(s)) for k, s in self.obs_spec)
        except (TypeError, ValueError):
            raise ValueError(f"{type(self).__name__}.obs_spec must be (name, size) pairs, "
                             f"got {self.obs_spec!r}") from None
        total = sum(s for _, s in self.obs_spec)
        if self.obs_spec and total != self.obs_dim:
            raise ValueError(f"{type(self).__name__}.obs_spec sums to {total}, obs_dim is {self.obs_dim}")

    def check_positive_ints(self, *names: str) -> None:
        for name in names:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{type(self).__name__}.{name} must be a positive integer, got {value!r}")

    def check_choice(self, name: str, allowed: Sequence[str]) -> None:
        value = getattr(self, name)
        if value not in allowed:
            raise ValueError(f"{type(self).__name__}.{name}={value!r} is not one of {', '.join(allowed)}")

    def to_json(self) -> dict:
        """Plain JSON types: tuples become lists."""
        return {k: _jsonable(v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, payload: dict) -> Any:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {unknown} (allowed: {sorted(known)})")
        return cls(**payload)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value
