#!/usr/bin/env python
"""Print an architecture: stages, params, MACs, memory, strings (a shim over `nas inspect`).

    python scripts/inspect_arch.py mnasnet_a1
"""
import sys

from nas.cli import main

if __name__ == "__main__":
    sys.exit(main(["inspect", *sys.argv[1:]]))
