"""``nas search``: search a space for networks that meet a latency target, export the Pareto-best as BlockArgs
YAML, draw the report, and print where everything is.

    nas search --latency-target 20ms
    nas search --latency-target 5ms --space mobile_32px --trials 200 --latency lut:lut.json --proxy synflow

Running the same command again resumes the same study (its name is derived from the options).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nas.cli.common import (CliError, backend_arg, latency_arg, non_negative_int, output_folder, positive_float,
                            positive_int, seed_arg)
from nas.cli.specs import latency_method, proxy_spec, train_spec

__all__ = ["add_parser", "run"]

NAME = "search"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(NAME, help="search a space; export the Pareto-best networks as YAML",
                       description="Hardware-aware architecture search: maximize an accuracy proxy, meet a latency "
                                   "target measured on this device. Resumable: rerun to continue.")
    p.add_argument("--latency-target", required=True, type=latency_arg, metavar="TIME",
                   help="latency budget per image, with a unit: 20ms, 0.02s or 20000us")
    p.add_argument("--space", default="mnasnet", help="a bundled space (mnasnet, mobile_32px, tiny_32px, "
                   "efficientnet_b0, mobilenet_v3) or a search space YAML (default: %(default)s)")
    p.add_argument("--trials", type=positive_int, default=50, help="finished trials to reach (default: %(default)s)")
    p.add_argument("--timeout", type=positive_float, default=None, metavar="S",
                   help="start no new trial after this many seconds of searching; the confirmation of the front and "
                        "the export follow (rerun the same command to go on)")
    p.add_argument("--sampler", default="tpe", help="tpe, nsga2, gp or random (default: %(default)s)")
    p.add_argument("--seed", type=seed_arg, default=0, help="sampler and proxy seed (default: %(default)s)")
    p.add_argument("--storage", default=None, help="Optuna storage URL (default: sqlite:///<out>/<study>/study.db; "
                                                   "postgresql://… for many workers)")
    p.add_argument("--study-name", default=None, help="default: derived from the options")
    p.add_argument("--latency", type=latency_method, default="paired", metavar="METHOD",
                   help="'paired' (default: each candidate timed alternately with the space's reference network, "
                        "latency = ratio × the reference's median latency over the search; steady where a timing "
                        "alone is not: README, Paired timing), 'measure' (each candidate timed alone) or "
                        "'lut:FILE.json'")
    p.add_argument("--backend", type=backend_arg, default="eager",
                   help="runtime latency is measured in: eager (PyTorch), onnxruntime or openvino (the ONNX export of "
                        "each candidate, as users deploy it; default: eager)")
    p.add_argument("--proxy", type=proxy_spec, default=None, metavar="PROXY",
                   help="accuracy proxy: a zero-cost proxy name, train:epochs=N or predictor:K (default: macs)")
    p.add_argument("--data", default=None, help="dataset for the proxy: fashion-mnist, cifar10:DIR, folder:DIR, …")
    p.add_argument("--train-cache", type=Path, default=Path("runs/proxy-validation/train_cache.jsonl"),
                   help="trained networks a predictor:K proxy is fitted on (default: %(default)s)")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA if present, else CPU), cpu, cuda or cuda:N (default: %(default)s)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU intra-op threads of every timing (default: 1; more than the idle cores warns; recorded)")
    p.add_argument("--objective", default="pareto", help="pareto (Pareto front under a hard latency constraint) or "
                                                         "mnasnet (MnasNet's soft reward ACC·(LAT/T)^-0.07; default: %(default)s)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="worker processes on this machine (more than 1 needs --storage postgresql://…; the same command on "
                        "other machines joins the study; default: %(default)s)")
    p.add_argument("--top-k", type=positive_int, default=5,
                   help="networks exported when there is no front (default: %(default)s)")
    p.add_argument("--confirm", type=non_negative_int, default=3, metavar="N",
                   help="after the search, time every network on the front N more times, round-robin, and judge "
                        "it on their median: a front picks the timings that came out low (0: keep the single "
                        "timings; default: %(default)s). Counted within --timeout; with --refine, the --refine-top networks "
                        "to be trained are confirmed too")
    p.add_argument("--refine", type=train_spec, default=None, metavar="train:epochs=N[,…]",
                   help="multi-fidelity: after the search, train the --refine-top feasible networks spread over the "
                        "front on --data (resumable), export ranked by the highest fidelity")
    p.add_argument("--refine-top", type=positive_int, default=4, metavar="K",
                   help="networks to train in the refine stage (default: %(default)s)")
    p.add_argument("--refine-halving", action="store_true",
                   help="successive halving: the better half again at twice the epochs, down to one network")
    p.add_argument("--out", default="runs", help="where runs/<study>/ goes (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run, prog=p.prog)
    return p


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~nas.search.SearchConfig` of parsed flags, checked: raises :class:`CliError` (one line)
    for anything that cannot work, before anything is written."""
    from nas.data import parse_spec
    from nas.device import resolve_device
    from nas.search import ProxySpec, SearchConfig
    from nas.latency.runtimes import check_backend_here
    from nas.search.study import check_storage
    from nas.space import load_space

    from nas import search_spaces

    if search_spaces.path(args.space) is None and not Path(args.space).is_file():
        raise CliError(f"{args.space}: no such search space file (bundled: {', '.join(search_spaces.names())})")
    if args.proxy is not None and args.proxy.name in ("train", "predictor") and args.data is None:
        raise CliError(f"--proxy {args.proxy.label} needs real data: give --data (e.g. --data fashion-mnist)")
    if args.refine is not None and args.data is None:
        raise CliError("--refine trains on real data: give --data (e.g. --data fashion-mnist)")
    if args.latency.table is not None and not args.latency.table.is_file():
        raise CliError(f"{args.latency.table}: no such latency table (build one with `nas build-lut`)")
    output_folder(args.out)
    try:
        config = SearchConfig(latency_target_ms=args.latency_target, space=args.space, trials=args.trials,
                              timeout=args.timeout, sampler=args.sampler, seed=args.seed, storage=args.storage,
                              study_name=args.study_name, latency=args.latency, backend=args.backend,
                              proxy=args.proxy or ProxySpec(),
                              data=args.data, train_cache=args.train_cache, device=args.device,
                              threads=args.threads, objective=args.objective,
                              out=args.out, top_k=args.top_k, workers=args.workers, progress=not args.no_progress,
                              confirm=args.confirm, confirm_at_least=args.refine_top if args.refine else 0,
                              command=["nas", NAME, *args.argv])
        config.validate()
        if args.data is not None:
            parse_spec(args.data)
        resolve_device(args.device)
        check_backend_here(args.backend, args.device)
        space = load_space(args.space)
        if args.storage is not None and args.storage != config.run_storage(space.name):  # made with its folder
            check_storage(args.storage)
    except ValueError as exc:  # SpaceError, ArchError, DataError and friends are ValueErrors
        raise CliError(exc) from None
    return config


