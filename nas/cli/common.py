"""The conventions every ``nas`` subcommand follows.

* One way to report an error: raise :class:`CliError` (or let argparse find a bad flag); the user sees one
  line, ``nas <command>: error: <message>``, on stderr, and the exit code is 2. Nothing is written before the
  input is known to be good.
* Ctrl-C exits 130 after the command has saved what it can.
* A warning is one line, ``nas <command>: warning: <message>``, printed once however often it comes back with
  other numbers (:func:`one_line_warnings`).
* Flags are parsed here, in the CLI layer only: the library takes typed values (``LatencyMethod``,
  ``ProxySpec``, ``TrainConfig``, milliseconds as floats).
* Subcommand modules import the library inside ``run`` so that ``nas --help`` does not load torch.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import re
import sys
import warnings
from typing import Any, Callable, Iterator, NoReturn, Sequence

from nas.latency.units import latency_arg

__all__ = ["BACKEND_NAMES", "CliError", "OneLineParser", "backend_arg", "join_values", "latency_arg",
           "non_negative_float", "non_negative_int", "one_line_warnings", "positive_float", "positive_int", "port"]

#: The latency backends (``nas.latency.runtimes.BACKENDS``, named here so that parsing flags imports no torch).
BACKEND_NAMES = ("eager", "onnxruntime", "openvino")


class CliError(Exception):
    """A problem with the user's input found after parsing: reported as one line, exit code 2."""

    def __init__(self, message: object):
        super().__init__(" ".join(str(message).split()))


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are a single line (no usage block) and exit with code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())}\n")


def _number(kind: Callable[[str], Any], text: str, minimum: float, strict: bool, what: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    return int(_number(int, text, 1, False, "a positive integer"))


def non_negative_int(text: str) -> int:
    """argparse type: an integer ≥ 0."""
    return int(_number(int, text, 0, False, "an integer ≥ 0"))


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    return float(_number(float, text, 0.0, True, "a positive number"))


def non_negative_float(text: str) -> float:
    """argparse type: a finite number ≥ 0."""
    return float(_number(float, text, 0.0, False, "a number ≥ 0"))


def port(text: str) -> int:
    """argparse type: a TCP port, 1–65535."""
    value = int(_number(int, text, 1, False, "a port number 1–65535"))
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 1–65535, got {text!r}")
    return value


def backend_arg(text: str) -> str:
    """argparse type: a latency backend name (whether this machine has it is checked when the command runs)."""
    name = text.strip().lower()
    if name not in BACKEND_NAMES:
        raise argparse.ArgumentTypeError(f"unknown latency backend {text!r}: use {', '.join(BACKEND_NAMES)}")
    return name


def join_values(argv: Sequence[str], flags: Sequence[str]) -> list[str]:
    """``--timeout -5`` → ``--timeout=-5`` for the given flags, so that argparse reports the real problem (a
    negative value) instead of taking the value for an option."""
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


@contextlib.contextmanager
def one_line_warnings(prog: str) -> Iterator[None]:
    """While active, every warning shown (Python's, the library's, a dependency's) is one line on stderr,
    ``PROG: warning: MESSAGE``, without Python's file name and source line, and a message is shown once per
    place that raises it even when only its numbers change: a search times many networks, and the same warning
    with this minute's numbers (cores busy elsewhere) would come back with every timing. (Python's own
    once-per-place registry is reset whenever a ``warnings.catch_warnings`` block exits, and it tells apart
    messages whose numbers differ.) Warnings of ``--workers`` processes are not shown this way."""
    seen: set[tuple[str, str, int, str]] = set()
    previous = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
             line: str | None = None) -> None:
        text = " ".join(str(message).split())
        key = (category.__name__, filename, lineno, re.sub(r"\d+(?:\.\d+)?", "#", text))
        if key not in seen:
            seen.add(key)
            print(f"{prog}: warning: {text}", file=sys.stderr, flush=True)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous
