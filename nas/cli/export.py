"""``nas export``: write the best networks of an existing study as BlockArgs YAML (``OUT/pareto/*.yaml`` and
``OUT/pareto.yaml``), from a run folder or from any storage.

    nas export runs/my-study                       # the run folder's own study, into the same folder
    nas export runs/my-study --target 15ms         # judged at another target, into runs/my-study/target-15ms/
    nas export --storage postgresql://127.0.0.1/test --study big-search --out big/ --top-k 10
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nas.cli.common import CliError, latency_arg, output_folder, positive_int

__all__ = ["add_parser", "run"]

NAME = "export"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(NAME, help="export a study's best networks as YAML",
                       description="Write OUT/pareto/*.yaml and OUT/pareto.yaml for a study's best networks.")
    p.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="a run folder, e.g. runs/<study> (or give --storage)")
    p.add_argument("--storage", default=None, help="Optuna storage URL, e.g. sqlite:///runs/NAME/study.db")
    p.add_argument("--study", default=None, help="study name (default: the run folder's, or the only one)")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR; with a --target other than the "
                                                "study's own, RUN_DIR/target-<T>ms, so the search's front stays)")
    p.add_argument("--top-k", type=positive_int, default=5,
                   help="networks to export when there is no feasible front or one objective (default: 5)")
    p.add_argument("--target", type=latency_arg, default=None, metavar="TIME",
                   help="latency target (default: the study's own), e.g. 20ms")
    p.set_defaults(run=run, prog=p.prog)
    return p


def run(args: argparse.Namespace) -> int:
    from nas.search import export_pareto
    from nas.search.export import target_dir
    from nas.search.run import load_run_study, open_run, storage_run

    if args.run_dir is None and args.storage is None:
        raise CliError("give a run folder (RUN_DIR) or --storage URL")
    if args.out is None and args.run_dir is None:
        raise CliError("give --out FOLDER (where to write pareto/ and pareto.yaml)")
    try:
        run_info = open_run(args.run_dir, args.storage, args.study) if args.run_dir else storage_run(args.storage,
                                                                                                     args.study)
        study = load_run_study(run_info)
    except ValueError as exc:
        raise CliError(exc) from None
    own = study.user_attrs.get("latency_target_ms")
    if args.target is None and own is None:
        raise CliError("the study records no latency target; give --target")
    out = args.out or args.run_dir
    if args.out is None and args.target is not None and args.target != own:  # keep the search's own front
        out = str(target_dir(args.run_dir, args.target))
    output_folder(out)
    export_pareto(study, out, args.target, top_k=args.top_k)
    return 0
