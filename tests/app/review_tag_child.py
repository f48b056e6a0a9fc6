"""Subprocess for the review kill -9 test: the review session (what the UI calls) tags rollouts
forever and prints "ack <tag id> <rollout id> <step|-> <label>" the moment add_tag returns, i.e.
the moment the UI would show the tag."""
from __future__ import annotations

import sys

from app.core.review.state import ReviewSession, RolloutKey
from app.core.review.tags import TAXONOMY


def main() -> None:
    session = ReviewSession()
    session.open(sys.argv[1])
    count = len(session.recordings[0])
    print("open", flush=True)
    i = 0
    while True:
        session.select(RolloutKey(0, i % count))
        session.set_step(i % 7)
        tag = session.add_tag(TAXONOMY[i % 8], at_step=i % 3 != 0, note=f"n{i}")
        step = "-" if tag.step is None else tag.step
        print("ack", tag.tag_id, tag.rollout_id, step, tag.label.replace(" ", "_"), flush=True)
        i += 1


if __name__ == "__main__":
    main()
