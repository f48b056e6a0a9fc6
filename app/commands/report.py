"""`planscope report`: one self-contained HTML page (inline SVG, no scripts) from an eval artifact."""
from __future__ import annotations

import argparse

HELP = "write a self-contained HTML report of an evaluation artifact"


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help=HELP, description=HELP + ": success per "
                              "perturbation with confidence intervals, collisions, mode shares "
                              "against the data, latency, failure labels, worst rollouts.")
    p.add_argument("artifact", metavar="FILE.h5", help="made by planscope eval")
    p.add_argument("--out", required=True, metavar="report.html")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.core.evaluation.report import write_report
    path = write_report(args.artifact, args.out)
    print(f"wrote {path}")
    return 0
