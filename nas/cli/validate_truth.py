"""The ground-truth parts of ``nas validate-proxy`` (issue 14): train the converged truth over several spaces
(``--only truth``), say how far it got (``--only truth-status``), and validate every signal against it,
per space and across spaces (``--only truth-report``); merge a cache trained elsewhere (``--merge-cache``).

    nas validate-proxy --only truth --spaces tiny_32px:48 mobile_32px:12 --epochs 12 --threads 1
    nas validate-proxy --only truth --spaces tiny_32px:48 mobile_32px:12 --epochs 12 --device cuda \\
        --cuda-graphs --lanes 4 --cache $OUT/train_cache.jsonl          # one of several GPU workers
    nas validate-proxy --only truth-report --spaces tiny_32px:48 mobile_32px:12,plateau=0,budget=0 --epochs 12

All logic lives in nas.validation (truth, lanes, truth_analysis, truth_report).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

from nas.cli.common import CliError, non_negative_int, positive_int

__all__ = ["TRUTH_PARTS", "add_truth_arguments", "parse_space_plan", "run_truth"]

TRUTH_PARTS = ("truth", "truth-status", "truth-report")
#: Defaults of the flags the classic program shares, when a truth part runs.
TRUTH_DEFAULTS = {"epochs": 12, "gt_seeds": 2, "budget_multiplier": 2}


def add_truth_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of the truth parts and of training on a GPU."""
    g = p.add_argument_group("ground truth across spaces (--only truth, truth-status, truth-report)")
    g.add_argument("--spaces", nargs="+", default=None, metavar="SPACE:N[,short=S][,plateau=P][,budget=B]",
                   help="spaces and how many of each one's archs get the full truth (e.g. tiny_32px:48 "
                        "mobile_32px:12); short/plateau/budget override --short-archs, --plateau-archs and "
                        "--budget-archs for that space")
    g.add_argument("--short-archs", type=non_negative_int, default=30,
                   help="archs trained 1 and 2 epochs, seed --seed (default: 30)")
    g.add_argument("--plateau-archs", type=non_negative_int, default=5,
                   help="archs also trained 1.5×E epochs (default: 5)")
    g.add_argument("--predictor-k", default="5,10,20", help="K values of predictor:K (default: 5,10,20)")
    g.add_argument("--predictor-repeats", type=positive_int, default=10,
                   help="random choices of the K fitting archs (default: 10)")
    g.add_argument("--merge-cache", default=None, metavar="FILE",
                   help="first append to --cache every training of FILE (e.g. a GPU run's cache) it lacks")
    d = p.add_argument_group("where and how trainings run")
    d.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    d.add_argument("--cuda-graphs", action="store_true", help="replay each full batch as a CUDA graph (CUDA only)")
    d.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="bf16: mixed precision on CUDA (a different recipe, cached apart; default: fp32)")
    d.add_argument("--lanes", type=positive_int, default=1,
                   help="networks this process trains at once, each on its own CUDA stream (default: 1)")


def parse_space_plan(text: str, args: argparse.Namespace) -> Any:
    """``SPACE:N[,short=S][,plateau=P][,budget=B]`` → :class:`nas.validation.truth.SpacePlan`."""
    from nas.validation.truth import SpacePlan

    head, *opts = text.split(",")
    space, sep, n = head.rpartition(":")
    if not sep or not space or not n.isdigit():
        raise CliError(f"--spaces {text!r}: expected SPACE:N, e.g. tiny_32px:48")
    fields = {"short_n": args.short_archs, "plateau_n": args.plateau_archs, "budget_n": args.budget_archs}
    names = {"short": "short_n", "plateau": "plateau_n", "budget": "budget_n"}
    for opt in opts:
        key, _, value = opt.partition("=")
        if key.strip() not in names or not value.strip().isdigit():
            raise CliError(f"--spaces {text!r}: options are short=S, plateau=P, budget=B (integers)")
        fields[names[key.strip()]] = int(value)
    try:
        return SpacePlan(space, int(n), **fields)
    except ValueError as exc:
        raise CliError(exc) from None


def truth_plan(args: argparse.Namespace) -> Any:
    """The :class:`nas.validation.truth.TruthPlan` of the flags."""
    from nas.validation.analysis import gt_seeds
    from nas.validation.truth import TruthPlan

    if not args.spaces:
        raise CliError("--only truth…: give --spaces, e.g. --spaces tiny_32px:48 mobile_32px:12")
    spaces = tuple(parse_space_plan(t, args) for t in args.spaces)
    try:
        return TruthPlan(spaces, epochs=args.epochs, seeds=tuple(gt_seeds(args.seed, args.noise_seed, args.gt_seeds)),
                         budget_factor=args.budget_multiplier)
    except ValueError as exc:
        raise CliError(exc) from None


