"""`planscope report`: one self-contained HTML page (inline SVG, no scripts) from an eval artifact."""
from __future__ import annotations

import argparse

HELP = "write a self-contained HTML report of an evaluation artifact or a scan file"


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help=HELP, description=HELP + ": success per "
                              "perturbation with confidence intervals, collisions, mode shares "
                              "against the data, latency, failure labels, worst rollouts.")
    p.add_argument("artifact", metavar="FILE.h5", help="made by planscope eval or planscope scan")
    p.add_argument("--out", required=True, metavar="report.html")
    p.add_argument("--force", action="store_true", help="replace an existing report")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.commands.output import check_out
    from app.core.evaluation.report import write_report
    check_out(args.out, force=args.force)
    from recordings.formats.scan_reader import is_scan_file
    if is_scan_file(args.artifact):             # a scan file (planscope scan): its own report
        from app.core.scan.report import write_report as write_scan_report
        print(f"wrote {write_scan_report(args.artifact, args.out)}")
        return 0
    path = write_report(args.artifact, args.out)
    print(f"wrote {path}")
    return 0
