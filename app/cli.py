"""`planscope` entry point.

`planscope [FILE.h5 ...] [--policy DIR|module:attr]` opens the app; the subcommands live in
app/commands/<name>.py. Errors a user can cause end in one line `planscope: error: ...` and a
non-zero exit code, never a bare traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from app import __version__
from app.commands import COMMANDS
from recordings.errors import UserFacingError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="planscope",
        description="Look inside diffusion planners: sample many plans, watch the denoising chain, "
                    "see the modes, run and review closed-loop rollouts.")
    parser.add_argument("--version", action="version", version=f"planscope {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"app.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"app.commands.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def _open_app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="planscope", add_help=False)
    parser.add_argument("files", nargs="*")
    parser.add_argument("--policy", action="append", default=[])
    parser.add_argument("--scene", default="mug_grasp")
    parser.add_argument("--option", action="append", default=[])   # scene options, e.g. rows=2
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known = {"-h", "--help", "--version", *COMMANDS}
    try:
        if not argv or argv[0] not in known:
            args = _open_app_parser().parse_args(argv)
            from app.commands.open_app import run_open
            return run_open(args)
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except UserFacingError as exc:
        print(f"planscope: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("planscope: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
