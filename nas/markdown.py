"""The one Markdown writer of the package: table cells and GitHub-flavoured tables, for leaderboards,
benchmark reports, validation reports and the dashboard's study note."""
from __future__ import annotations

from typing import Any, Sequence

__all__ = ["cell", "table"]


def cell(text: Any) -> str:
    """One table cell: on one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def table(header: Sequence[Any], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub-flavoured table; ``align`` has one letter per column, ``l`` or ``r`` (default: no alignment).
    Cells are written with :func:`str` and :func:`cell`."""
    if align is not None and len(align) != len(header):
        raise ValueError(f"align {align!r} has {len(align)} letters for {len(header)} columns")
    rule = [" --- "] * len(header) if align is None else ["---:" if a == "r" else ":---" for a in align]
    out = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join(rule) + "|"]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)
