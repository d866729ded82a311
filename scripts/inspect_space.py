#!/usr/bin/env python
"""Print a search space: choices, size, ops, skeleton cost (a shim over `nas inspect --space`).

    python scripts/inspect_space.py search_spaces/mnasnet.yaml [--no-cost]
"""
import sys

from nas.cli import main

if __name__ == "__main__":
    sys.exit(main(["inspect", "--space", *sys.argv[1:]]))
