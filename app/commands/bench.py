"""`planscope bench [NAME ...]`: print machine-relative performance figures.

Each benchmark is a module app/bench/<name>.py exposing `run(args) -> dict` that prints its
figures (ms, and ratios against a baseline measured in the same run) and returns them. With no
NAME every benchmark that exists runs in turn. Figures are for people to compare; tests never
assert them.
"""
from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="print machine-relative performance figures",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--json", default=None, metavar="FILE", help="also write all figures as JSON")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    p.add_argument("--size", choices=("dp", "lerobot", "shipped"), default=None,
                   help="bench sampling: planscope against the plain eager loop at diffusion_policy's "
                        "(~65 M parameters), LeRobot's (~250 M) or the shipped policy's size")
    p.add_argument("--policy", default=None, metavar="FILE",
                   help="bench sampling --size dp|lerobot: also a diffusion_policy checkpoint through the adapter")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.bench import available, load
    from recordings.errors import UserFacingError

    names = available()
    if args.list:
        for name in names:
            print(f"{name:12s} {load(name).__doc__.strip().splitlines()[0]}")
        return 0
    unknown = [n for n in args.names if n not in names]
    if unknown:
        raise UserFacingError(f"unknown benchmark {unknown[0]!r}; available: {', '.join(names)}")
    results = {}
    for name in args.names or names:
        print(f"== bench {name} ==", flush=True)
        results[name] = load(name).run(args)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2, default=float)
    return 0
