"""The rasteriser's warm-up thread (app/qt/plots/plan_curve.py) waits while it is held: the demo
holds it until its first card is ready, so numba's import does not take the GIL from the
worker loading torch. Its timer firing while held only marks it due; the last release starts it."""
from __future__ import annotations

import pytest

from app.qt.plots import plan_curve


class FakeThread:
    def __init__(self) -> None:
        self.started = 0
        self.ident = None

    def is_alive(self) -> bool:
        return False

    def start(self) -> None:
        self.started += 1
        self.ident = 1


@pytest.fixture
def thread(monkeypatch) -> FakeThread:
    fake = FakeThread()
    monkeypatch.setattr(plan_curve, "_warming", fake)
    monkeypatch.setattr(plan_curve, "_holds", 0)
    monkeypatch.setattr(plan_curve, "_due", False)
    return fake


def test_a_due_warm_up_waits_for_the_last_release(thread):
    plan_curve.hold_warm_up()
    plan_curve.hold_warm_up()
    plan_curve._start_warming()            # the delay timer fires while held
    assert thread.started == 0 and plan_curve.warm_up_holds() == 2
    plan_curve.release_warm_up()
    assert thread.started == 0             # one hold left
    plan_curve.release_warm_up()
    assert thread.started == 1 and plan_curve.warm_up_holds() == 0


def test_a_release_before_the_timer_starts_nothing_and_the_timer_then_does(thread):
    plan_curve.hold_warm_up()
    plan_curve.release_warm_up()
    plan_curve.release_warm_up()           # an extra release never goes below zero
    assert thread.started == 0 and plan_curve.warm_up_holds() == 0
    plan_curve._start_warming()
    plan_curve._start_warming()            # once
    assert thread.started == 1
