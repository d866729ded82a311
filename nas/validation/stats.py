"""Statistics of :mod:`nas.validation`: Kendall τ-b / Spearman ρ with bootstrap CIs (:class:`Corr`,
:func:`bootstrap_corr`), the paired τ difference, mean-rank ensembles and the half-split check of a
choice (:func:`selection_cv`)."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["Corr", "bootstrap_corr", "kendall_tau", "mean_rank", "paired_tau_diff", "selection_cv"]


@dataclass(frozen=True)
class Corr:
    """Kendall τ-b and Spearman ρ of ``n`` pairs with percentile-bootstrap CIs (NaN if n < 3)."""

    n: int
    tau: float
    tau_lo: float
    tau_hi: float
    rho: float
    rho_lo: float
    rho_hi: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall τ-b of ``x`` vs ``y`` (NaN where undefined, e.g. all ties)."""
    from scipy.stats import kendalltau

    return float(kendalltau(x, y).statistic)  # tau-b


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def _percentile_ci(values: np.ndarray, level: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan
    a = (1 - level) / 2
    return float(np.quantile(values, a)), float(np.quantile(values, 1 - a))


def bootstrap_corr(x: Sequence[float], y: Sequence[float], *, n_boot: int = 2000, seed: int = 0,
                   level: float = 0.95) -> Corr:
    """τ-b and ρ of ``x`` vs ``y`` with percentile-bootstrap CIs: ``n_boot`` resamples of the pairs
    with replacement (seeded); resamples where a statistic is undefined (all ties) are dropped."""
    import warnings

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n != len(y):
        raise ValueError(f"x and y differ in length ({n} vs {len(y)})")
    if n < 3:
        return Corr(n, *(math.nan,) * 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant resamples: scipy warns and returns NaN, dropped below
        tau, rho = kendall_tau(x, y), _rho(x, y)
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
        taus = np.array([kendall_tau(x[i], y[i]) for i in idx])
        rhos = np.array([_rho(x[i], y[i]) for i in idx])
    return Corr(n, tau, *_percentile_ci(taus, level), rho, *_percentile_ci(rhos, level))


def paired_tau_diff(a: Sequence[float], b: Sequence[float], y: Sequence[float], *, n_boot: int = 2000,
                    seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """τ(a, y) − τ(b, y) with a paired percentile-bootstrap CI (the same resampled archs for both)."""
    import warnings

    a, b, y = (np.asarray(v, dtype=float) for v in (a, b, y))
    n = len(y)
    if n < 3:
        return math.nan, math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        point = kendall_tau(a, y) - kendall_tau(b, y)
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
        diffs = np.array([kendall_tau(a[i], y[i]) - kendall_tau(b[i], y[i]) for i in idx])
    return (point, *_percentile_ci(diffs, level))


def mean_rank(columns: Sequence[Sequence[float]]) -> np.ndarray:
    """The mean over columns of each row's rank (average ranks for ties; higher value → higher rank)."""
    from scipy.stats import rankdata

    return np.mean([rankdata(np.asarray(c, dtype=float)) for c in columns], axis=0)


def selection_cv(values: Mapping[str, Sequence[float]], y: Sequence[float], candidates: Sequence[str], *,
                 baseline: str = "params", splits: int = 200, seed: int = 0) -> dict[str, Any]:
    """Honest value of "pick the candidate with the best τ": on each of ``splits`` random halves, choose
    the best candidate on one half and score it (and ``baseline``) on the other half.

    ``values[name]`` are finite scores for the same archs as ``y`` (an ensemble ``"a+b"`` is computed as
    the mean rank within each half). Returns held-out τ median and 2.5/97.5 % quantiles, the baseline's,
    the share of splits where the chosen one beats the baseline, and how often each candidate was chosen.
    """
    import warnings

    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < 8 or not candidates:
        return {"splits": 0}
    rng = np.random.default_rng(seed)
    cols = {k: np.asarray(v, dtype=float) for k, v in values.items()}

    def score(name: str, idx: np.ndarray) -> np.ndarray:
        parts = name.split("+")
        return cols[name][idx] if len(parts) == 1 else mean_rank([cols[p][idx] for p in parts])

    held, base, wins, chosen = [], [], 0, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(splits):
            perm = rng.permutation(n)
            a, b = perm[: n // 2], perm[n // 2:]
            taus = [(kendall_tau(score(c, a), y[a]), c) for c in candidates]
            taus = [(t, c) for t, c in taus if math.isfinite(t)]
            if not taus:
                continue
            best = max(taus, key=lambda tc: tc[0])[1]
            chosen[best] = chosen.get(best, 0) + 1
            t_b, t_base = kendall_tau(score(best, b), y[b]), kendall_tau(score(baseline, b), y[b])
            if math.isfinite(t_b) and math.isfinite(t_base):
                held.append(t_b)
                base.append(t_base)
                wins += t_b > t_base
    if not held:
        return {"splits": 0}
    held_a, base_a = np.array(held), np.array(base)
    return {
        "splits": len(held), "half": n // 2,
        "held_median": float(np.median(held_a)), "held_lo": float(np.quantile(held_a, 0.025)),
        "held_hi": float(np.quantile(held_a, 0.975)),
        "base_median": float(np.median(base_a)), "win_share": wins / len(held),
        "chosen": dict(sorted(chosen.items(), key=lambda kv: -kv[1])),
    }
