"""``nas report``: redraw ``pareto.png`` and rewrite ``leaderboard.md`` of a run folder.

    nas report runs/my-study
    nas report runs/my-study --storage postgresql://127.0.0.1/nas --study my-study

The storage defaults to the one run.json records (else sqlite:///RUN_DIR/study.db), the study to the one
run.json names. The leaderboard lists RUN_DIR/pareto.yaml: run `nas export` first if it is missing. With a
``--target`` other than the study's own, both go into RUN_DIR/target-<T>ms/, beside that target's export.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nas.cli.common import CliError, latency_arg

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="redraw pareto.png and leaderboard.md of a run",
                       description="Write RUN_DIR/pareto.png and RUN_DIR/leaderboard.md for a finished or running "
                                   "search.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, e.g. runs/<study>")
    p.add_argument("--storage", default=None, help="Optuna storage URL (default: from RUN_DIR/run.json, else "
                                                   "sqlite:///RUN_DIR/study.db)")
    p.add_argument("--study", default=None, help="study name (default: from RUN_DIR/run.json)")
    p.add_argument("--target", default=None, type=latency_arg, metavar="TIME",
                   help="latency target, e.g. 20ms (default: the study's own); another target draws the front "
                        "`nas export RUN_DIR --target` wrote into RUN_DIR/target-<T>ms/")
    p.set_defaults(run=run, prog=p.prog)
    return p


def run(args: argparse.Namespace) -> int:
    from nas.report import write_report
    from nas.search.export import target_dir
    from nas.search.run import load_run_study, open_run

    try:
        study = load_run_study(open_run(args.run_dir, storage=args.storage, study_name=args.study))
    except ValueError as exc:
        raise CliError(exc) from None
    out = Path(args.run_dir)
    if args.target is not None and args.target != study.user_attrs.get("latency_target_ms"):
        out = target_dir(args.run_dir, args.target)  # the front `nas export --target` wrote; the run's own stays
        if not (out / "pareto.yaml").is_file():
            raise CliError(f"no front exported for {args.target:g} ms yet: run `nas export {args.run_dir} --target "
                           f"{args.target:g}ms` first (it writes {out}/)")
    for path in write_report(study, out, args.target):
        print(f"report: {path}")
    return 0