def run(args: argparse.Namespace) -> int:
    from nas.report import write_report
    from nas.search import export_pareto, run_search
    from nas.search.reference import level_warning
    from nas.search.run import write_run_summary
    from nas.search.settings import SettingsMismatch

    config = config_from_args(args)
    if (hint := _solo_run_hint(args, config)) is not None:
        print(hint)
    try:
        result = run_search(config)
    except SettingsMismatch as exc:
        raise CliError(f"{exc}: rerun with the settings it was created with, or give another --study-name") from None
    except ValueError as exc:
        raise CliError(exc) from None
    if result.confirmation is not None and result.confirmation.line():
        print(result.confirmation.line())
    trained = _refine(args, config, result) if args.refine is not None and not result.interrupted else {}
    if result.interrupted:  # exporting (ONNX included) and drawing take a while: say why nothing returns yet
        print("interrupted: saving the front so far (pareto/, pareto.yaml, report) before exiting", flush=True)
    exported, _ = export_pareto(result.study, result.run_dir, config.latency_target_ms, top_k=config.top_k,
                                trained=trained)
    for path in write_report(result.study, result.run_dir, config.latency_target_ms):
        print(f"report:    {path}")
    summary = write_run_summary(result.run_dir, result.study)
    if summary["noisy"]:
        print(f"noisy:     {summary['noisy']} of {summary['trials']} trials were timed while other processes kept "
              f"{summary['others_cpu_max']:.2f} CPU cores busy (mean {summary['others_cpu_mean']:.2f}): not feasible "
              "on those numbers; rerun on a quiet machine to re-judge them")
    if (level := level_warning(summary["latency_reference"])) is not None:
        print(f"level:     {level}")
    name = result.study.study_name
    if result.interrupted:
        print(f"interrupted: rerun the same command to resume study {name!r}")
    print(f"study:     {result.storage} (study {name!r})")
    print(f"run:       {result.run_dir}/ (run.json, trials/, pareto/, pareto.yaml, artifacts/)")
    print(f"dashboard: nas dashboard {result.run_dir}")
    return 130 if result.interrupted else 0


def _solo_run_hint(args: argparse.Namespace, config: Any) -> str | None:
    """One line when this command, which times paired by default, would start a new study beside the run folder
    the same command made when timing alone was the default (before 2026-12-07): how to resume that one."""
    import dataclasses

    from nas.search.specs import LatencyMethod
    from nas.space import load_space

    given = any(a == "--latency" or a.startswith("--latency=") for a in args.argv)
    if config.study_name is not None or given or config.latency.kind != "paired":
        return None
    space = load_space(args.space).name
    solo = dataclasses.replace(config, latency=LatencyMethod("measure")).derived_study_name(space)
    out = Path(config.out)
    if not (out / solo).is_dir() or (out / config.derived_study_name(space)).is_dir():
        return None
    return (f"note:      {out / solo}/ was timed alone (the default before 2026-12-07); this command times paired "
            "and starts a new study: add --latency measure to resume that one")


def _refine(args: argparse.Namespace, config: Any, result: Any) -> dict[int, Any]:
    """The refine stage (``--refine``): train, resumably, and return each refined trial's highest fidelity."""
    from nas.search.refine import RefineSpec, fidelities, refine

    spec = RefineSpec(args.refine, top=args.refine_top, halving=args.refine_halving)
    try:
        refined = refine(result.study, spec, storage=result.storage, data=config.data, run_dir=result.run_dir,
                         target_ms=config.latency_target_ms, seed=config.seed, device=config.device)
    except ValueError as exc:
        print(f"refine: {exc}")
        return {}
    return fidelities(refined)
