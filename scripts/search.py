#!/usr/bin/env python
"""Search a space for networks that meet a latency target (a shim over `nas search`; see `nas search --help`).

    python scripts/search.py --latency-target 20ms
    python scripts/search.py --latency-target 5ms --space mobile_32px --trials 200 --latency lut:lut.json
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one
from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["search", *sys.argv[1:]]))
