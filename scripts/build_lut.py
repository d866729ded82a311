#!/usr/bin/env python
"""Build (or resume) a latency lookup table for a space on this machine (a shim over `nas build-lut`).

    python scripts/build_lut.py --space mnasnet --device cpu --threads 1 --out lut/mnasnet.json
"""
import sys

from nas.cli import main

if __name__ == "__main__":
    sys.exit(main(["build-lut", *sys.argv[1:]]))
