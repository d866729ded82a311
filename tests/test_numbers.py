"""nas.numbers: what counts as a number when read back from YAML, JSON and study attributes."""
from __future__ import annotations

import math

import pytest

from nas.numbers import is_finite, is_positive, is_real


@pytest.mark.parametrize("value, real, finite, positive", [
    (1, True, True, True),
    (2.5, True, True, True),
    (0, True, True, False),
    (-3.0, True, True, False),
    (math.nan, True, False, False),
    (math.inf, True, False, False),
    (-math.inf, True, False, False),
    (True, False, False, False),   # a bool is an int in Python, never a number here
    (False, False, False, False),
    (None, False, False, False),
    ("12.5", False, False, False),  # a string that looks like a number is not one
    ([1.0], False, False, False),
])
def test_the_three_checks(value: object, real: bool, finite: bool, positive: bool) -> None:
    assert (is_real(value), is_finite(value), is_positive(value)) == (real, finite, positive)
