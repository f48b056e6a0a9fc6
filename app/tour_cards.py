"""The six demo cards' setups.

Each card's title and text live in app/state/tour.py (Qt-free); here each card key maps to
`setup(window)`, which puts the views in the state the card talks about: the right policy
loaded, plans sampled with a fixed seed, the chain playing, the recording open on the right
rollout... Setups are idempotent (running one twice, or coming back to it with Previous, does
not re-sample what is already there) and talk to the inspector and review workspaces only
through the drivers in app/demo_views.py, which use only the workspaces' public objects
(`window.features["inspector"]`, `window.features["review"]`). The window's `demo` attribute is
the DemoSession (app/demo_session.py) that owns them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from app.demo_session import DemoSession

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


# ---------------------------------------------------------------------------------------------
# card setups
# ---------------------------------------------------------------------------------------------
def _demo(window) -> "DemoSession":
    demo = getattr(window, "demo", None)
    if demo is None:
        raise RuntimeError("this window has no demo session")
    return demo


def setup_problem(window) -> None:
    """Card 1: diffusion policy and regression baseline, same observation, plans drawn."""
    demo = _demo(window)
    demo.enter_card("inspector", CARD_DOCKS["problem"])
    demo.inspector.show_problem()


def setup_chain(window) -> None:
    """Card 2: the denoising chain playing from noise to plans."""
    demo = _demo(window)
    demo.enter_card("inspector", CARD_DOCKS["chain"])
    demo.inspector.play_chain()


def setup_modes(window) -> None:
    """Card 3: mode shares against the data's, verdict badges."""
    demo = _demo(window)
    demo.enter_card("inspector", CARD_DOCKS["modes"])
    demo.inspector.show_modes()


def setup_rollout(window) -> None:
    """Card 4: the demo recording open on a diffusion rollout, replaying."""
    demo = _demo(window)
    demo.enter_card("review", CARD_DOCKS["rollout"])
    demo.review.show_rollout()


def setup_review(window) -> None:
    """Card 5: the hardest-20 queue and the failure tags of its first rollout."""
    demo = _demo(window)
    demo.enter_card("review", CARD_DOCKS["review"])
    demo.review.show_queue()


def setup_probe(window) -> None:
    """Card 6: the teaching probe's forward noising and reverse denoising, animating."""
    _demo(window).show_probe()


CARD_SETUPS: dict[str, Callable] = {
    "problem": setup_problem, "chain": setup_chain, "modes": setup_modes,
    "rollout": setup_rollout, "review": setup_review, "probe": setup_probe,
}
