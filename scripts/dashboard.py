#!/usr/bin/env python
"""Open a run folder in optuna-dashboard (a shim over `nas dashboard`).

    python scripts/dashboard.py runs/my-study [--port 8081]
"""
import sys

from nas.cli import main

if __name__ == "__main__":
    sys.exit(main(["dashboard", *sys.argv[1:]]))
