"""`planscope train --data FILE.h5 --kind diffusion|regression --out DIR [--epochs N] [--device cpu|cuda] [--seed S]`

Trains a policy on a demo recording made by `planscope collect` and writes a checkpoint
directory (config.json, model.safetensors, normalizer.json, training.json with the data
file's sha256 and provenance). Progress with loss and ETA goes to stderr.
"""
from __future__ import annotations

import argparse
import shlex
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train a diffusion policy or the regression baseline on demos",
                              description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, metavar="FILE.h5", help="demo recording from `planscope collect`")
    p.add_argument("--kind", required=True, choices=("diffusion", "regression"))
    p.add_argument("--out", required=True, metavar="DIR", help="checkpoint folder to write (its parent must exist; see --force)")
    p.add_argument("--force", action="store_true", help="replace an existing checkpoint folder")
    p.add_argument("--epochs", type=int, default=0, help="passes over the data (default: 300 diffusion, 100 regression)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (AdamW, cosine decay)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch CPU threads (default: the free cores, planners/threads.py; training is "
                        "bit-reproducible at a fixed N, recorded in training.json)")
    p.add_argument("--down-dims", default="", metavar="A,B",
                   help="diffusion U-Net widths per level (default 48,96)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.commands.output import check_out
    from planners.protocol import PlannerError
    from planners.threads import choose_threads
    from planners.train import train_policy

    check_out(args.out, kind="dir", force=args.force)   # before any training: fail in the first second
    from planners.training import TrainingConfig

    overrides = {}
    if args.down_dims:
        if args.kind != "diffusion":
            raise PlannerError("--down-dims applies to --kind diffusion only")
        try:
            overrides["down_dims"] = tuple(int(x) for x in args.down_dims.split(","))
        except ValueError:
            raise PlannerError(f"--down-dims {args.down_dims!r}: expected comma-separated integers") from None
    config = TrainingConfig(kind=args.kind, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                            seed=args.seed, device=args.device, num_threads=choose_threads(args.threads))
    command = "planscope " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["train"] \
        else None
    try:
        out = train_policy(args.data, args.out, config, model_overrides=overrides, command=command,
                           quiet=args.quiet)
    except ValueError as exc:   # a config value the dataclass refused
        raise PlannerError(str(exc)) from None
    print(f"wrote {out}")
    return 0
