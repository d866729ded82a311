#!/usr/bin/env python
"""Print an architecture: per-stage table, parameters, MACs, activation memory and its block strings.

    python scripts/inspect_arch.py mnasnet_a1
    python scripts/inspect_arch.py runs/my-study/pareto/trial-0042.yaml --resolution 32
"""
from __future__ import annotations

import sys

import nas.zoo
from nas.arch import ArchError, load_arch
from nas.cli import OneLineParser
from nas.describe import describe


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(
        description="Show the structure and cost of a BlockArgs YAML file or a zoo network.",
        epilog=f"zoo networks: {', '.join(nas.zoo.names())}")
    parser.add_argument("arch", help="a BlockArgs YAML file or a zoo name")
    parser.add_argument("--resolution", type=int, default=None,
                        help="input size in pixels for MACs and memory (default: the file's resolution)")
    args = parser.parse_args(argv)
    if args.resolution is not None and args.resolution < 32:
        parser.fail(f"--resolution must be ≥ 32 (got {args.resolution})")
    try:
        arch = load_arch(args.arch)
    except (ArchError, OSError) as exc:
        parser.fail(exc)
    print(describe(arch, args.resolution))
    return 0


if __name__ == "__main__":
    sys.exit(main())