def predictor_ks(text: str) -> list[int]:
    try:
        ks = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise CliError(f"--predictor-k {text!r}: give comma-separated integers, e.g. 5,10") from None
    if not ks or any(k < 3 for k in ks):
        raise CliError(f"--predictor-k {text!r}: every K must be ≥ 3")
    return ks


def _merge(args: argparse.Namespace) -> None:
    from pathlib import Path

    from nas.validation.cache import merge_caches, train_record_key

    src = Path(args.merge_cache)
    if not src.is_file():
        raise CliError(f"--merge-cache: no file {src}")
    added = merge_caches(src, args.cache, train_record_key)
    print(f"merged {added} training(s) from {src} into {args.cache}", file=sys.stderr)


def _status(validators: list[Any], plan: Any) -> None:
    from nas.validation.truth import truth_status

    for v, sp in zip(validators, plan.spaces):
        parts = truth_status(v, sp, plan)
        print(f"{sp.space}: " + "; ".join(f"{k} {c['ok']}/{c['planned']}" + (f" ({c['failed']} failed)" if c["failed"]
                                                                            else "") for k, c in parts.items()))


def _train(validators: list[Any], plan: Any, args: argparse.Namespace) -> None:
    """Train the plan tier by tier (main, short, plateau and budget), space by space; stop at the deadline."""
    from nas.validation.lanes import run_lanes
    from nas.validation.truth import truth_jobs
    from nas.validation.validator import DeadlineReached

    if str(args.device).startswith("cuda") and args.precision == "fp32":
        import torch

        torch.backends.cudnn.allow_tf32 = False  # fp32 means fp32: the same arithmetic the CPU trainings use
        torch.backends.cuda.matmul.allow_tf32 = False
    try:
        for parts in (("main",), ("short",), ("plateau", "budget")):
            for v, sp in zip(validators, plan.spaces):
                jobs = truth_jobs(v, sp, plan, parts)
                run_lanes(v, jobs, args.lanes, f"{sp.space} {'+'.join(parts)}", log=True)
    except DeadlineReached as exc:
        print(f"stopped: {exc}; rerun the same command to continue", file=sys.stderr)


def run_truth(args: argparse.Namespace, make_validator: Any, command: str) -> int:
    """Run the truth part ``args.only``; ``make_validator(args, space)`` builds each space's validator;
    ``command`` is quoted by the report."""
    from nas.bench.common import append_markdown
    from nas.validation.truth_analysis import analyse_truth
    from nas.validation.truth_plot import write_truth_figures
    from nas.validation.truth_report import truth_markdown

    plan = truth_plan(args)
    ks = predictor_ks(args.predictor_k)
    if args.merge_cache:
        _merge(args)
    validators = [make_validator(args, sp.space) for sp in plan.spaces]
    if args.only == "truth":
        _train(validators, plan, args)
    if args.only in ("truth", "truth-status"):
        _status(validators, plan)
        return 0
    for v, sp in zip(validators, plan.spaces):
        v.score_proxies(v.archs(sp.n))
    analysis = analyse_truth(validators, plan, n_boot=args.bootstrap, ks=ks, repeats=args.predictor_repeats)
    images = [] if args.no_write else write_truth_figures(analysis, args.img_dir)
    text = truth_markdown(analysis, command=command, images=[_relative(p, args.docs.parent) for p in images])
    print(text)
    if not args.no_write:
        append_markdown(text, args.docs)
        print(f"appended the report to {args.docs}; pictures: {', '.join(map(str, images))}", file=sys.stderr)
    return 0


def _relative(path: Path, start: Path) -> str:
    """``path`` as a link from a Markdown file in ``start`` (POSIX separators)."""
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def training_setup(args: argparse.Namespace, config: Any) -> dict[str, Any]:
    """The :class:`nas.validation.setup.Setup` fields of the device flags, and ``config`` (the recipe) with
    the chosen precision; CliError for a bad device name."""
    from nas.device import check_device_name

    try:
        device = check_device_name(args.device)
        config = dataclasses.replace(config, precision=args.precision)
    except ValueError as exc:
        raise CliError(exc) from None
    return {"training": config, "device": device, "cuda_graphs": args.cuda_graphs}
