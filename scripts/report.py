#!/usr/bin/env python
"""Redraw pareto.png and leaderboard.md of a run folder (a shim over `nas report`).

    python scripts/report.py runs/my-study
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one
from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["report", *sys.argv[1:]]))
