"""The training-recipe flags, defined once for every command that trains (``nas train``,
``nas validate-proxy``): :func:`add_recipe_args` and :func:`recipe_from_args` → a
:class:`nas.train.config.TrainConfig`."""
from __future__ import annotations

import argparse

from nas.cli.common import CliError, non_negative_float, non_negative_int, positive_float, positive_int, seed_arg
from nas.train.config import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, OPTIMIZERS, SCHEDULES, TrainConfig

__all__ = ["add_recipe_args", "recipe_from_args"]


def _per_optimizer(values: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:g}" for name, value in values.items())


def add_recipe_args(parser: argparse.ArgumentParser, *, epochs: int | None, epochs_help: str, seed_help: str) -> None:
    """Add ``--epochs`` (default ``epochs``), ``--batch-size``, ``--optimizer``, ``--lr``, ``--weight-decay``,
    ``--schedule``, ``--seed`` and ``--threads`` to ``parser``; the defaults are :class:`TrainConfig`'s."""
    parser.add_argument("--epochs", type=positive_int, default=epochs,
                        help=epochs_help if epochs is None else f"{epochs_help} (default: {epochs})")
    parser.add_argument("--batch-size", type=positive_int, default=TrainConfig.batch_size,
                        help=f"batch size (default: {TrainConfig.batch_size})")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=TrainConfig.optimizer,
                        help="%(choices)s (default: %(default)s)")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help=f"peak learning rate (default: {_per_optimizer(DEFAULT_LR)})")
    parser.add_argument("--weight-decay", type=non_negative_float, default=None,
                        help=f"weight decay (default: {_per_optimizer(DEFAULT_WEIGHT_DECAY)})")
    parser.add_argument("--schedule", choices=SCHEDULES, default=TrainConfig.schedule,
                        help="learning-rate schedule: %(choices)s (default: %(default)s)")
    parser.add_argument("--seed", type=seed_arg, default=0, help=f"{seed_help} (default: 0)")
    parser.add_argument("--threads", type=positive_int, default=None, help="torch intra-op threads (default: torch's own, usually one per core)")


def recipe_from_args(args: argparse.Namespace, *, device: str = "cpu") -> TrainConfig:
    """The :class:`TrainConfig` of the flags :func:`add_recipe_args` added; CliError (one line) if the
    combination is invalid."""
    try:
        return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                           weight_decay=args.weight_decay, schedule=args.schedule, seed=args.seed,
                           num_threads=args.threads, device=device)
    except ValueError as exc:
        raise CliError(exc) from None
