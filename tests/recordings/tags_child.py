"""Subprocess for the tag kill -9 test: adds tags forever, printing "ack <id>" after each add()."""
from __future__ import annotations

import sys

from recordings.tags import TAXONOMY, TagStore


def main() -> None:
    store = TagStore(sys.argv[1], author="child")
    print("open", flush=True)
    i = 0
    while True:
        tag = store.add(i % 50, TAXONOMY[i % 8], step=None if i % 3 == 0 else i, note=f"n{i}")
        print("ack", tag.id, flush=True)
        i += 1


if __name__ == "__main__":
    main()
