"""nas.data.spec: parsing the --data spec string."""
from __future__ import annotations

from pathlib import Path

import pytest
from data.helpers import one_line_error

from nas.data.spec import FASHION_MNIST_DIR, DataError, DataSpec, parse_spec


def test_parse_spec():
    assert parse_spec("fashion-mnist") == DataSpec("fashion-mnist", FASHION_MNIST_DIR)
    assert parse_spec("cifar10:/x/y").path == Path("/x/y")
    assert parse_spec("synthetic:classes=3").options == {"classes": 3}
    for bad, pattern in (
        ("imagenet:/data", "expected one of: fashion-mnist"),
        ("mnist", "needs a directory"),
        ("synthetic:colors=3", "synthetic options"),
    ):
        with pytest.raises(DataError, match=pattern) as excinfo:
            parse_spec(bad)
        one_line_error(excinfo)
