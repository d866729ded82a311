#!/usr/bin/env python
"""Export the Pareto-best networks of an existing study as BlockArgs YAML files.

    python scripts/export.py --storage sqlite:///runs/my-study/study.db --study my-study --out exported/
    python scripts/export.py --storage postgresql://127.0.0.1/test --study big-search --out big/ --top-k 10
"""
from __future__ import annotations

import sys

from nas.cli import OneLineParser


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(description="Write <out>/pareto/*.yaml and <out>/pareto.yaml for a study's best networks.")
    p.add_argument("--storage", required=True, help="Optuna storage URL, e.g. sqlite:///runs/NAME/study.db")
    p.add_argument("--study", required=True, help="study name")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--top-k", type=int, default=5,
                   help="networks to export when there is no feasible front or one objective (default: 5)")
    p.add_argument("--target", default=None, help="latency target (default: the study's own), e.g. 20ms")
    args = p.parse_args(argv)
    import optuna

    from nas.export import export_pareto
    from nas.latency.units import parse_latency

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        target = parse_latency(args.target) if args.target else None
    except ValueError as exc:
        p.fail(exc)
    if args.top_k < 1:
        p.fail(f"--top-k must be ≥ 1 (got {args.top_k})")
    if args.storage.startswith("sqlite:///"):
        from pathlib import Path

        if not Path(args.storage[len("sqlite:///"):]).is_file():
            p.fail(f"{args.storage}: no such database file")
    try:
        study = optuna.load_study(study_name=args.study, storage=args.storage)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(args.storage)]
        p.fail(f"no study {args.study!r} in {args.storage}; studies there: {', '.join(names) or 'none'}")
    except Exception as exc:  # a storage URL that cannot be opened
        p.fail(f"{args.storage}: {str(exc).splitlines()[0]}")
    if target is None and study.user_attrs.get("latency_target_ms") is None:
        p.fail("the study records no latency target; give --target")
    export_pareto(study, args.out, target, top_k=args.top_k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
