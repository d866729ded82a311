#!/usr/bin/env python
"""Print a search space: skeleton, searched/fixed stages, per-stage choices, size, distinct ops, skeleton cost.

    python scripts/inspect_space.py search_spaces/mnasnet.yaml
    python scripts/inspect_space.py search_spaces/mobile_32px.yaml --no-cost
"""
from __future__ import annotations

import argparse
import sys

from nas.arch import ArchError
from nas.space import SpaceError, describe_space, load_space


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Show a search space file: its choices per stage, the number of architectures "
                    "(space.size()), the number of distinct layers for a latency table (len(space.ops())) "
                    "and the skeleton's parameters and MACs.")
    parser.add_argument("space", help="a search space YAML file, e.g. search_spaces/mnasnet.yaml")
    parser.add_argument("--no-cost", action="store_true", help="skip building the skeleton to count params/MACs")
    args = parser.parse_args(argv)
    try:
        space = load_space(args.space)
        text = describe_space(space, costs=not args.no_cost)
    except (SpaceError, ArchError, OSError) as exc:
        parser.exit(2, f"inspect_space.py: error: {exc}\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
