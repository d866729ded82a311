#!/usr/bin/env python
"""Redraw pareto.png and leaderboard.md of a run folder (a shim over `nas report`).

    python scripts/report.py runs/my-study
"""
import sys

from nas.cli import main

if __name__ == "__main__":
    sys.exit(main(["report", *sys.argv[1:]]))
