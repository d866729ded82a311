#!/usr/bin/env python
"""Print a search space: choices, size, ops, skeleton cost (a shim over `nas inspect --space`).

    python scripts/inspect_space.py search_spaces/mnasnet.yaml [--no-cost]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one
from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["inspect", "--space", *sys.argv[1:]]))
