"""``nas inspect``: print an architecture (per-stage table, parameters, MACs, activation memory, block strings)
or a search space (choices per stage, number of architectures, distinct ops, skeleton cost).

    nas inspect mnasnet_a1
    nas inspect runs/my-study/pareto/0042_mnasnet-t0042.yaml --resolution 32
    nas inspect --space mnasnet                  # a bundled space, or a space YAML
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nas.cli.common import CliError, pixels
from nas.errors import first_line

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from nas.arch.io import zoo_names

    p = sub.add_parser("inspect", help="show an architecture or a search space",
                       description="Show the structure and cost of a BlockArgs YAML file or zoo network, or of a "
                                   "search space (--space, or a YAML file with a skeleton).",
                       epilog=f"zoo networks: {', '.join(zoo_names())}")
    p.add_argument("target", metavar="ARCH_OR_SPACE", help="a BlockArgs YAML file or zoo name; with --space a "
                                                           "search space YAML or bundled space name")
    p.add_argument("--space", action="store_true", help="TARGET is a search space")
    p.add_argument("--resolution", type=pixels(32), default=None,
                   help="input size in pixels for MACs and memory (default: the file's resolution)")
    p.add_argument("--no-cost", action="store_true", help="spaces: skip building the skeleton to count params/MACs")
    p.set_defaults(run=run, prog=p.prog)
    return p


def _is_space_file(target: str) -> bool:
    """A YAML file with a ``skeleton`` key is a search space, not an architecture."""
    path = Path(target)
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8", errors="replace")
    return any(line.startswith("skeleton:") for line in text.splitlines())


def run(args: argparse.Namespace) -> int:
    from nas.arch.io import load_arch
    from nas.report.inspect import describe, describe_space
    from nas.space.load import load_space

    try:
        if args.space or _is_space_file(args.target):
            text = describe_space(load_space(args.target), costs=not args.no_cost)
        else:
            text = describe(load_arch(args.target), args.resolution)
    except (ValueError, OSError) as exc:  # ArchError and SpaceError are ValueErrors
        raise CliError(exc) from None
    except (RuntimeError, MemoryError) as exc:  # e.g. torch cannot allocate the activations of a huge input
        raise CliError(f"cannot count the costs of {args.target}: {first_line(exc)}") from None
    print(text)
    return 0
