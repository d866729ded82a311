#!/usr/bin/env python
"""Print an architecture: stages, params, MACs, memory, strings (a shim over `nas inspect`).

    python scripts/inspect_arch.py mnasnet_a1
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one
from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["inspect", *sys.argv[1:]]))
