"""The conventions every ``nas`` subcommand follows.

* One way to report an error: raise :class:`CliError` (or let argparse find a bad flag); the user sees one
  line, ``nas <command>: error: <message>``, on stderr, and the exit code is 2. Nothing is written before the
  input is known to be good.
* Ctrl-C exits 130 after the command has saved what it can; SIGTERM does the same and exits 143.
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
import os
import re
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, NoReturn, Sequence

from nas.latency.units import latency_arg

__all__ = ["BACKEND_NAMES", "CliError", "OneLineParser", "backend_arg", "join_values", "latency_arg",
           "non_negative_float", "non_negative_int", "one_line_warnings", "output_file", "output_folder",
           "positive_float", "positive_int", "port", "seed_arg"]

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


def pixels(minimum: int) -> Callable[[str], int]:
    """argparse type: an input side in pixels from ``minimum`` to the architecture limit
    (:data:`nas.arch.fields.LIMITS` ``resolution``)."""
    from nas.arch.fields import LIMITS

    top = LIMITS["resolution"]

    def parse(text: str) -> int:
        value = int(_number(int, text, minimum, False, f"an integer from {minimum} to {top}"))
        if value > top:
            raise argparse.ArgumentTypeError(f"expected an integer from {minimum} to {top}, got {text!r}")
        return value
    return parse


def non_negative_int(text: str) -> int:
    """argparse type: an integer ≥ 0."""
    return int(_number(int, text, 0, False, "an integer ≥ 0"))


#: The largest seed NumPy's and Optuna's samplers take (``2**32 - 1``); torch takes it too.
MAX_SEED = 2**32 - 1


def seed_arg(text: str) -> int:
    """argparse type: a seed, an integer from 0 to 2**32 - 1 (the range NumPy's and Optuna's samplers take)."""
    value = non_negative_int(text)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {MAX_SEED}, got {text!r}")
    return value


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


def output_folder(path: str | Path, flag: str = "--out", *, asked: str | Path | None = None) -> Path:
    """``path`` if it is a folder this process can write into, or one it can create; CliError (one line)
    otherwise — checked before any work, and without creating anything: where it does not exist yet, a
    temporary folder is made and removed in its nearest existing parent (which catches read-only and
    pseudo file systems such as /proc as well as permissions). ``asked``: the path the message names
    (default ``path``)."""
    p = Path(path)
    name = asked if asked is not None else p
    if p.exists():
        if not p.is_dir():
            raise CliError(f"{flag} {name}: {p} exists and is not a folder")
        _probe(p, flag, name)
        return p
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise CliError(f"{flag} {name}: cannot create {p}, {parent} exists and is not a folder")
    _probe(parent, flag, name)
    return p


def output_file(path: str | Path, flag: str = "--out") -> Path:
    """``path`` if this process can write a file there (its folder exists or can be made; it is not a
    folder); CliError (one line) otherwise, checked without writing anything (see :func:`output_folder`)."""
    p = Path(path)
    if p.is_dir():
        raise CliError(f"{flag} {p}: is a folder; give a file name")
    output_folder(p.parent, flag, asked=p)
    return p


def _probe(folder: Path, flag: str, asked: str | Path) -> None:
    """Make and remove a temporary folder in ``folder``; CliError naming ``asked`` if that fails."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".nas-probe-", dir=folder))
    except OSError as exc:
        raise CliError(f"{flag} {asked}: cannot write in {folder} ({exc.strerror or type(exc).__name__})") from None
