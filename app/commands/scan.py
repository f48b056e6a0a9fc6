"""`planscope scan`: ask a policy (or two) what it would plan at every recorded frame of a data
set, and keep per frame how it compares with the demonstration and the data's local modes."""
from __future__ import annotations

import argparse

HELP = "scan a data set for the frames where a policy collapses, averages or leaves its data"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "scan", help=HELP, description=HELP + ". Per frame: N plans against the demonstrated "
        "chunk and the chunks of the K nearest recorded frames (docs/scan.md).")
    p.add_argument("--policy", action="append", required=True, metavar="P",
                   help="policy (checkpoint folder, .ckpt, module:attr); give it twice to "
                        "compare two checkpoints on the same frames with the same noise")
    p.add_argument("--data", required=True, metavar="DS",
                   help="data set: HDF5 recording, LeRobotDataset v3 folder, zarr buffer")
    p.add_argument("--data-shares", default=None, metavar="MODE=SHARE,..|FILE.h5",
                   help="judge every frame against these mode shares (e.g. left=0.7,right=0.3, "
                        "or the shares of a recording's demonstrations) instead of the "
                        "neighbours'; local modes are named by their recorded mode labels")
    p.add_argument("--episodes", default=None, metavar="A:B",
                   help="episodes A..B-1 (default: all)")
    p.add_argument("--every", type=int, default=1, metavar="K",
                   help="scan frames 0, K, 2K, ... of each episode (default 1)")
    p.add_argument("--num", type=int, default=32, metavar="N", help="plans per frame (default 32)")
    p.add_argument("--solver", default="", help="diffusion solver (default: the policy's)")
    p.add_argument("--steps", type=int, default=0, help="solver steps (default: the policy's)")
    p.add_argument("--neighbours", type=int, default=32, metavar="K",
                   help="nearest recorded frames forming the local data (default 32; 0 = none)")
    p.add_argument("--seed", type=int, default=0, help="noise seed of the whole scan (default 0)")
    p.add_argument("--keep-plans", action="store_true",
                   help="store the N plans and the demonstrated chunk of every frame")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: all cores; 0 = in this process)")
    p.add_argument("--backend", default="local", choices=("local", "ray"))
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="join a running Ray cluster (auto, HOST:PORT or ray://host:10001)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--frames-per-call", type=int, default=0, metavar="F",
                   help="frames sampled in one batched call (default 0: 512 // N on the CPU, "
                        "bounded by measured memory on CUDA; docs/scan.md)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads with --workers 0 (default: the free cores); each worker "
                        "process uses one")
    p.add_argument("--resume", action="store_true", help="finish a partial scan file")
    p.add_argument("--force", action="store_true", help="replace an existing scan file")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--out", required=True, metavar="SCAN.h5")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from app.core.scan.config import ScanConfig, ScanConfigError, ScanSettings
    from app.core.scan.engine import check_output, parse_episodes, run_scan
    from recordings.dataset import open_dataset

    if args.device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise ScanConfigError(f"--device {args.device}: no CUDA device on this machine")
    if args.backend == "ray" and args.ray_address and args.ray_address != "auto":
        from app.core.evaluation.backend_ray import _probe
        _probe(args.ray_address)          # one line for an unreachable cluster
    from app.commands.output import check_out
    check_out(args.out, suffixes=(".h5", ".hdf5"), force=args.force, resume=args.resume)
    check_output(args.out, args.resume, args.force)
    if args.workers == 0:
        from planners.threads import apply_threads
        apply_threads(args.threads)
    with open_dataset(args.data) as ds:
        episodes = parse_episodes(args.episodes, len(ds.episodes), ds.path)
    settings = ScanSettings(episodes=episodes, every=args.every, num_samples=args.num,
                            solver=args.solver, steps=args.steps, neighbours=args.neighbours,
                            seed=args.seed, keep_plans=args.keep_plans, device=args.device,
                            frames_per_call=args.frames_per_call)
    shares, source = (), ""
    if args.data_shares:
        from planners.mode_reference import parse_shares, shares_from_recording
        spec = args.data_shares
        ref = shares_from_recording(spec) if spec.endswith((".h5", ".hdf5")) or \
            os.path.isfile(spec) else parse_shares(spec)
        shares, source = tuple(ref.shares.items()), ref.source
    config = ScanConfig(tuple(args.policy), os.path.abspath(args.data), settings,
                        data_shares=shares, shares_source=source)
    workers = (os.cpu_count() or 1) if args.workers is None else args.workers

    def progress(done: int, total: int) -> None:
        print(f"\rscanned {done}/{total} frames", end="", file=sys.stderr, flush=True)

    try:
        result = run_scan(config, args.out, backend=args.backend, workers=workers,
                          ray_address=args.ray_address, resume=args.resume, force=args.force,
                          progress=None if args.quiet else progress,
                          notice=lambda line: print(line, file=sys.stderr, flush=True))
    except KeyboardInterrupt:      # before the writer existed: nothing was written
        print("\nplanscope scan: interrupted before any frame was saved", file=sys.stderr)
        return 130
    if not args.quiet:
        print(file=sys.stderr)
    if not result.written and not result.skipped and result.failed:
        # an empty file's summary would be a table of zeros: say what happened, once
        print(f"planscope: error: scan wrote no frames to {result.path}: {result.reason}",
              file=sys.stderr)
        return 1
    print(summary_text(result.path))
    print(f"wrote {result.path}: {result.written} frames in {result.seconds:.1f} s"
          f"{f', {result.skipped} already there (resume)' if result.skipped else ''}"
          f"{f', {result.failed} could not be scanned' if result.failed else ''}")
    for line in result.failures[:10]:
        print(f"  not scanned: {line}")
    if result.partial:
        print(f"partial scan: {result.reason}. Run the same command with --resume to finish.")
        return 130 if "Ctrl+C" in result.reason else 1
    return 0


def summary_text(path: str, worst: int = 10) -> str:
    """Counts per policy and the hardest frames: what the terminal shows after a scan."""
    from recordings.formats.scan_reader import ScanReader
    from recordings.scan_ranking import FLAGS, dataset_table, hardness

    with ScanReader(path) as r:
        frames = r.frames()
        labels = [p.get("label", f"policy {i}") for i, p in enumerate(r.policies)] or ["policy"]
        table = dataset_table(frames)
        lines = [f"{r.status}"]
        for i, label in enumerate(labels):
            counts = ", ".join(f"{flag} {int(table[flag][i])} ({table[f'{flag}_share'][i]:.1%})"
                               for flag in FLAGS if flag in table)
            lines.append(f"{label}: {counts}; median distance to the demonstration "
                         f"{table['median_demo_dist_nearest'][i]:.3f}")
        score, order = hardness(frames, len(labels) - 1)
        lines.append(f"hardest frames ({labels[-1]}):")
        for i in order[:worst]:
            flags = [f for f in FLAGS if frames[f][i, len(labels) - 1]]
            lines.append(f"  episode {frames['episode'][i]} frame {frames['frame'][i]}: score "
                         f"{score[i]:.2f} {' '.join(flags)}")
    return "\n".join(lines)
