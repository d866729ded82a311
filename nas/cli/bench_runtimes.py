"""``nas benchmark runtimes``: eager PyTorch against ONNX Runtime (and OpenVINO, CUDA graphs) on random archs
of each space — Kendall τ, pairs that change order, speedup, repeatability (:mod:`nas.bench.runtimes`).

    nas benchmark runtimes                                   # 100 archs of mnasnet and mobile_32px, 1 thread
    nas benchmark runtimes --n 3 --spaces tiny_32px --repeats 1 --min-run-time 0.01 --no-write   # smoke run
    nas benchmark runtimes --device cuda --methods eager,cuda-graph

Everything is checked before anything is timed or written: an unknown method or space, a method this machine
cannot run, a device it does not have — one line, exit 2.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from nas.cli.common import CliError, non_negative_int, positive_float, positive_int, seed_arg

__all__ = ["NAME", "add_parser", "run"]

NAME = "runtimes"
DOC = "docs/benchmarks.md"
METHOD_NAMES = ("eager", "cuda-graph", "onnxruntime", "openvino")  # nas.bench.runtimes.METHODS, without torch


def _methods(text: str) -> tuple[str, ...]:
    """argparse type: ``eager,onnxruntime`` → a tuple of distinct method names, in order."""
    names = tuple(m.strip().lower() for m in text.split(",") if m.strip())
    bad = [m for m in names if m not in METHOD_NAMES]
    if not names or bad or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"expected distinct names from {','.join(METHOD_NAMES)}, got {text!r}")
    return names


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``runtimes`` among the ``nas benchmark`` subcommands."""
    p = sub.add_parser(NAME, help="eager PyTorch vs ONNX Runtime / OpenVINO / CUDA graphs: τ, order, speedup",
                       description="Time random archs of each space eagerly and in deployment runtimes; report "
                                   "Kendall τ, pairs that change order, speedup and repeatability.")
    p.add_argument("--spaces", nargs="+", default=["mnasnet", "mobile_32px"], metavar="SPACE",
                   help="bundled space names or search space YAMLs (default: mnasnet mobile_32px)")
    p.add_argument("--n", type=positive_int, default=100, help="random archs per space (default 100)")
    p.add_argument("--methods", type=_methods, default=("eager", "onnxruntime"),
                   help=f"comma-separated, the first is the reference; from {','.join(METHOD_NAMES)} "
                        "(default eager,onnxruntime)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--threads", type=positive_int, default=1, help="intra-op threads of every timing (default 1)")
    p.add_argument("--passes", type=positive_int, default=2,
                   help="timings of each arch by each method, one pass over all archs after another (default 2)")
    p.add_argument("--repeats", type=positive_int, default=5, help="independent repeats per timing (default 5)")
    p.add_argument("--min-run-time", type=positive_float, default=0.2, metavar="S",
                   help="seconds per repeat (default 0.2)")
    p.add_argument("--warmup", type=non_negative_int, default=10, help="untimed calls first (default 10)")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed of the archs, weights and inputs (default 0)")
    p.add_argument("--exporter", default="auto", choices=("auto", "dynamo", "torchscript"),
                   help="ONNX exporter (default auto: dynamo, TorchScript where dynamo fails)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write every raw number to this JSON file")
    p.add_argument("--doc", default=DOC, help=f"markdown file to append to (default {DOC})")
    p.add_argument("--no-write", action="store_true", help="print only; do not append to the markdown file")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(prog=p.prog, bench=run)
    return p


def _config(args: argparse.Namespace) -> Any:
    """The :class:`~nas.bench.runtimes.RuntimesBenchConfig` of the flags, every part checked first."""
    from nas import search_spaces
    from nas.bench.runtimes import RuntimesBenchConfig
    from nas.device import resolve_device
    from nas.latency.runtimes import available_backends, onnxruntime_providers
    from nas.space.load import load_space

    for space in args.spaces:
        if search_spaces.path(space) is None and not Path(space).is_file():
            raise CliError(f"--spaces: {space}: no such file (bundled: {', '.join(search_spaces.names())})")
    try:
        for space in args.spaces:
            load_space(space)
        device = str(resolve_device(args.device))
        config = RuntimesBenchConfig(spaces=tuple(args.spaces), n=args.n, methods=args.methods, device=device,
                                     threads=args.threads, passes=args.passes, repeats=args.repeats,
                                     min_run_time=args.min_run_time, warmup=args.warmup, seed=args.seed,
                                     exporter=args.exporter, progress=not args.no_progress)
    except ValueError as exc:
        raise CliError(exc) from None
    missing = [m for m in config.methods if m in ("onnxruntime", "openvino") and m not in available_backends()]
    if missing:
        raise CliError(f"--methods: {', '.join(missing)} is not installed here")
    if "openvino" in config.methods and device != "cpu":
        raise CliError(f"--methods openvino times on the CPU; --device {args.device} is not supported")
    if "onnxruntime" in config.methods and device != "cpu" and "CUDAExecutionProvider" not in onnxruntime_providers():
        raise CliError(f"--device {args.device}: this ONNX Runtime has no CUDA execution provider (onnxruntime-gpu "
                       "brings it); drop onnxruntime from --methods")
    return config


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print its section, append it to ``--doc`` unless ``--no-write``."""
    from nas.bench.common import append_section
    from nas.bench.runtimes import TITLE, run_runtimes_benchmark, runtimes_report
    from nas.files import atomic_write
    from nas.latency.runtimes import BackendError
    from nas.model.onnx import OnnxExportError

    config = _config(args)
    try:
        result = run_runtimes_benchmark(config, log=lambda line: print(line, file=sys.stderr))
    except (BackendError, OnnxExportError) as exc:
        raise CliError(exc) from None
    text = runtimes_report(result, shlex.join(["nas", "benchmark", *getattr(args, "argv", [NAME])]))
    print(text)
    if args.json:
        atomic_write(args.json, result.to_json())
    if not args.no_write:
        append_section(TITLE, text, args.doc)
        print(f"appended to {args.doc}", file=sys.stderr)
    return 0
