"""``nas train``: train one architecture for a few epochs on a local dataset and record its test accuracy.

    nas train ARCH.yaml --data fashion-mnist --epochs 5 [--out DIR]

ARCH is a YAML file or a zoo name. Writes DIR/checkpoint.pt after every epoch and
DIR/result.json at the end (DIR defaults to runs/train/<arch-name>/). Ctrl-C saves the
checkpoint; rerunning the same command resumes. Usage errors exit 2, Ctrl-C exits 130 (SIGTERM 143).
All logic lives in nas.data and nas.train.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from nas.cli.common import CliError, output_folder, pixels, positive_int
from nas.cli.recipe import add_recipe_args, recipe_from_args
from nas.errors import first_line

__all__ = ["add_parser", "run"]

NAME = "train"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``nas train``."""
    p = subparsers.add_parser(NAME, help="train one architecture and record its test accuracy",
                              description="Train one architecture for a few epochs on a local dataset and record its test accuracy.")
    p.add_argument("arch", metavar="ARCH", help="architecture YAML file or zoo name")
    p.add_argument("--data", default="fashion-mnist",
                   help="dataset spec: fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, folder:DIR, synthetic, … "
                        "(see nas.data; default: fashion-mnist)")
    add_recipe_args(p, epochs=10, epochs_help="training epochs", seed_help="training and data-subset seed")
    p.add_argument("--resolution", type=pixels(8), default=32, help="input side in pixels, 8–2048 (default: 32)")
    p.add_argument("--train-size", type=positive_int, default=None, help="stratified train subset size (default: all)")
    p.add_argument("--test-size", type=positive_int, default=None, help="stratified test subset size (default: all)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default: runs/train/<arch-name>/)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(run=run, prog=p.prog)
    return p


def _prepare(args: argparse.Namespace) -> tuple[Any, Any, Any, str]:
    """The config, the data, the built, checked model of ``args`` and its arch key; CliError for any bad
    input."""
    from nas.arch.io import load_arch
    from nas.arch.key import arch_key
    from nas.data import DataError, load_dataset
    from nas.device import resolve_device
    from nas.model.builder import build_model
    from nas.train import check_model, seed_everything

    config = recipe_from_args(args, device=args.device)
    try:
        resolve_device(config.device)  # a device this machine lacks is a usage error, before any work
        arch = load_arch(args.arch)
        data = load_dataset(args.data, resolution=args.resolution, train_size=args.train_size,
                            test_size=args.test_size, seed=args.seed)
        seed_everything(args.seed)
        model = build_model(arch, num_classes=data.num_classes, in_channels=data.in_channels)
        check_model(model, data)
    except ImportError as exc:
        raise CliError(f"cannot build {args.arch}: {exc}") from None
    except (DataError, OSError, ValueError) as exc:  # nas.arch.ArchError is a ValueError
        raise CliError(exc) from None
    return config, data, model, arch_key(arch)


def _out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation that failed (torch's CPU or CUDA allocator, or Python's)."""
    import torch

    return isinstance(exc, (MemoryError, torch.OutOfMemoryError)) or (
        isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc))


def _memory_error(args: argparse.Namespace, exc: BaseException) -> CliError:
    return CliError(f"{args.arch}: out of memory at batch {args.batch_size}, {args.resolution} px "
                    f"({first_line(exc)}); lower --batch-size or --resolution")


def run(args: argparse.Namespace) -> int:
    """Train ``args.arch``; write the checkpoint and ``result.json`` under ``--out``."""
    from nas.train import CheckpointError, train

    name = Path(args.arch).stem  # the file's stem, or the zoo name
    out = output_folder(args.out if args.out is not None else Path("runs") / "train" / name)
    try:
        config, data, model, key = _prepare(args)
        # KeyboardInterrupt: train() has saved the checkpoint; nas.cli.main reports it
        result = train(model, data, config, checkpoint=out / "checkpoint.pt", progress=not args.no_progress,
                       identity={"arch_key": key})
    except CheckpointError as exc:
        raise CliError(exc) from None
    except (RuntimeError, MemoryError) as exc:
        if _out_of_memory(exc):
            raise _memory_error(args, exc) from None
        raise
    except FloatingPointError as exc:
        print(f"{args.prog}: {exc}", file=sys.stderr)
        return 1
    result.save(out / "result.json")
    print(f"{name}: test top-1 {result.test_top1:.4f} after {result.epochs_done} epochs "
          f"({result.seconds:.1f} s, {result.n_params:,} params); wrote {out / 'result.json'}")
    return 0
