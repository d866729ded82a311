"""Exception messages cut down to what a one-line error may show.

Drivers (SQLAlchemy, psycopg), torch and ONNX exporters raise messages that run to many lines — a traceback of
the C++ side, a list of hints, a SQL statement. Every one-line error of the toolkit quotes them through
:func:`first_line` (their first non-blank line) or :func:`one_line` (the whole message with whitespace runs
collapsed), so the cut is made the same way everywhere.
"""
from __future__ import annotations

__all__ = ["first_line", "one_line"]


def first_line(exc: BaseException, *, typed: bool = False, limit: int | None = None) -> str:
    """The first non-blank line of ``exc``'s message, stripped; ``exc``'s type name when the message is blank.

    ``typed=True`` prefixes the type name (``"RuntimeError: …"``) when there is a message. ``limit`` (characters,
    ≥ 2) cuts a longer result to ``limit - 1`` characters plus ``"…"``.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    name = type(exc).__name__
    text = (f"{name}: {lines[0]}" if typed else lines[0]) if lines else name
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def one_line(exc: BaseException) -> str:
    """``exc``'s whole message with all whitespace runs collapsed to one space (its type name if empty)."""
    return " ".join(str(exc).split()) or type(exc).__name__
