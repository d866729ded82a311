"""``nas validate-proxy``: validate the zero-cost accuracy proxies against trained accuracy on sampled architectures.

    nas validate-proxy --space mobile_32px --n 30 --epochs 1 --gt-seeds 2 --data fashion-mnist --threads 1

Runs, in this order: budget stability (first --budget-archs archs: ground truth at E epochs vs one training
at --budget-multiplier × E), the noise ceiling (first --noise-archs archs with --seed and --noise-seed),
and the main part (--n archs at E epochs, each trained with the --gt-seeds seeds whose mean top-1 is its
ground truth; every proxy scored), then prints the report, appends it to docs/benchmarks.md and writes
docs/img/proxy_<name>.png (unless --no-write). Every finished training is cached in --cache (JSONL); a
training in progress checkpoints to ckpt/ beside it, so Ctrl-C (or --stop-after) and rerunning the same
command continues where it stopped. Start the same command twice to use two cores: the workers share
the cache and claim their trainings. ``--only pilot`` times one epoch of the smallest, median and
largest of the first --n archs; ``--only speed`` times the trainer's epochs under its speed settings
(before/after channels-last on the CPU; eager, CUDA graphs, bf16 with --device cuda) and appends the table.
The converged ground truth over several spaces (issue 14) is ``--only truth``, ``truth-status`` and
``truth-report`` with ``--spaces`` (:mod:`nas.cli.validate_truth`). All logic lives in nas.validation.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from nas.cli.common import CliError, non_negative_int, pixels, positive_float, positive_int
from nas.cli.recipe import add_recipe_args, recipe_from_args
from nas.cli.validate_truth import TRUTH_DEFAULTS, TRUTH_PARTS, add_truth_arguments, run_truth, training_setup
from nas.validation.proxy_scores import PROXY_INPUTS

__all__ = ["DEFAULT_CACHE", "add_parser", "command_line", "run"]

NAME = "validate-proxy"
PARTS = ("budget", "noise", "main")
DEFAULT_CACHE = Path("runs/proxy-validation/train_cache.jsonl")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``nas validate-proxy``."""
    p = subparsers.add_parser(NAME, help="validate the zero-cost proxies against trained accuracy",
                              description="Validate the zero-cost accuracy proxies against trained accuracy on sampled "
                                          "architectures: budget stability, noise ceiling, then every proxy against "
                                          "the trained ground truth. Every training is cached and resumable.")
    _add_arguments(p)
    p.set_defaults(run=run, prog=p.prog)
    return p


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", default="mobile_32px", help="search space: a bundled name or a YAML file "
                                                          "(default: mobile_32px)")
    p.add_argument("--n", type=positive_int, default=30, help="archs in the main part (default: 30)")
    p.add_argument("--data", default="fashion-mnist", help="dataset spec (default: fashion-mnist)")
    p.add_argument("--train-size", type=positive_int, default=None, help="stratified train subset (default: all)")
    p.add_argument("--test-size", type=positive_int, default=None, help="stratified test subset (default: all)")
    p.add_argument("--resolution", type=pixels(8), default=None, help="input side in px, 8–2048 (default: native)")
    add_recipe_args(p, epochs=None, epochs_help="training budget E in epochs (default: 3, or 12 for the truth parts)",
                    seed_help="arch sampling, training and proxy seed")
    p.add_argument("--noise-archs", type=positive_int, default=10, help="archs for the noise ceiling (default: 10)")
    p.add_argument("--noise-seed", type=non_negative_int, default=1, help="second training seed (default: 1)")
    p.add_argument("--gt-seeds", type=positive_int, default=None,
                   help="training seeds averaged into each arch's ground truth: --seed, then --noise-seed, "
                        "--noise-seed+1, … (default: 1, or 2 for the truth parts; 2 halves the seed noise)")
    p.add_argument("--budget-archs", type=non_negative_int, default=10, help="archs for budget stability (default: 10)")
    p.add_argument("--budget-multiplier", type=positive_int, default=None,
                   help="long budget = this × E (default: 3, or 2 for the truth parts)")
    _add_proxy_arguments(p)
    _add_output_arguments(p)
    add_truth_arguments(p)


def _add_proxy_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--proxies", default=None, help="comma-separated proxy names (default: all; params and macs "
                   "are always scored)")
    p.add_argument("--ensemble", action="append", default=[], metavar="A+B[+C]",
                   help="a declared mean-rank ensemble to evaluate (repeatable)")
    p.add_argument("--proxy-batch", type=positive_int, default=64, help="images in the proxy batch (default: 64)")
    p.add_argument("--proxy-input", choices=PROXY_INPUTS, default="data",
                   help="proxy batch: training images, or N(0,1) noise as a search without --data uses "
                        "(default: data; cached separately)")
    p.add_argument("--bootstrap", type=positive_int, default=2000, help="bootstrap resamples (default: 2000)")


