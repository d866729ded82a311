"""Type checks for numbers read back from YAML, JSON, caches and Optuna study attributes.

Values from those sources are untyped: a latency may come back as ``None``, a string, ``True`` (``bool`` is an
``int`` in Python) or ``nan``. Every module that judges such a value uses these three checks, so that "a number"
means the same thing everywhere (the front, the reference level, reports, space files, benchmarks).
"""
from __future__ import annotations

import math
from typing import Any

__all__ = ["is_finite", "is_positive", "is_real"]


def is_real(value: Any) -> bool:
    """An ``int`` or ``float`` that is not a ``bool`` (``nan`` and ``±inf`` included)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite(value: Any) -> bool:
    """:func:`is_real` and finite (not ``nan``, not ``±inf``)."""
    return is_real(value) and math.isfinite(value)


def is_positive(value: Any) -> bool:
    """:func:`is_finite` and ``> 0`` (a latency, a duration, a scale factor)."""
    return is_finite(value) and value > 0
