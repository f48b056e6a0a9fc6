"""Subprocess for the kill -9 test: appends rollouts, printing "ack <id>" once each is written.

Usage: python -m tests.recordings.writer_child PATH COUNT
"""
from __future__ import annotations

import sys

from recordings.writer import RecordingWriter
from tests.recordings.helpers import ENV_ARGS, make_rollout


def main() -> None:
    path, count = sys.argv[1], int(sys.argv[2])
    writer = RecordingWriter(path, env_args=ENV_ARGS, config={"trial": True}, mode="a")
    start = len(writer)
    print("open", start, flush=True)
    for i in range(start, start + count):
        writer.write_rollout(make_rollout(i, steps=10, samples=3))
        print("ack", i, flush=True)
    writer.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