def _add_output_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                   help="training cache (JSONL); proxy_cache.jsonl and ckpt/ live beside it "
                        f"(default: {DEFAULT_CACHE})")
    p.add_argument("--docs", type=Path, default=Path("docs/benchmarks.md"), help="report is appended here")
    p.add_argument("--img-dir", type=Path, default=Path("docs/img"),
                   help="pictures go here: proxy_<name>.png; truth_<space>.png for --only truth-report (default: docs/img)")
    p.add_argument("--no-write", action="store_true", help="print the report only")
    p.add_argument("--only", choices=("pilot", "speed") + PARTS + ("report",) + TRUTH_PARTS, default=None,
                   help="run one part (report: from the caches only, nothing is trained; speed: time the trainer; "
                        "truth, truth-status, truth-report: the ground truth across --spaces)")
    p.add_argument("--speed-steps", default="10,30", metavar="A,B",
                   help="--only speed: time runs of A and B batches (default: 10,30)")
    p.add_argument("--no-channels-last", action="store_true",
                   help="train in the default NCHW layout (channels-last is faster on CPU)")
    p.add_argument("--stop-after", type=positive_float, default=None, metavar="MINUTES",
                   help="start no training after this many minutes; stop a running one at its next epoch end")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def command_line(args: argparse.Namespace) -> str:
    """The command the report quotes: ``nas validate-proxy`` and the arguments it was given (``args.argv``,
    set by :func:`nas.cli.main`), however it was started (``nas``, ``python -m nas``, the script shim)."""
    return shlex.join(["nas", NAME, *getattr(args, "argv", [])])


def _proxy_names(args: argparse.Namespace) -> list[str] | None:
    """The --proxies list (None: all), after checking it and every --ensemble against the registry."""
    from nas import proxies as registry

    names = None
    if args.proxies is not None:
        names = [s.strip() for s in args.proxies.split(",") if s.strip()]
        if not names:
            raise CliError("--proxies: give at least one name")
    known = registry.names()
    for name in (names or []) + [p for e in args.ensemble for p in e.split("+")]:
        if name not in known:
            raise CliError(f"unknown proxy {name!r}; expected one of {', '.join(known)}")
    for e in args.ensemble:
        parts = e.split("+")
        if not 2 <= len(parts) <= 3 or len(set(parts)) != len(parts):
            raise CliError(f"--ensemble {e!r}: give 2 or 3 different proxy names joined by '+'")
    return names


def _validator(args: argparse.Namespace, space_name: str | None = None) -> Any:
    """The :class:`nas.validation.validator.Validator` of ``args`` (for ``space_name``, default --space);
    CliError for any bad input."""
    from nas.data import DataError, parse_spec
    from nas.space import SpaceError, load_space
    from nas.validation.setup import Setup
    from nas.validation.validator import Validator

    try:
        parse_spec(args.data)
        space = load_space(space_name or args.space)
    except (DataError, SpaceError, OSError) as exc:
        raise CliError(exc) from None
    names = _proxy_names(args)
    setup = Setup(data=args.data, train_size=args.train_size, test_size=args.test_size, resolution=args.resolution,
                  channels_last=not args.no_channels_last, **training_setup(args, recipe_from_args(args)))
    deadline = time.time() + 60 * args.stop_after if args.stop_after else None
    v = Validator(space, setup, seed=args.seed, cache=args.cache, proxies=names, proxy_batch=args.proxy_batch,
                  proxy_input=args.proxy_input, progress=not args.no_progress, deadline=deadline)
    if v.train_cache.bad_lines:
        print(f"warning: {v.train_cache.bad_lines} unreadable line(s) in {args.cache} ignored", file=sys.stderr)
    return v


