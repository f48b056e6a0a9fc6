"""One injectable clock for every timer-driven state (review playback, throttles, debouncing).

Qt timers only say *when* to look; how far playback moves is read from a `Clock`, so tests
install a `ManualClock` and advance it explicitly instead of depending on how fast the machine
schedules timers (issue 18: a playback test failed when 200 ms of scheduling delay moved a step).
Seconds, monotonic, float.
"""
from __future__ import annotations

import contextlib
import time
from typing import Iterator, Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""
        ...


class MonotonicClock:
    """The real clock: time.monotonic()."""

    def now(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to (tests, stress runs)."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = float(start)

    def now(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._t += float(seconds)


_default: Clock = MonotonicClock()


def default_clock() -> Clock:
    """The clock new timer-driven objects use when none is passed."""
    return _default


def set_default_clock(clock: Clock) -> Clock:
    """Install `clock` as the default; returns the previous one."""
    global _default
    previous, _default = _default, clock
    return previous


@contextlib.contextmanager
def using_clock(clock: Clock) -> Iterator[Clock]:
    """`with using_clock(ManualClock()) as c:` — objects created inside read `c`."""
    previous = set_default_clock(clock)
    try:
        yield clock
    finally:
        set_default_clock(previous)
