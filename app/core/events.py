"""The one event mechanism of the Qt-free core: declared, typed events a reader can find.

A model declares its events as fields of a frozen dataclass, each with the argument types its
callbacks receive, and keeps one instance as `self.events`:

    @dataclass(frozen=True)
    class TourEvents:
        started: Event[[]] = event()
        card: Event[[int]] = event()          # the index of the card now showing

    model.events.card.connect(view.show_card)  # a view reacts
    self.events.card.emit(self.index)          # the model announces

Callbacks run synchronously in the emitting thread, in connection order. The models are changed
only on the GUI thread (workers hand their results back through Qt), so no locking is needed.
Qt views connect plain methods; nothing here imports Qt, so the models run in tests, scripts and
worker processes alike (napari's `components/` with declared events is the model).
"""
from __future__ import annotations

from dataclasses import field
from typing import Any, Callable, Generic, ParamSpec

P = ParamSpec("P")


class Event(Generic[P]):
    """One event: `connect(callback)`, `disconnect(callback)`, `emit(*args)`.

    Event[[int, int]] is an event whose callbacks take (int, int). Connecting the same callback
    twice keeps one connection (a view that re-attaches must not be called twice)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[P, Any]] = []

    def connect(self, callback: Callable[P, Any]) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[P, Any]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for callback in list(self._callbacks):   # a callback may disconnect itself
            callback(*args, **kwargs)

    @property
    def connections(self) -> int:
        """How many callbacks are connected (tests check that views detach)."""
        return len(self._callbacks)


def event() -> Any:
    """A dataclass field holding a fresh Event per instance (the declaration's default)."""
    return field(default_factory=Event)
