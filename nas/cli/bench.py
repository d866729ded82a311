"""``nas benchmark``: measure this machine and the search, print the numbers and append a section to the
benchmarks document (``--doc``, default ``docs/benchmarks.md`` in the working directory).

    nas benchmark latency                       # all parts, 1 thread, 100 test archs per space
    nas benchmark latency --parts a,d --no-write
    nas benchmark latency --parts e --zoo mobilenet_v3_small --repeats 2 --min-run-time 0.02 --no-write
    nas benchmark search --lut-224 luts/mnasnet-cpu.json --lut-32 luts/mobile_32px-cpu.json

``latency`` parts: (a) repeatability of ``measure_latency`` on the zoo nets, solo and paired, (b) LUT accuracy
against whole networks and the measurement's own ceiling, (c) LUT build time, (d) the zoo nets' latency beside
params and MACs, (e) the zoo nets quiet and with one core busy, (f) the README's first command with one core busy,
its exported front re-timed quiet (:mod:`nas.bench.latency`).
``search`` parts: (a) candidates per minute, (b) hypervolume by sampler (:mod:`nas.bench.search`).
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from nas.cli import bench_quality, bench_runtimes
from nas.cli.common import (CliError, OneLineParser, backend_arg, latency_arg, non_negative_int, positive_float,
                             positive_int, seed_arg)

__all__ = ["add_parser", "run"]

NAME = "benchmark"
DOC = "docs/benchmarks.md"


def _parts_type(allowed: str) -> Callable[[str], str]:
    """argparse type: ``"a,d"`` → ``"ad"`` (sorted, deduplicated) for a non-empty subset of ``allowed``."""
    def parse(text: str) -> str:
        parts = [p.strip() for p in text.lower().split(",") if p.strip()]
        if not parts or any(len(p) != 1 or p not in allowed for p in parts):
            raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {','.join(allowed)}, got {text!r}")
        return "".join(sorted(set(parts)))
    return parse


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--doc", default=DOC, help=f"markdown file to append to (default {DOC})")
    p.add_argument("--no-write", action="store_true", help="print only; do not append to the markdown file")


def _add_latency(sub: Any) -> None:
    p = sub.add_parser("latency", help="repeatability, LUT accuracy, LUT build, zoo table, one core busy, "
                                       "README command 1 busy",
                       description="Latency benchmarks: (a) repeatability (solo and paired), (b) LUT accuracy, "
                                   "(c) LUT build, (d) zoo table, (e) the zoo nets with one core busy, (f) the "
                                   "README's first command with one core busy, its front re-timed quiet.")
    p.add_argument("--parts", type=_parts_type("abcdef"), default="a,b,c,d,e,f",
                   help="which parts to run, e.g. a,d (default a,b,c,d,e,f)")
    p.add_argument("--n", type=positive_int, default=100, help="test archs per space for part b (default 100)")
    p.add_argument("--calibrate", type=positive_int, default=40,
                   help="random calibration archs per space (plus the skeleton), disjoint from the test archs "
                        "(default 40, as nas build-lut)")
    p.add_argument("--passes", type=positive_int, default=3,
                   help="sweeps of each table build over ops, calibration and test networks; every latency is "
                        "the median over the sweeps (default 3)")
    p.add_argument("--zoo", nargs="+", default=None, metavar="NET",
                   help="zoo nets of parts a, d and e (default: all)")
    p.add_argument("--runs", type=positive_int, default=5,
                   help="independent measurements per zoo net in part a (default 5)")
    p.add_argument("--repeats", type=positive_int, default=5,
                   help="repeats of each zoo-net measurement (default 5, as measure_latency)")
    p.add_argument("--min-run-time", type=positive_float, default=0.2, metavar="S",
                   help="seconds per repeat of each zoo-net measurement (default 0.2, as measure_latency)")
    p.add_argument("--warmup", type=non_negative_int, default=10,
                   help="warm-up calls of each zoo-net measurement (default 10)")
    p.add_argument("--reference", default="mnasnet_b1",
                   help="reference network of the paired timings in parts a and e, a zoo name or arch YAML "
                        "(default mnasnet_b1; 'none': solo only)")
    p.add_argument("--noise-seconds", type=positive_float, default=10.0, metavar="S",
                   help="length of the CPU-steadiness probe before the timings (default 10)")
    p.add_argument("--retries", type=non_negative_int, default=2,
                   help="retries of a zoo-net measurement flagged noisy, 1 s apart (default 2, as measure_latency)")
    p.add_argument("--busy-core", type=non_negative_int, default=None, metavar="CPU",
                   help="core of the busy loop of parts e and f (default: the last one this process may use)")
    p.add_argument("--front-args", type=shlex.split, default=None, metavar="'FLAGS'",
                   help="the `nas search` flags of part f, quoted, with '=' when they start with a dash "
                        "(--front-args='--latency-target 5ms --trials 20'; default: the README's first command's, "
                        "'--latency-target 20ms')")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="intra-op threads for every timing (default 1: single-core latency, as MnasNet "
                        "reports; the most reproducible setting on a shared machine)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"), help="device (default cpu)")
    p.add_argument("--backend", type=backend_arg, default="eager",
                   help="runtime of every timing and table: eager (PyTorch), onnxruntime or openvino (default eager)")
    p.add_argument("--spaces", nargs="+", default=["mnasnet", "mobile_32px"], metavar="SPACE",
                   help="bundled space names or search space YAMLs for parts b and c (default: mnasnet and "
                        "mobile_32px)")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed for test archs (calibration uses seed+1)")
    p.add_argument("--lut-dir", default=None,
                   help="keep the tables here and reuse them when they exist (default: a temporary directory, "
                        "so part c times a fresh build)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write every raw number to this JSON file")
    _common(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(prog=p.prog, bench=_run_latency)


def _add_search(sub: Any) -> None:
    p = sub.add_parser("search", help="candidates per minute and hypervolume by sampler",
                       description="Benchmark the search: candidates per minute, and hypervolume by sampler.")
    p.add_argument("--lut-224", required=True, help="latency table of the mnasnet space on this device")
    p.add_argument("--lut-32", required=True, help="latency table of the mobile_32px space")
    p.add_argument("--parts", type=_parts_type("ab"), default="a,b", help="which parts to run (default: a,b)")
    p.add_argument("--rate-trials", type=positive_int, default=30,
                   help="candidates per rate measurement (default: 30)")
    p.add_argument("--target-224", type=latency_arg, default=latency_arg("30ms"))
    p.add_argument("--target-32", type=latency_arg, default=None,
                   help="latency target for the hypervolume runs (default: the LUT median of 200 random archs)")
    p.add_argument("--proxy", default="synflow,naswot",
                   help="zero-cost proxies of part (a)'s LUT rows, comma-separated (default: synflow,naswot)")
    p.add_argument("--hv-proxy", default=None, help="proxy of the hypervolume runs (default: the search default)")
    p.add_argument("--seeds", type=positive_int, default=3)
    p.add_argument("--threads", type=positive_int, default=2)
    _common(p)
    p.set_defaults(prog=p.prog, bench=_run_search)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(NAME, help="latency and search benchmarks; appends to docs/benchmarks.md",
                       description="Benchmarks on this machine: print the numbers and append a section to the "
                                   "benchmarks document.")
    p.set_defaults(run=run, prog=p.prog)
    inner = p.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK", parser_class=OneLineParser)
    _add_latency(inner)
    _add_search(inner)
    bench_runtimes.add_parser(inner)  # nas benchmark runtimes (nas.cli.bench_runtimes)
    bench_quality.add_parser(inner)  # nas benchmark quality (nas.cli.bench_quality)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the benchmark ``args`` names (``latency`` or ``search``)."""
    return args.bench(args)


