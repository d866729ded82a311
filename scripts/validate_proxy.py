#!/usr/bin/env python3
"""Validate the zero-cost accuracy proxies against trained accuracy on sampled architectures.

    python scripts/validate_proxy.py --space search_spaces/mobile_32px.yaml --n 30 --epochs 1 --gt-seeds 2 \\
        --data fashion-mnist --threads 1

Runs, in this order: budget stability (first --budget-archs archs: ground truth at E epochs vs one training
at --budget-multiplier × E), the noise ceiling (first --noise-archs archs with --seed and --noise-seed),
and the main part (--n archs at E epochs, each trained with the --gt-seeds seeds whose mean top-1 is its
ground truth; every proxy scored), then prints the report, appends it to docs/benchmarks.md and writes
docs/img/proxy_<name>.png (unless --no-write). Every finished training is cached in --cache (JSONL); a
training in progress checkpoints to ckpt/ beside it, so Ctrl-C (or --stop-after) and rerunning the same
command continues where it stopped. Start the same command twice to use two cores: the workers share
the cache and claim their trainings. ``--only pilot`` times one epoch of the smallest, median and
largest of the first --n archs. All logic lives in nas.validation.
"""
from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any, Sequence

try:
    import nas  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nas.bench import append_markdown  # noqa: E402
from nas.cli import OneLineParser, non_negative_int, positive_float, positive_int  # noqa: E402

PARTS = ("budget", "noise", "main")


def build_parser() -> OneLineParser:
    p = OneLineParser(prog="validate_proxy.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--space", default="search_spaces/mobile_32px.yaml", help="search space YAML")
    p.add_argument("--n", type=positive_int, default=30, help="archs in the main part (default: 30)")
    p.add_argument("--epochs", type=positive_int, default=3, help="training budget E in epochs (default: 3)")
    p.add_argument("--data", default="fashion-mnist", help="dataset spec (default: fashion-mnist)")
    p.add_argument("--train-size", type=positive_int, default=None, help="stratified train subset (default: all)")
    p.add_argument("--test-size", type=positive_int, default=None, help="stratified test subset (default: all)")
    p.add_argument("--resolution", type=positive_int, default=None, help="input side in px (default: native)")
    p.add_argument("--batch-size", type=positive_int, default=128, help="batch size (default: 128)")
    p.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd")
    p.add_argument("--lr", type=positive_float, default=None, help="peak lr (default: sgd 0.05, adamw 0.002)")
    p.add_argument("--weight-decay", type=float, default=None, help="default: sgd 5e-4, adamw 0.05")
    p.add_argument("--schedule", choices=("cosine", "onecycle"), default="cosine")
    p.add_argument("--seed", type=non_negative_int, default=0, help="arch sampling, training and proxy seed")
    p.add_argument("--noise-archs", type=positive_int, default=10, help="archs for the noise ceiling (default: 10)")
    p.add_argument("--noise-seed", type=non_negative_int, default=1, help="second training seed (default: 1)")
    p.add_argument("--gt-seeds", type=positive_int, default=1,
                   help="training seeds averaged into each arch's ground truth: --seed, then --noise-seed, "
                        "--noise-seed+1, … (default: 1; 2 halves the seed noise a short budget carries)")
    p.add_argument("--budget-archs", type=positive_int, default=10, help="archs for budget stability (default: 10)")
    p.add_argument("--budget-multiplier", type=positive_int, default=3, help="long budget = this × E (default: 3)")
    p.add_argument("--proxies", default=None, help="comma-separated proxy names (default: all; params and macs "
                   "are always scored)")
    p.add_argument("--ensemble", action="append", default=[], metavar="A+B[+C]",
                   help="a declared mean-rank ensemble to evaluate (repeatable)")
    p.add_argument("--proxy-batch", type=positive_int, default=64, help="images in the proxy batch (default: 64)")
    p.add_argument("--proxy-input", choices=("data", "gaussian"), default="data",
                   help="proxy batch: training images, or N(0,1) noise as a search without --data uses "
                        "(default: data; cached separately)")
    p.add_argument("--bootstrap", type=positive_int, default=2000, help="bootstrap resamples (default: 2000)")
    p.add_argument("--cache", type=Path, default=Path("runs/proxy-validation/train_cache.jsonl"),
                   help="training cache (JSONL); proxy_cache.jsonl and ckpt/ live beside it")
    p.add_argument("--docs", type=Path, default=Path("docs/benchmarks.md"), help="report is appended here")
    p.add_argument("--img-dir", type=Path, default=Path("docs/img"), help="scatter PNGs go here")
    p.add_argument("--no-write", action="store_true", help="print the report only")
    p.add_argument("--only", choices=("pilot",) + PARTS + ("report",), default=None,
                   help="run one part (report: from the caches only, nothing is trained)")
    p.add_argument("--no-channels-last", action="store_true",
                   help="train in the default NCHW layout (channels-last is faster on CPU)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch intra-op threads")
    p.add_argument("--stop-after", type=positive_float, default=None, metavar="MINUTES",
                   help="start no training after this many minutes; stop a running one at its next epoch end")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return p


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # nas.train saves the checkpoint on KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _main(parser, args, argv)
    except KeyboardInterrupt:
        print("interrupted; the finished trainings are cached and the running one checkpointed: rerun the same "
              "command to continue", file=sys.stderr)
        return 130


