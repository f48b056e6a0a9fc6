"""The tour's Qt-free model: card list, navigation bounds, leave/resume, events."""
from __future__ import annotations

import pytest

from app.core.demo.tour import DEMO_CARDS, CardSpec, TourModel


def test_demo_cards_are_the_six_of_the_talk_in_order():
    assert [c.key for c in DEMO_CARDS] == ["problem", "chain", "modes", "rollout", "review", "probe"]
    for card in DEMO_CARDS:
        assert len(card.title) <= 40, card.title          # one line at a distance
        assert len(card.text) <= 240, card.key            # 2-3 short sentences


def test_card_with_too_many_sentences_is_refused():
    with pytest.raises(ValueError, match="sentences"):
        CardSpec("x", "Title", "One. Two. Three. Four.", workspace="inspector")


def test_navigation_stops_at_the_ends_and_emits_events():
    model = TourModel()
    events: list[tuple[str, int]] = []
    model.events.started.connect(lambda: events.append(("started", model.index)))
    model.events.card.connect(lambda index: events.append(("card", index)))
    model.start()
    assert model.active and model.index == 0
    assert events == [("started", 0), ("card", 0)]
    assert not model.previous()
    for expected in range(1, model.count):
        assert model.next()
        assert model.index == expected
    assert not model.next()                    # never wraps past the last card
    assert model.position_label() == "6 / 6"
    assert events[-1] == ("card", 5)


def test_leave_keeps_the_card_and_resume_comes_back_to_it():
    model = TourModel()
    model.start()
    model.go_to(model.index_of("rollout"))
    seen: list[str] = []
    for name in ("started", "card", "left"):
        getattr(model.events, name).connect(lambda *_, n=name: seen.append(n))
    model.leave()
    assert not model.active and seen == ["left"]
    model.go_to(0)                             # moving while hidden emits nothing
    assert seen == ["left"]
    model.go_to(model.index_of("rollout"))
    model.resume()
    assert model.active and model.current.key == "rollout"
    assert seen[-1] == "card"


def test_bad_index_and_unknown_key_raise_clearly():
    model = TourModel()
    with pytest.raises(IndexError):
        model.go_to(99)
    with pytest.raises(KeyError, match="no tour card"):
        model.index_of("nope")
