#!/usr/bin/env python
"""Open a run folder in optuna-dashboard (a shim over `nas dashboard`).

    python scripts/dashboard.py runs/my-study [--port 8081]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one
from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["dashboard", *sys.argv[1:]]))
