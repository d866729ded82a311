"""nas.errors: the two ways an exception's message is cut for a one-line error."""
from __future__ import annotations

import pytest

from nas.errors import first_line, one_line


@pytest.mark.parametrize(("exc", "kwargs", "expected"), [
    (RuntimeError("\n  \n  boom at line 3  \nC++ trace\n"), {}, "boom at line 3"),
    (RuntimeError("\n  \n  boom at line 3  \nC++ trace\n"), {"typed": True}, "RuntimeError: boom at line 3"),
    (KeyError(), {}, "KeyError"),
    (ValueError("  \n "), {"typed": True}, "ValueError"),
    (OSError("x" * 20), {"limit": 10}, "x" * 9 + "…"),
    (OSError("x" * 10), {"limit": 10}, "x" * 10),
    (ValueError("abcdef"), {"typed": True, "limit": 12}, "ValueError:…"),
])
def test_first_line(exc: BaseException, kwargs: dict, expected: str) -> None:
    assert first_line(exc, **kwargs) == expected


@pytest.mark.parametrize(("exc", "expected"), [
    (ValueError("a\n  b\tc  "), "a b c"),
    (MemoryError(), "MemoryError"),
    (RuntimeError(" \n "), "RuntimeError"),
])
def test_one_line(exc: BaseException, expected: str) -> None:
    assert one_line(exc) == expected
