#!/usr/bin/env python
"""Export a study's best networks as BlockArgs YAML (a shim over `nas export`).

    python scripts/export.py runs/my-study
    python scripts/export.py --storage sqlite:///runs/my-study/study.db --study my-study --out exported/
"""
import sys

from nas.cli import main

if __name__ == "__main__":
    sys.exit(main(["export", *sys.argv[1:]]))
