"""nas.validation.stats: τ/ρ with bootstrap CIs, the paired difference, mean ranks and the half-split check."""
from __future__ import annotations

import math

import numpy as np
import pytest

from nas import validation as V


def test_identical_and_reversed_rankings() -> None:
    x = np.arange(12.0)
    same = V.bootstrap_corr(x, x * 3 + 1, n_boot=200)
    assert same.tau == pytest.approx(1.0) and same.rho == pytest.approx(1.0)
    assert same.tau_lo == pytest.approx(1.0) and same.tau_hi == pytest.approx(1.0)
    rev = V.bootstrap_corr(x, -x, n_boot=200)
    assert rev.tau == pytest.approx(-1.0) and rev.rho == pytest.approx(-1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ci_contains_point_and_lies_in_bounds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=25)
    y = 0.5 * x + rng.normal(size=25)
    c = V.bootstrap_corr(x, y, n_boot=500, seed=seed)
    assert c.n == 25
    for point, lo, hi in ((c.tau, c.tau_lo, c.tau_hi), (c.rho, c.rho_lo, c.rho_hi)):
        assert -1 <= lo <= point <= hi <= 1
    again = V.bootstrap_corr(x, y, n_boot=500, seed=seed)
    assert again == c  # seeded


def test_too_few_pairs_give_nan_and_paired_difference_of_identical_is_zero() -> None:
    c = V.bootstrap_corr([1.0, 2.0], [2.0, 1.0])
    assert c.n == 2 and math.isnan(c.tau) and math.isnan(c.tau_lo)
    x = np.arange(10.0)
    assert V.paired_tau_diff(x, x, x, n_boot=100) == (0.0, 0.0, 0.0)
    d, lo, hi = V.paired_tau_diff(x, -x, x, n_boot=100)
    assert d == pytest.approx(2.0) and lo <= d <= hi


def test_mean_rank_and_selection_cv() -> None:
    assert list(V.mean_rank([[1, 2, 3], [3, 2, 1]])) == [2.0, 2.0, 2.0]
    rng = np.random.default_rng(0)
    y = rng.normal(size=20)
    vals = {"good": y + 0.01 * rng.normal(size=20), "bad": rng.normal(size=20), "params": rng.normal(size=20)}
    cv = V.selection_cv(vals, y, ["good", "bad", "good+bad"], splits=30)
    assert cv["splits"] == 30 and cv["chosen"].get("good", 0) > 15 and cv["held_median"] > 0.8
