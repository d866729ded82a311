"""nas.train.optim: the lr schedules."""
from __future__ import annotations

import pytest

from nas.train import lr_factor


def test_lr_schedules_warm_up_then_decay():
    for schedule in ("cosine", "onecycle"):
        factors = [lr_factor(s, 100, 10, schedule) for s in range(101)]
        assert factors[0] < factors[5] < factors[10] == pytest.approx(1.0)
        assert all(x >= y for x, y in zip(factors[10:], factors[11:]))
        assert factors[-1] < 1e-3
    assert lr_factor(0, 100, 0, "cosine") == 1.0