def _main(parser: OneLineParser, args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    import torch

    from nas import proxies as proxy_registry
    from nas import validation as V
    from nas.data import DataError, parse_spec
    from nas.space import SpaceError, load_space
    from nas.train import CheckpointError

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        parse_spec(args.data)
        space = load_space(args.space)
    except (DataError, SpaceError, OSError) as exc:
        parser.fail(exc)
    names = None
    if args.proxies is not None:
        names = [s.strip() for s in args.proxies.split(",") if s.strip()]
        if not names:
            parser.fail("--proxies: give at least one name")
    known = set(proxy_registry.names())
    for name in (names or []) + [p for e in args.ensemble for p in e.split("+")]:
        if name not in known:
            parser.fail(f"unknown proxy {name!r}; expected one of {', '.join(proxy_registry.names())}")
    for e in args.ensemble:
        parts = e.split("+")
        if not 2 <= len(parts) <= 3 or len(set(parts)) != len(parts):
            parser.fail(f"--ensemble {e!r}: give 2 or 3 different proxy names joined by '+'")
    try:
        setup = V.Setup(
            data=args.data, train_size=args.train_size, test_size=args.test_size, resolution=args.resolution,
            batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay,
            schedule=args.schedule, threads=args.threads,
            channels_last=not args.no_channels_last,
        )
        setup.recipe()  # validates the recipe (TrainConfig's checks)
    except (ValueError, DataError) as exc:
        parser.fail(exc)
    deadline = time.time() + 60 * args.stop_after if args.stop_after else None
    v = V.Validator(space, setup, seed=args.seed, cache=args.cache, proxies=names, proxy_batch=args.proxy_batch,
                    proxy_input=args.proxy_input,
                    progress=not args.no_progress, deadline=deadline)
    if v.train_cache.bad_lines:
        print(f"warning: {v.train_cache.bad_lines} unreadable line(s) in {args.cache} ignored", file=sys.stderr)
    signal.signal(signal.SIGTERM, _sigterm)

    E = args.epochs
    try:
        if args.only == "pilot":
            pilot = V.Validator.pilot(v, args.n)
            path = V.save_pilot(args.cache.parent, pilot)
            _print_pilot(pilot, args, path)
            return 0
        stopped = None
        try:
            if args.only in (None, "budget"):
                v.run_jobs(v.budget_jobs(E, args.budget_multiplier, args.budget_archs), "budget")
            if args.only in (None, "noise"):
                v.run_jobs(v.noise_jobs(E, args.noise_archs, args.noise_seed), "noise")
            if args.only in (None, "main"):
                archs = v.archs(args.n)
                v.score_proxies(archs)
                v.run_jobs(v.main_jobs(E, args.n, V.gt_seeds(args.seed, args.noise_seed, args.gt_seeds)), "main")
        except V.DeadlineReached as exc:
            stopped = str(exc)
            print(f"stopped: {stopped}; rerun the same command to continue", file=sys.stderr)
        # proxies of every trained arch of the main list, so a partial report has them
        if args.only in (None, "main", "report") and stopped is None:
            v.score_proxies(v.archs(args.n))
        analysis = V.analyse(v, n=args.n, epochs=E, multiplier=args.budget_multiplier, noise_archs=args.noise_archs,
                             noise_seed=args.noise_seed, budget_archs=args.budget_archs, ensembles=args.ensemble,
                             n_boot=args.bootstrap, n_gt_seeds=args.gt_seeds)
    except (DataError, CheckpointError, ValueError, OSError) as exc:
        parser.fail(exc)
    command = "python scripts/validate_proxy.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    text = V.report_markdown(analysis, command=command, pilot=V.load_pilot(args.cache.parent))
    print(text)
    if not args.no_write and args.only in (None, "report"):
        append_markdown(text, args.docs)
        pngs = V.write_scatter(analysis, args.img_dir)
        print(f"appended the report to {args.docs}; wrote {len(pngs)} scatter plot(s) to {args.img_dir}",
              file=sys.stderr)
    return 0


def _print_pilot(pilot: dict, args: argparse.Namespace, path: Path) -> None:
    rows = pilot["rows"]
    print(f"pilot: batch {next(iter(rows.values()))['batch_size']}, {next(iter(rows.values()))['train_images']} "
          f"train images at {next(iter(rows.values()))['resolution_px']} px, "
          f"{pilot['machine']['threads']} threads; archs by MACs among the first {pilot['archs_considered']}")
    for label, r in rows.items():
        print(f"  {label:6s} {r['arch_name']}: {r['params'] / 1e6:.2f} M params, {r['macs'] / 1e6:.1f} M MACs, "
              f"{1e3 * r['s_per_step']:.0f} ms/step → {r['s_per_epoch']:.0f} s/epoch")
    med = rows["median"]["s_per_epoch"]
    mean_est = sum(r["s_per_epoch"] for r in rows.values()) / len(rows)
    E, M = args.epochs, args.budget_multiplier
    arch_epochs = args.budget_archs * (E + M * E) + args.noise_archs * E + max(args.n - args.budget_archs, 0) * E
    print(f"program at E={E}: ≈{arch_epochs} arch-epochs ≈ {arch_epochs * med / 3600:.1f} h at the median arch's "
          f"speed ({arch_epochs * mean_est / 3600:.1f} h at the mean of the three); wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
