"""One module per `planscope` subcommand.

Each module defines `register(subparsers)` which adds its parser and sets `func=run`, and
`run(args) -> int`. Modules import only argparse/stdlib at import time; torch, pybullet and Qt are
imported inside `run`, so `planscope --help` and start-up stay fast.
"""
# Order here is the order `planscope --help` lists them. A module that does not exist yet is skipped.
COMMANDS = ("demo", "review", "collect", "train", "sample", "eval", "scan", "report", "export",
            "snapshot", "bench")
