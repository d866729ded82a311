"""Shared plumbing of the benchmark scripts: machine description, markdown tables, docs/benchmarks.md.

Every benchmark prints its table and appends one section to ``docs/benchmarks.md`` headed by its title and
the UTC date, with the command, the machine and the numbers it measured — never a hard-coded result.
"""
from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Sequence

__all__ = ["DOC", "append_markdown", "append_section", "fmt_load", "loadavg", "machine_lines", "markdown_table"]

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
_HEADER = ("# Benchmarks\n\nEach section below is appended by a `scripts/benchmark_*.py` or "
           "`scripts/validate_proxy.py` run: the command, the date, the machine and what it measured.\n")


def loadavg() -> tuple[float, float, float] | None:
    """The 1-, 5- and 15-minute load averages, where the OS reports them."""
    try:
        return os.getloadavg()
    except OSError:
        return None


def fmt_load(load: tuple[float, float, float] | None) -> str:
    """``1.00 / 0.50 / 0.25``, or ``n/a``."""
    return "n/a" if load is None else " / ".join(f"{v:.2f}" for v in load)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_lines(threads: int | None = None) -> list[str]:
    """Markdown lines describing this machine and software (CPU, cores, threads, torch, load)."""
    import torch

    load = loadavg()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return [f"Machine: {_cpu_name()}, {os.cpu_count()} cores, GPU {gpu}; torch {torch.__version__}, "
            f"threads {threads if threads is not None else torch.get_num_threads()}, Python "
            f"{platform.python_version()}; load average at start "
            + fmt_load(load) + "."]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    out = ["| " + " | ".join(map(str, header)) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(out)


def append_markdown(section: str, doc: Path = DOC) -> Path:
    """Append ``section`` — markdown that starts with its own ``## heading`` — to the benchmarks document
    (created with its header if missing or empty), separated by one blank line. The document is replaced
    atomically, so an interrupted benchmark never leaves half a section."""
    doc = Path(doc)
    doc.parent.mkdir(parents=True, exist_ok=True)
    existing = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    if not existing.strip():
        existing = _HEADER
    tmp = doc.with_name(f".{doc.name}.tmp")
    tmp.write_text(existing.rstrip("\n") + "\n\n" + section.strip("\n") + "\n", encoding="utf-8")
    tmp.replace(doc)
    return doc


def append_section(title: str, text: str, doc: Path = DOC) -> Path:
    """Append ``## title — date`` and ``text`` to the benchmarks document (:func:`append_markdown`)."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return append_markdown(f"## {title} — {stamp}\n\n{text.rstrip()}", doc)
