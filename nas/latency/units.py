"""Parse and format latencies.

Every latency inside ``nas`` is a float in **milliseconds**. Text coming from a
user (CLI flags, config files) goes through :func:`parse_latency`, which insists
on an explicit unit so that ``20`` can never be misread as 20 s or 20 µs.

Accepted grammar (surrounding whitespace is ignored)::

    <number> [spaces] <unit>

* ``<number>``: ASCII decimal, optional fraction and exponent: ``20``, ``20.5``,
  ``.5``, ``2e1``, ``1.5E-3``. No sign, no ``_`` separators, no ``nan``/``inf``.
* ``<unit>`` (case-insensitive): ``ms``; ``s``; ``us``, ``µs`` (micro sign) or
  ``μs`` (Greek mu). Spelled-out forms (``msec``, ``sec``, ``millis``) are
  rejected on purpose: one short spelling per unit keeps configs greppable.
* The value must be finite and greater than zero.

Anything else raises :class:`ValueError` with a one-line message that quotes the
input, e.g. ``invalid latency '20': give a number with a unit: 20ms, 0.02s or 20000us``.
"""
from __future__ import annotations

import argparse
import decimal
import math
import re

__all__ = ["parse_latency", "format_ms", "latency_arg"]

# unit (lower-cased) -> milliseconds per unit, as an exact Decimal
_UNITS: dict[str, decimal.Decimal] = {
    "s": decimal.Decimal(1000),
    "ms": decimal.Decimal(1),
    "us": decimal.Decimal("0.001"),
    "\u00b5s": decimal.Decimal("0.001"),  # µ MICRO SIGN
    "\u03bcs": decimal.Decimal("0.001"),  # μ GREEK SMALL LETTER MU
}
_NUM = r"(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_FULL = re.compile(rf"(?P<sign>-?)(?P<num>{_NUM})[ \t]*(?P<unit>[A-Za-z\u00b5\u03bc\u039c]+)")
_BARE = re.compile(rf"[+-]?{_NUM}")
_HINT = "give a number with a unit: 20ms, 0.02s or 20000us"


def _fail(text: object, reason: str) -> ValueError:
    shown = repr(text)  # repr escapes control characters, so the message stays on one line
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ValueError(f"invalid latency {shown}: {reason}")


def parse_latency(text: str) -> float:
    """Parse ``'20ms'``, ``'20 ms'``, ``'0.02s'``, ``'20000us'``, ``'2e1ms'`` ... into milliseconds.

    The conversion is done in decimal arithmetic, so the result is the float
    nearest to the exact value (``parse_latency('0.0035s') == 3.5``).
    Raises :class:`ValueError` (one-line message quoting the input) on anything else.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_latency expects a string such as '20ms', got {type(text).__name__}")
    s = text.strip()
    if not s:
        raise _fail(text, f"empty; {_HINT}")
    m = _FULL.fullmatch(s)
    if m is None:
        if _BARE.fullmatch(s):
            raise _fail(text, _HINT)
        raise _fail(text, f"not understood; {_HINT}")
    unit = m["unit"].lower()
    if unit not in _UNITS:
        raise _fail(text, f"unknown unit {m['unit']!r}; use ms, s or us (µs)")
    if m["sign"]:
        raise _fail(text, "a latency must be greater than zero")
    try:
        value = float(decimal.Decimal(m["num"]) * _UNITS[unit])
    except (ArithmeticError, OverflowError):
        raise _fail(text, "number out of range") from None
    if not math.isfinite(value):
        raise _fail(text, "number out of range")
    if value <= 0.0:
        if decimal.Decimal(m["num"]) == 0:
            raise _fail(text, "a latency must be greater than zero")
        raise _fail(text, "number out of range")
    return value


def latency_arg(text: str) -> float:
    """``argparse`` ``type=`` for latency flags: like :func:`parse_latency` but raises
    :class:`argparse.ArgumentTypeError`, so argparse prints the one-line reason verbatim."""
    try:
        return parse_latency(text)
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def format_ms(ms: float) -> str:
    """Format a latency given in milliseconds for display, 3 significant figures.

    ``20 -> '20.0 ms'``, ``0.85 -> '850 µs'``, ``1234 -> '1.23 s'``, ``0.0005 -> '0.500 µs'``.
    The output is always accepted by :func:`parse_latency` (for positive finite input).
    """
    ms = float(ms)
    if not math.isfinite(ms):
        return f"{ms} ms"
    if ms == 0.0:
        return "0 ms"
    rounded = float(f"{ms:.3g}")  # round first so 999.96 ms becomes '1.00 s', not '1.00e+03 ms'
    mag = abs(rounded)
    if mag >= 1000.0:
        value, unit = ms / 1000.0, "s"
    elif mag >= 1.0:
        value, unit = ms, "ms"
    else:
        value, unit = ms * 1000.0, "µs"
    text = f"{value:#.3g}"
    if "e" in text:  # only for absurd values (>= 1000 s); keep it parseable
        return f"{value:.3g} {unit}"
    return f"{text.rstrip('.')} {unit}"
