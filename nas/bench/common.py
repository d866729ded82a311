"""Shared plumbing of the benchmarks: the machine line and appending a section to the benchmarks document
(``docs/benchmarks.md`` in a checkout; the caller names the file).

Every benchmark prints its table and appends one section to ``docs/benchmarks.md`` headed by its title and
the UTC date, with the command, the machine and the numbers it measured — never a hard-coded result.
"""
from __future__ import annotations

import time
from pathlib import Path

from nas.files import atomic_write
from nas.machine import describe, fmt_load, loadavg

__all__ = ["append_markdown", "append_section", "machine_lines"]

_HEADER = ("# Benchmarks\n\nEach section below is appended by a `scripts/benchmark_*.py` or "
           "`scripts/validate_proxy.py` run: the command, the date, the machine and what it measured.\n")


def machine_lines(threads: int | None = None) -> list[str]:
    """Markdown lines describing this machine and software (CPU, cores, threads, torch, load)."""
    m = describe(threads)
    return [f"Machine: {m['cpu']}, {m['cores']} cores, GPU {m['gpu']}; torch {m['torch']}, threads {m['threads']}, "
            f"Python {m['python']}; load average at start {fmt_load(loadavg())}."]


def append_markdown(section: str, doc: str | Path) -> Path:
    """Append ``section`` — markdown that starts with its own ``## heading`` — to the benchmarks document
    (created with its header if missing or empty), separated by one blank line. The document is replaced
    atomically, so an interrupted benchmark never leaves half a section."""
    doc = Path(doc)
    existing = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    if not existing.strip():
        existing = _HEADER
    return atomic_write(doc, existing.rstrip("\n") + "\n\n" + section.strip("\n") + "\n")


def append_section(title: str, text: str, doc: str | Path) -> Path:
    """Append ``## title — date`` and ``text`` to the benchmarks document (:func:`append_markdown`)."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return append_markdown(f"## {title} — {stamp}\n\n{text.rstrip()}", doc)
