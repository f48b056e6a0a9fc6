"""The six demo cards' setups.

Each card's title and text live in app/core/demo/tour.py (Qt-free); here each card key maps to
`setup(window)`, which puts the views in the state the card talks about: the right policy
loaded, plans sampled with a fixed seed, the chain playing, the recording open on the right
rollout... Setups are idempotent (running one twice, or coming back to it with Previous, does
not re-sample what is already there) and talk to the inspector and review workspaces only
through the drivers in app/qt/demo/drivers.py, which use only the workspaces' public objects
(`window.features["inspector"]`, `window.features["review"]`). The window's `demo` attribute is
the DemoSession (app/qt/demo/session.py) that owns them; the cards see it only as a `CardHost`
(below), so this module does not import the session that imports it.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

DEMO_SCENE_SEED = 0        # mug pose of the demo's observation (both grasps reachable)
PROBE_DOCK = "probe"

# The docks each card shows; every other dock steps aside while the card is up, so the scene
# and the views the card talks about get the room (leaving the tour brings the workspace's
# docks back, and View > Panels reopens any of them at any time).
CARD_DOCKS: dict[str, tuple[str, ...]] = {
    "problem": (),              # the whole window for the scene: both policies' plans
    "chain": ("inspector_chain",),
    "modes": ("inspector_modes",),
    "rollout": ("review_timeline", "review_replans"),
    "review": ("review_timeline", "review_queue"),
    "probe": (PROBE_DOCK,),
}


class CardHost(Protocol):
    """What a card setup uses of the demo session (app/qt/demo/session.py: DemoSession)."""
    inspector: Any   # app/qt/demo/drivers.py: InspectorDriver
    review: Any      # app/qt/demo/review_driver.py: ReviewDriver

    def enter_card(self, workspace: str, docks: tuple[str, ...]) -> None: ...

    def show_probe(self) -> None: ...


# ---------------------------------------------------------------------------------------------
# card setups
# ---------------------------------------------------------------------------------------------
def _demo(window) -> CardHost:
    demo = getattr(window, "demo", None)
    if demo is None:
        raise RuntimeError("this window has no demo session")
    return demo


def _enter(window, key: str, workspace: str) -> CardHost:
    """Switch to `workspace` with card `key`'s docks; the demo session, for the card's action."""
    demo = _demo(window)
    demo.enter_card(workspace, CARD_DOCKS[key])
    return demo


def setup_problem(window) -> None:
    """Card 1: diffusion policy and regression baseline, same observation, plans drawn."""
    _enter(window, "problem", "inspector").inspector.show_problem()


def setup_chain(window) -> None:
    """Card 2: the denoising chain playing from noise to plans."""
    _enter(window, "chain", "inspector").inspector.play_chain()


def setup_modes(window) -> None:
    """Card 3: mode shares against the data's, verdict badges."""
    _enter(window, "modes", "inspector").inspector.show_modes()


def setup_rollout(window) -> None:
    """Card 4: the demo recording open on a diffusion rollout, replaying."""
    _enter(window, "rollout", "review").review.show_rollout()


def setup_review(window) -> None:
    """Card 5: the hardest-20 queue and the failure tags of its first rollout."""
    _enter(window, "review", "review").review.show_queue()


def setup_probe(window) -> None:
    """Card 6: the teaching probe's forward noising and reverse denoising, animating."""
    _demo(window).show_probe()


CARD_SETUPS: dict[str, Callable] = {
    "problem": setup_problem, "chain": setup_chain, "modes": setup_modes,
    "rollout": setup_rollout, "review": setup_review, "probe": setup_probe,
}
