#!/usr/bin/env python
"""Build (or resume) a latency lookup table for a space on this machine (a shim over `nas build-lut`).

    python scripts/build_lut.py --space mnasnet --device cpu --threads 1 --out lut/mnasnet.json
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one
from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["build-lut", *sys.argv[1:]]))