def run(args: argparse.Namespace) -> int:
    """Run the parts ``--only`` asks for (all by default), then report; or time the pilot or the trainer; or
    a truth part (:mod:`nas.cli.validate_truth`)."""
    _defaults(args)
    if args.merge_cache is not None and args.only not in TRUTH_PARTS:
        raise CliError(f"--merge-cache works with --only {', '.join(TRUTH_PARTS)} (it fills the truth's training "
                       f"cache), not {'--only ' + args.only if args.only else 'the default parts'}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.only in TRUTH_PARTS:
        return _guarded(lambda: run_truth(args, _validator, command_line(args)))
    v = _validator(args)
    if args.only == "pilot":
        return _guarded(lambda: _pilot(v, args))
    if args.only == "speed":
        return _guarded(lambda: _speed(v, args))
    analysis = _guarded(lambda: _run_parts(v, args))
    _report(analysis, args)
    return 0


def _run_parts(v: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Train what the chosen parts need (until done or --stop-after), score the proxies, and analyse."""
    from nas.validation.analysis import analyse, gt_seeds
    from nas.validation.validator import DeadlineReached

    E = args.epochs
    stopped = None
    try:
        if args.only in (None, "budget"):
            v.run_jobs(v.budget_jobs(E, args.budget_multiplier, args.budget_archs), "budget")
        if args.only in (None, "noise"):
            v.run_jobs(v.noise_jobs(E, args.noise_archs, args.noise_seed), "noise")
        if args.only in (None, "main"):
            v.score_proxies(v.archs(args.n))
            v.run_jobs(v.main_jobs(E, args.n, gt_seeds(args.seed, args.noise_seed, args.gt_seeds)), "main")
    except DeadlineReached as exc:
        stopped = str(exc)
        print(f"stopped: {stopped}; rerun the same command to continue", file=sys.stderr)
    # proxies of every trained arch of the main list, so a partial report has them
    if args.only in (None, "main", "report") and stopped is None:
        v.score_proxies(v.archs(args.n))
    return analyse(v, n=args.n, epochs=E, multiplier=args.budget_multiplier, noise_archs=args.noise_archs,
                   noise_seed=args.noise_seed, budget_archs=args.budget_archs, ensembles=args.ensemble,
                   n_boot=args.bootstrap, n_gt_seeds=args.gt_seeds)


def _report(analysis: dict[str, Any], args: argparse.Namespace) -> None:
    """Print the report; unless --no-write (or a single training part), append it to --docs and draw the
    scatter plots into --img-dir."""
    from nas.bench.common import append_markdown
    from nas.validation.pilot import load_pilot
    from nas.validation.report import report_markdown, write_scatter

    text = report_markdown(analysis, command=command_line(args), pilot=load_pilot(args.cache.parent))
    print(text)
    if not args.no_write and args.only in (None, "report"):
        append_markdown(text, args.docs)
        pngs = write_scatter(analysis, args.img_dir)
        print(f"appended the report to {args.docs}; wrote {len(pngs)} scatter plot(s) to {args.img_dir}",
              file=sys.stderr)


def _pilot(v: Any, args: argparse.Namespace) -> int:
    """Time the pilot, save it beside the cache and print it with the program's estimated cost."""
    from nas.validation.pilot import run_pilot, save_pilot

    pilot = run_pilot(v, args.n)
    path = save_pilot(args.cache.parent, pilot)
    rows = pilot["rows"]
    first = next(iter(rows.values()))
    print(f"pilot: batch {first['batch_size']}, {first['train_images']} train images at {first['resolution_px']} px, "
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
    return 0


def _defaults(args: argparse.Namespace) -> None:
    """Fill the flags whose default depends on the part: the truth parts' (:data:`TRUTH_DEFAULTS`) or the
    classic program's (3 epochs, 1 seed, 3× budget)."""
    classic = {"epochs": 3, "gt_seeds": 1, "budget_multiplier": 3}
    defaults = TRUTH_DEFAULTS if args.only in TRUTH_PARTS else classic
    for name, value in defaults.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)


def _guarded(fn: Any) -> Any:
    """``fn()`` with library errors as one-line CliErrors (SIGTERM acts as Ctrl-C in every command:
    :func:`nas.cli.main`, and nas.train saves the checkpoint on it)."""
    from nas.data import DataError
    from nas.train import CheckpointError

    try:
        return fn()
    except (DataError, CheckpointError, ValueError, OSError) as exc:
        raise CliError(exc) from None


def _speed(v: Any, args: argparse.Namespace) -> int:
    """Time the trainer under its speed settings; print the table and append it to --docs."""
    from nas.bench.common import append_markdown
    from nas.validation.pilot import run_speed, speed_markdown

    try:
        a, b = (int(t) for t in args.speed_steps.split(","))
    except ValueError:
        raise CliError(f"--speed-steps {args.speed_steps!r}: give two integers A,B with 1 ≤ A < B") from None
    text = speed_markdown(run_speed(v, args.n, steps=(a, b)), command=command_line(args))
    print(text)
    if not args.no_write:
        append_markdown(text, args.docs)
        print(f"appended the table to {args.docs}", file=sys.stderr)
    return 0
