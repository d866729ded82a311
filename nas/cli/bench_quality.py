"""``nas benchmark quality``: the headline — at each latency target, the best network of a multi-fidelity search,
of a zero-cost-only search, of each reference scaled to the target, and of random feasible networks, all trained
the same way (2 seeds), with top-1 mean ± 95 % CI at measured latency and each method's cost
(:mod:`nas.bench.quality`). Trainings are cached in --cache: a rerun reuses them.

    nas benchmark quality --targets 3ms --threads 1
    nas benchmark quality --targets 3ms --epochs 1 --random-archs 2 --search-trials 6 --refine-top 2 \\
        --train-size 512 --seeds 0 --no-write                     # a smoke run
"""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from nas.cli.common import CliError, latency_arg, non_negative_int, positive_int
from nas.cli.specs import latency_method, proxy_spec

__all__ = ["NAME", "add_parser", "run"]

NAME = "quality"


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        seeds = ()
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct seeds ≥ 0 joined by commas, got {text!r}")
    return seeds


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``quality`` among the ``nas benchmark`` subcommands."""
    p = sub.add_parser(NAME, help="searched vs scaled references vs random at equal latency (the headline)",
                       description="Does the search beat a hand-scaled MobileNet at the same latency?")
    p.add_argument("--targets", nargs="+", type=latency_arg, required=True, metavar="TIME",
                   help="latency targets, e.g. 3ms 5ms (set from the references' own latency: see docs)")
    p.add_argument("--space", default="tiny_32px", help="space to search (default: %(default)s)")
    p.add_argument("--data", default="fashion-mnist", help="dataset (default: %(default)s)")
    p.add_argument("--references", nargs="+", default=["mobilenet_v2", "mnasnet_b1", "mobilenet_v3_small"],
                   metavar="NET", help="zoo nets scaled to each target")
    p.add_argument("--epochs", type=positive_int, default=12, help="training epochs of every compared net")
    p.add_argument("--seeds", type=_seeds, default=(0, 1), help="training seeds (default 0,1)")
    p.add_argument("--random-archs", type=positive_int, default=20, help="random feasible nets (default 20)")
    p.add_argument("--search-trials", type=positive_int, default=100, help="search trials (default 100)")
    p.add_argument("--refine-top", type=positive_int, default=4, help="nets refined by training (default 4)")
    p.add_argument("--refine-epochs", type=positive_int, default=2, help="epochs of the refine stage (default 2)")
    p.add_argument("--proxy", type=proxy_spec, default=None, help="zero-cost proxy (default: the search's)")
    p.add_argument("--latency", type=latency_method, default="measure", help="'measure' or 'lut:FILE'")
    p.add_argument("--threads", type=positive_int, default=1, help="threads of every timing and training")
    p.add_argument("--train-size", type=non_negative_int, default=0, help="train subset (0: all; smoke runs)")
    p.add_argument("--cache", type=Path, default=Path("runs/proxy-validation/train_cache.jsonl"),
                   help="training cache shared with nas validate-proxy (default: %(default)s)")
    p.add_argument("--out", type=Path, default=Path("docs/quality"),
                   help="YAML of every compared net and the searches' run folders (default: %(default)s)")
    p.add_argument("--doc", type=Path, default=Path("docs/benchmarks.md"), help="document to append to")
    p.add_argument("--no-write", action="store_true", help="print only")
    p.set_defaults(prog=p.prog, bench=run)
    return p


def run(args: argparse.Namespace) -> int:
    from nas.bench.common import append_section, machine_lines
    from nas.bench.quality import QualityConfig, check_recorded_searches, headline, quality_markdown, run_quality
    from nas.search.specs import ProxySpec
    from nas.space.load import load_space

    try:
        load_space(args.space)
        config = QualityConfig(cache=args.cache, out=args.out, targets_ms=tuple(args.targets), space=args.space,
                               data=args.data, references=tuple(args.references), epochs=args.epochs,
                               seeds=args.seeds, random_archs=args.random_archs, search_trials=args.search_trials,
                               refine_top=args.refine_top, refine_epochs=args.refine_epochs,
                               proxy=args.proxy or ProxySpec(), latency=args.latency, threads=args.threads,
                               train_size=args.train_size or None)
        check_recorded_searches(config)
    except ValueError as exc:
        raise CliError(exc) from None
    rows = run_quality(config)
    settings = (f"Settings: {config.space}, {config.search_trials}-trial TPE search with proxy `{config.proxy.label}` "
                f"and latency `{config.latency.label}`; refine: top {config.refine_top} at {config.refine_epochs} "
                f"epoch(s); every network in the table trained {config.epochs} epochs on {config.data}, seeds "
                f"{', '.join(map(str, config.seeds))}; random: best of {config.random_archs} feasible.")
    text = "\n".join([f"Command: `nas benchmark {NAME} {shlex.join(args.argv[1:])}`  ", *machine_lines(args.threads),
                      settings, "", quality_markdown(rows), "", *headline(rows)])
    print(text)
    if not args.no_write:
        append_section("Quality: searched vs scaled references vs random at equal latency", text, args.doc)
    return 0