def _command(args: argparse.Namespace) -> str:
    return shlex.join(["nas", NAME, *getattr(args, "argv", [args.benchmark])])


def _source_commit() -> str:
    """The short commit of the checkout this package runs from, or ``""`` (not a git checkout, no git)."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parents[1],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _check_search_flags(flags: list[str]) -> None:
    """Raise ``CliError`` unless ``nas search FLAGS`` parses (part f would find out only after the other parts)."""
    import contextlib
    import io

    from nas.cli import build_parser

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(["search", *flags])
    except SystemExit:
        message = err.getvalue().strip().splitlines()
        raise CliError(f"--front-args: {message[-1] if message else 'not valid nas search flags'}") from None


def _latency_config(args: argparse.Namespace) -> Any:
    from nas import search_spaces
    from nas.bench.latency import LatencyBenchConfig
    from nas.space.load import load_space

    for space in args.spaces:
        if search_spaces.path(space) is None and not Path(space).is_file():
            raise CliError(f"--spaces: {space}: no such file (bundled: {', '.join(search_spaces.names())})")
        if "b" in args.parts or "c" in args.parts:
            try:
                load_space(space)
            except ValueError as exc:
                raise CliError(exc) from None
    import nas.zoo
    from nas.latency.runtimes import BackendError, check_backend_here

    try:
        check_backend_here(args.backend, args.device)
    except BackendError as exc:
        raise CliError(exc) from None
    for net in args.zoo or ():
        if net not in nas.zoo.names():
            raise CliError(f"--zoo: unknown net {net!r} (known: {', '.join(nas.zoo.names())})")
    if "f" in args.parts and args.front_args is not None:
        _check_search_flags(args.front_args)
    reference = "" if args.reference.lower() == "none" else args.reference
    if reference and reference not in nas.zoo.names() and not Path(reference).is_file():
        raise CliError(f"--reference {reference}: not a zoo net or an arch file")
    return LatencyBenchConfig(parts=args.parts, n=args.n, calibrate=args.calibrate, passes=args.passes,
                              threads=args.threads, device=args.device, spaces=tuple(args.spaces), seed=args.seed,
                              lut_dir=Path(args.lut_dir) if args.lut_dir else None, progress=not args.no_progress,
                              zoo=tuple(args.zoo or ()), runs=args.runs, repeats=args.repeats,
                              min_run_time=args.min_run_time, warmup=args.warmup, reference=reference,
                              busy_core=args.busy_core, retries=args.retries, noise_seconds=args.noise_seconds,
                              backend=args.backend,
                              **({} if args.front_args is None else {"front_args": tuple(args.front_args)}))


def _run_latency(args: argparse.Namespace) -> int:
    from nas.bench.common import append_markdown
    from nas.bench.latency import machine_info, run_latency_benchmark
    from nas.bench.latency_report import latency_report
    from nas.files import atomic_write
    from nas.latency.table import LUTError
    from nas.space.space import SpaceError

    config = _latency_config(args)
    if args.busy_core is not None and args.busy_core >= (os.cpu_count() or 1):
        raise CliError(f"--busy-core {args.busy_core}: this machine has {os.cpu_count()} logical CPUs")
    try:
        info = machine_info(config.device, config.threads, commit=_source_commit())
    except ValueError as exc:
        raise CliError(exc) from None
    try:
        result = run_latency_benchmark(config, info, log=lambda line: print(line, file=sys.stderr))
    except (LUTError, SpaceError) as exc:
        raise CliError(exc) from None
    text = latency_report(result, _command(args))
    print(text)
    if args.json:
        atomic_write(args.json, result.to_json())
    if not args.no_write:
        append_markdown(text, args.doc)
        print(f"appended to {args.doc}", file=sys.stderr)
    return 0


def _search_config(args: argparse.Namespace) -> Any:
    from nas.bench.search import SearchBenchConfig
    from nas.latency.table import LatencyTable
    from nas.search.specs import ProxySpec

    for path in (args.lut_224, args.lut_32):
        if not Path(path).is_file():
            raise CliError(f"{path}: no such latency table (build it with `nas build-lut`)")
    try:
        proxies = tuple(ProxySpec(name.strip()) for name in args.proxy.split(",") if name.strip())
        hv_proxy = ProxySpec() if args.hv_proxy is None else ProxySpec(args.hv_proxy)
        for path in (args.lut_224, args.lut_32):  # measured here, with these threads?
            LatencyTable.load(path, device="cpu", threads=args.threads)
    except ValueError as exc:  # LUTError too
        raise CliError(exc) from None
    return SearchBenchConfig(lut_224=Path(args.lut_224), lut_32=Path(args.lut_32), parts=args.parts,
                             rate_trials=args.rate_trials, target_224_ms=args.target_224,
                             target_32_ms=args.target_32, proxies=proxies, hv_proxy=hv_proxy, seeds=args.seeds,
                             threads=args.threads)


def _run_search(args: argparse.Namespace) -> int:
    from nas.bench.common import append_section
    from nas.bench.search import TITLE, search_benchmark

    config = _search_config(args)
    try:
        text = search_benchmark(config, _command(args), log=lambda line: print(line, file=sys.stderr))
    except ValueError as exc:  # LUTError: a table measured on another setup
        raise CliError(exc) from None
    print(text)
    if not args.no_write:
        append_section(TITLE, text, args.doc)
    return 0
