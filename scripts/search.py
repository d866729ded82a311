#!/usr/bin/env python
"""Search a space for networks that meet a latency target; export the Pareto-best as BlockArgs YAML.

    python scripts/search.py --latency-target 20ms
    python scripts/search.py --latency-target 5ms --space search_spaces/mobile_32px.yaml --trials 200 \\
        --latency lut:luts/mobile_32px-cpu.json --proxy synflow

Running the same command again resumes the same study (its name is derived from the options).
"""
from __future__ import annotations

import sys
from pathlib import Path

from nas.cli import OneLineParser, positive_int
from nas.evaluate import DEFAULT_PROXY, parse_latency_method, parse_proxy
from nas.latency.units import latency_arg
from nas.search import OBJECTIVES, SAMPLERS, SearchConfig


def build_parser() -> OneLineParser:
    p = OneLineParser(description="Hardware-aware architecture search: maximize an accuracy proxy, meet a "
                                  "latency target measured on this device. Resumable: rerun to continue.")
    p.add_argument("--latency-target", required=True, type=latency_arg, metavar="TIME",
                   help="latency budget per image, with a unit: 20ms, 0.02s or 20000us")
    p.add_argument("--space", default="search_spaces/mnasnet.yaml", help="search space YAML (default: %(default)s)")
    p.add_argument("--trials", type=positive_int, default=50, help="finished trials to reach (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--sampler", default="tpe", help=f"one of {', '.join(SAMPLERS)} (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="sampler and proxy seed (default: %(default)s)")
    p.add_argument("--storage", default=None,
                   help="Optuna storage URL (default: sqlite:///<out>/<study>/study.db; postgresql://… for many "
                        "workers)")
    p.add_argument("--study-name", default=None, help="default: derived from the options")
    p.add_argument("--latency", default="measure", help="'measure' (default) or 'lut:FILE.json'")
    p.add_argument("--proxy", default=DEFAULT_PROXY,
                   help=f"accuracy proxy: a zero-cost proxy name or train:epochs=N (default: %(default)s)")
    p.add_argument("--data", default=None, help="dataset for the proxy: fashion-mnist, cifar10:DIR, folder:DIR, …")
    p.add_argument("--device", default="auto", help="auto (CUDA if present, else CPU), cpu, cuda or cuda:N")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads while measuring (recorded)")
    p.add_argument("--objective", default="pareto",
                   help=f"one of {', '.join(OBJECTIVES)}: Pareto front under a hard latency constraint, or "
                        "MnasNet's soft reward ACC·(LAT/T)^-0.07")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="worker processes on this machine (needs --storage postgresql://…); the same command on "
                        "other machines joins the study")
    p.add_argument("--top-k", type=positive_int, default=5, help="networks exported when there is no front")
    p.add_argument("--out", default="runs", help="where runs/<study>/ goes (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _join_values(argv: list[str], flags: tuple[str, ...] = ("--latency-target",)) -> list[str]:
    """``--latency-target -5ms`` → ``--latency-target=-5ms``, so argparse reports the real problem (a negative
    latency) instead of mistaking the value for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in flags and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(_join_values(argv))
    # Validate everything before anything is written.
    if args.sampler not in SAMPLERS:
        parser.fail(f"unknown sampler {args.sampler!r}: use one of {', '.join(SAMPLERS)}")
    if args.objective not in OBJECTIVES:
        parser.fail(f"unknown objective {args.objective!r}: use one of {', '.join(OBJECTIVES)}")
    if args.workers > 1 and (args.storage is None or args.storage.startswith("sqlite")):
        parser.fail("--workers > 1 needs a server database (--storage postgresql://…): SQLite is not for "
                    "parallel workers")
    if not Path(args.space).is_file():
        parser.fail(f"{args.space}: no such search space file")
    try:
        _, lut = parse_latency_method(args.latency)
        parse_proxy(args.proxy)
        if lut is not None and not lut.is_file():
            parser.fail(f"{lut}: no such latency table (build one with scripts/build_lut.py)")
        if args.data is not None:
            from nas.data import parse_spec

            parse_spec(args.data)
        from nas.latency.measure import resolve_device

        resolve_device(args.device)
        from nas.space import load_space

        load_space(args.space)
    except ValueError as exc:  # SpaceError, ArchError, DataError and friends are ValueErrors
        parser.fail(exc)
    config = SearchConfig(latency_target_ms=args.latency_target, space=args.space, trials=args.trials,
                          timeout=args.timeout, sampler=args.sampler, seed=args.seed, storage=args.storage,
                          study_name=args.study_name, latency=args.latency, proxy=args.proxy, data=args.data,
                          device=args.device, threads=args.threads, objective=args.objective, out=args.out,
                          top_k=args.top_k, workers=args.workers, progress=not args.no_progress, command=[sys.argv[0], *argv])
    from nas.search import run_search

    try:
        result = run_search(config)
    except ValueError as exc:
        parser.fail(exc)
    return 130 if result.interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
