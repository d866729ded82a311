"""The ``nas`` command (also ``python -m nas``): one subcommand per job, each in its own module.

    nas search --latency-target 20ms            # search, export the front, draw the report
    nas export RUN_DIR | nas report RUN_DIR | nas dashboard RUN_DIR
    nas inspect mnasnet_a1 | nas inspect --space mnasnet
    nas build-lut --space mnasnet --out lut.json
    nas scale mobilenet_v2 --latency-target 10ms
    nas train ARCH.yaml --data fashion-mnist --epochs 5
    nas validate-proxy --space mobile_32px --n 30
    nas benchmark latency | nas benchmark search

``scripts/*.py`` are thin shims over :func:`main`. Conventions (errors, exit codes): :mod:`nas.cli.common`.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
from typing import Any, Iterator, Sequence

from nas.cli.common import CliError, OneLineParser, join_values, one_line_warnings
from nas.version import __version__

__all__ = ["COMMANDS", "build_parser", "main"]

#: Subcommand → module; each module has ``add_parser(subparsers)`` and a ``run(args) -> int`` it registers.
COMMANDS = {
    "search": "nas.cli.search",
    "export": "nas.cli.export",
    "report": "nas.cli.report",
    "dashboard": "nas.cli.dashboard",
    "inspect": "nas.cli.inspect",
    "build-lut": "nas.cli.build_lut",
    "train": "nas.cli.train",
    "validate-proxy": "nas.cli.validate_proxy",
    "scale": "nas.cli.scale",
    "benchmark": "nas.cli.bench",
}

#: Flags whose value may look like an option (``--timeout -5``): joined as ``--timeout=-5`` so that argparse
#: reports the real problem, a negative value.
NEGATABLE = ("--latency-target", "--target", "--timeout", "--seed")


def build_parser() -> OneLineParser:
    """The ``nas`` parser with every subcommand."""
    parser = OneLineParser(prog="nas", description="Hardware-aware neural architecture search over MBConv "
                                                    "search spaces: measured latency, validated accuracy proxies, "
                                                    "BlockArgs YAML out.")
    parser.add_argument("--version", action="version", version=f"nas {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``nas ARGV``; returns the exit code (0 done, 2 bad input, 130 interrupted by Ctrl-C, 143 by
    SIGTERM, 141 when the reader of its output went away)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extras = parser.parse_known_args(join_values(argv, NEGATABLE))
    if extras:  # reported by the subcommand, as every other error of its flags
        print(f"{args.prog}: error: unrecognized arguments: {' '.join(extras)}", file=sys.stderr)
        return 2
    args.argv = argv[1:]  # the subcommand's own arguments, recorded by commands that keep their command line
    terminated: list[int] = []
    try:
        with one_line_warnings(args.prog), _sigterm_as_interrupt(terminated):
            return int(args.run(args) or 0)
    except CliError as exc:
        print(f"{args.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{args.prog}: {'terminated' if terminated else 'interrupted'}; rerun the same command to resume",
              file=sys.stderr)
        return 143 if terminated else 130
    except BrokenPipeError:  # `nas inspect NET | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


@contextlib.contextmanager
def _sigterm_as_interrupt(terminated: list[int]) -> Iterator[None]:
    """While active (main thread only), SIGTERM — what timeout, docker stop, systemd and Slurm send — raises
    KeyboardInterrupt, so a command saves what it can as on Ctrl-C; ``terminated`` records that it came."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
