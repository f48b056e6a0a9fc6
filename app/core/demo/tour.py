"""The guided tour as Qt-free state: the list of cards and which one is showing.

The Qt overlay (app/qt/demo/tour_view.py) only reacts to this model's events (TourEvents), and
each card's `setup(window)` lives in app/qt/demo/tour_cards.py, so the card list and navigation
are testable without a display.

Navigation rules: `start()` shows the first card; `next()` / `previous()` stop at the ends
(they never wrap, so a presenter who presses Next once too often stays on the last card);
`leave()` hides the tour at any moment and keeps the current index so `resume()` comes back
to the same card.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.core.events import Event, event

Anchor = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


@dataclass(frozen=True)
class CardSpec:
    """One tour card. title: a few words, read at a distance; text: 2-3 short sentences;
    anchor: the window corner the card sits in, chosen so it does not cover what the card
    talks about; workspace: the workspace the card shows ("inspector", "review", "probe")."""
    key: str
    title: str
    text: str
    workspace: str
    anchor: Anchor = "bottom-left"

    def __post_init__(self) -> None:
        if not self.title or not self.text:
            raise ValueError(f"card {self.key!r} needs a title and a text")
        sentences = [s for s in self.text.replace("!", ".").split(".") if s.strip()]
        if len(sentences) > 3:
            raise ValueError(f"card {self.key!r} has {len(sentences)} sentences; keep it to 2-3 "
                             "so it reads at a distance")


# The demo tour (issue 8). Order matters: problem -> mechanism -> distribution -> closed loop ->
# review -> the idea in one picture. Texts name colours the views really use.
DEMO_CARDS: tuple[CardSpec, ...] = (
    CardSpec(
        "problem", "One mug, two grasps",
        "Regression learns the average of the demonstrations, and the average of a left and a "
        "right grasp drives into the mug. The diffusion policy's plans split cleanly into the two "
        "grasps instead.",
        workspace="inspector", anchor="bottom-left"),
    CardSpec(
        "chain", "Plans are drawn out of noise",
        "Every plan starts as random noise and is denoised step by step. The marker shows the "
        "step where the samples commit to a grasp.",
        workspace="inspector", anchor="top-left"),
    CardSpec(
        "modes", "Every grasp the data has",
        "The bars compare how often the policy picks each grasp with how often the "
        "demonstrations did. Matching bars mean no mode was lost; one tall bar would mean "
        "collapse.",
        workspace="inspector", anchor="top-left"),
    CardSpec(
        "rollout", "In the loop, plan after plan",
        "A recorded rollout, replayed from the simulator's own states. At each replan you see "
        "every plan the policy considered beside the one it executed.",
        workspace="review", anchor="bottom-left"),
    CardSpec(
        "review", "Reviewing the hardest rollouts",
        "Rollouts are ranked hardest first, failures on top. A reviewer scrubs to the moment it "
        "went wrong and tags why, and the tag is saved the moment it shows.",
        workspace="review", anchor="bottom-left"),
    CardSpec(
        "probe", "The idea in one picture",
        "Forward: a clean line to the goal is noised step by step until it is almost random. "
        "Reverse: a denoiser walks it back, and the endpoint returns to the goal.",
        workspace="probe", anchor="bottom-right"),
)

@dataclass(frozen=True)
class TourEvents:
    """started: the tour is showing; card: the card index now showing (changed while showing);
    left: the tour was hidden (the window stays as the last card left it)."""
    started: Event[[]] = event()
    card: Event[[int]] = event()
    left: Event[[]] = event()


class TourModel:
    """Which card of `cards` is showing, and whether the tour is showing at all."""

    def __init__(self, cards: tuple[CardSpec, ...] = DEMO_CARDS) -> None:
        if not cards:
            raise ValueError("a tour needs at least one card")
        keys = [c.key for c in cards]
        if len(set(keys)) != len(keys):
            raise ValueError(f"card keys must be unique, got {keys}")
        self.cards = tuple(cards)
        self.index = 0
        self.active = False
        self.events = TourEvents()

    # -- queries --------------------------------------------------------------------------
    @property
    def current(self) -> CardSpec:
        return self.cards[self.index]

    @property
    def count(self) -> int:
        return len(self.cards)

    @property
    def has_next(self) -> bool:
        return self.index < self.count - 1

    @property
    def has_previous(self) -> bool:
        return self.index > 0

    def position_label(self) -> str:
        """'3 / 6' for the card counter."""
        return f"{self.index + 1} / {self.count}"

    def index_of(self, key: str) -> int:
        for i, card in enumerate(self.cards):
            if card.key == key:
                return i
        raise KeyError(f"no tour card {key!r}; cards are {[c.key for c in self.cards]}")

    # -- navigation -----------------------------------------------------------------------
    def start(self, index: int = 0) -> None:
        """Show the tour from card `index` (0-based)."""
        self.active = True
        self.events.started.emit()
        self.go_to(index, force=True)

    def resume(self) -> None:
        """Show the tour again at the card it was left on."""
        self.start(self.index)

    def go_to(self, index: int, *, force: bool = False) -> None:
        if not 0 <= index < self.count:
            raise IndexError(f"card index {index} outside 0..{self.count - 1}")
        if index == self.index and not force:
            return
        self.index = index
        if self.active:
            self.events.card.emit(self.index)

    def next(self) -> bool:
        """Advance one card; False (and no change) on the last card."""
        if not self.has_next:
            return False
        self.go_to(self.index + 1)
        return True

    def previous(self) -> bool:
        if not self.has_previous:
            return False
        self.go_to(self.index - 1)
        return True

    def leave(self) -> None:
        """Hide the tour; the window stays as the last card left it so the user keeps working."""
        if self.active:
            self.active = False
            self.events.left.emit()
