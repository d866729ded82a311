#!/usr/bin/env python
"""Redraw pareto.png and rewrite leaderboard.md of an existing run directory.

    python scripts/report.py runs/my-study
    python scripts/report.py runs/my-study --storage postgresql://127.0.0.1/nas --study my-study

The storage defaults to the one run.json records (else sqlite:///RUN_DIR/study.db), the study to the one
run.json names. The leaderboard lists RUN_DIR/pareto.yaml: run scripts/export.py first if it is missing.
"""
from __future__ import annotations

import sys

from nas.cli import OneLineParser
from nas.latency.units import latency_arg


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(description="Write RUN_DIR/pareto.png and RUN_DIR/leaderboard.md for a finished or "
                                  "running search.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, e.g. runs/<study>")
    p.add_argument("--storage", default=None, help="Optuna storage URL (default: from RUN_DIR/run.json, else "
                                                   "sqlite:///RUN_DIR/study.db)")
    p.add_argument("--study", default=None, help="study name (default: from RUN_DIR/run.json)")
    p.add_argument("--target", default=None, type=latency_arg, metavar="TIME",
                   help="latency target, e.g. 20ms (default: the study's own)")
    args = p.parse_args(argv)

    from nas.report import load_run_study, open_run, write_report

    try:
        study = load_run_study(open_run(args.run_dir, storage=args.storage, study_name=args.study))
    except ValueError as exc:
        p.fail(exc)
    for path in write_report(study, args.run_dir, args.target):
        print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
