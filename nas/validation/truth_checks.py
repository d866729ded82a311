"""Whether a ground truth can judge a proxy, from the training cache alone: the plateau test
(:func:`plateau`), budget stability and the noise ceiling with what averaging seeds buys
(:func:`seed_agreement`), and the truth itself (:func:`truth_values`).

Thresholds (issue 14): top-1 moves < :data:`PLATEAU_PT` points from E to 1.5·E (mean over the plateau
nets); τ(E, 2·E) ≥ :data:`BUDGET_TAU`; and two training seeds rank the nets alike at τ ≥
:data:`NOISE_TAU` — below that, seed noise, not architecture, decides the ranking, and the truth cannot judge
a proxy (widen the spread of the space or average more seeds).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from nas.arch.spec import Arch
from nas.validation.analysis import budget_stability, ground_truth, noise_ceiling
from nas.validation.validator import Validator

__all__ = ["BUDGET_TAU", "NOISE_TAU", "PLATEAU_PT", "budget_check", "plateau", "seed_agreement", "truth_values"]

PLATEAU_PT = 0.2
BUDGET_TAU = 0.8
NOISE_TAU = 0.6


def _epochs_trained(v: Validator, archs: Sequence[Arch], seed: int) -> list[int]:
    """Every epoch budget at which all of ``archs`` have an ok training with ``seed``."""
    from nas.arch.key import arch_key

    keys = {arch_key(a) for a in archs}
    seen: dict[int, set[str]] = {}
    for r in v.train_cache:
        if (r.get("arch_key") in keys and r.get("seed") == seed and r.get("status") == "ok"
                and r.get("data") == v.data_id and r.get("recipe") == v.recipe):
            seen.setdefault(int(r["epochs"]), set()).add(r["arch_key"])
    return sorted(e for e, ks in seen.items() if ks == keys)


def plateau(v: Validator, archs: Sequence[Arch], *, factor: float = 1.5, seed: int = 0) -> list[dict[str, Any]]:
    """For every budget E at which all ``archs`` are trained (``seed``) and also at round(factor·E) (halves
    up): the per-net moves of top-1 in points, their mean and largest |move|, and whether the mean is below
    :data:`PLATEAU_PT` (``converged``)."""
    if not archs:
        return []
    trained = _epochs_trained(v, archs, seed)
    out = []
    for e in trained:
        e2 = math.floor(factor * e + 0.5)  # halves rounded up, as TruthPlan.plateau_epochs
        if e2 not in trained or e2 == e:
            continue
        moves = [100 * (v.accuracy(a, e2, seed) - v.accuracy(a, e, seed)) for a in archs]
        mean = float(np.mean(moves))
        out.append({"epochs": e, "epochs_long": e2, "n": len(archs), "moves_pt": moves, "mean_pt": mean,
                    "max_abs_pt": float(np.max(np.abs(moves))), "converged": mean < PLATEAU_PT,
                    "top1_long": [v.accuracy(a, e2, seed) for a in archs]})
    return out


def budget_check(v: Validator, archs: Sequence[Arch], epochs: int, factor: int, seeds: Sequence[int],
                 n_boot: int) -> dict[str, Any]:
    """Budget stability: the truth at ``epochs`` (mean over ``seeds``) against the mean over the same seeds
    at ``factor × epochs`` (:func:`nas.validation.analysis.budget_stability`), and whether τ ≥
    :data:`BUDGET_TAU` (``stable``).

    ``long_seeds`` are the seeds every arch with a truth has a finished training for at ``factor × epochs``
    (ok or failed; an arch with a failed one is left out, counted in ``failed``). While some are still
    training, ``complete`` is False — the verdict waits for them — and the comparison is made on the archs
    that every seed has finished (at least 3), else on the first seed alone. ``noise_cap_tau``:
    the τ that independent seed noise alone would leave an unchanged ranking — the Pearson r of the first two
    seeds at ``epochs`` on the compared archs, raised to a ``len(seeds)``-seed mean on one side and a
    ``len(long_seeds)``-seed mean on the other (Spearman–Brown), as τ = (2/π)·asin(ρ); NaN with fewer than 3
    archs. (The two budgets share seeds, so their noise may be correlated: an expectation, not a bound.)"""
    long_e = factor * epochs
    with_truth = [a for a in archs if isinstance(ground_truth(v, a, epochs, seeds), float)]
    done = {(a.name, s): v.lookup(a, long_e, s) for a in with_truth for s in seeds}  # finished trainings at 2·E
    long_seeds = [s for s in seeds if with_truth and all(done[a.name, s] is not None for a in with_truth)]
    complete = len(long_seeds) == len(seeds)
    compared = list(archs)
    every_seed = [a for a in with_truth if all(done[a.name, s] is not None for s in seeds)]
    if not complete and len(every_seed) >= 3:  # meanwhile: the archs every seed has finished, compared as asked
        long_seeds, compared = list(seeds), every_seed
    long_seeds = long_seeds or list(seeds[:1])
    b = budget_stability(v, compared, epochs, factor, seeds, n_boot, long_seeds=long_seeds)
    failed = sum(1 for a in with_truth if any((r := done[a.name, s]) is not None and r.get("status") != "ok"
                                              for s in long_seeds))
    names = set(b["names"])
    r, cap = _noise_cap(v, [a for a in archs if a.name in names], epochs, seeds, len(long_seeds))
    tau = b["corr"]["tau"]
    return {**b, "epochs": epochs, "epochs_long": long_e, "seeds": list(seeds), "long_seeds": long_seeds,
            "complete": complete, "failed": failed, "seed_pearson": r, "noise_cap_tau": cap,
            "stable": bool(complete and math.isfinite(tau) and tau >= BUDGET_TAU)}


def _noise_cap(v: Validator, archs: Sequence[Arch], epochs: int, seeds: Sequence[int],
               k_long: int) -> tuple[float, float]:
    """The Pearson r of the first two ``seeds`` at ``epochs`` on ``archs``, and the τ expected between a
    ``len(seeds)``-seed mean and a ``k_long``-seed mean of the same nets if only seed noise separated them
    (see :func:`budget_check`); NaN where it cannot be computed."""
    if len(seeds) < 2:
        return math.nan, math.nan
    pairs = [(v.accuracy(a, epochs, seeds[0]), v.accuracy(a, epochs, seeds[1])) for a in archs]
    x = np.array([p for p in pairs if None not in p], dtype=float)
    if len(x) < 3 or x[:, 0].std() == 0 or x[:, 1].std() == 0:
        return math.nan, math.nan
    r = float(np.corrcoef(x[:, 0], x[:, 1])[0, 1])
    if not math.isfinite(r) or r <= 0:
        return r, math.nan
    return r, 2 / math.pi * math.asin(min(math.sqrt(_reliability(r, len(seeds)) * _reliability(r, k_long)), 1.0))


def _sb_tau(r: float, k: int) -> float:
    """Expected Kendall τ between two independent means of ``k`` seeds, if one seed pair correlates at
    Pearson ``r`` (Spearman–Brown reliability k·r/(1+(k−1)·r), then τ = (2/π)·asin(ρ) for normal scores)."""
    if not math.isfinite(r) or r <= 0:
        return math.nan
    return 2 / math.pi * math.asin(min(_reliability(r, k), 1.0))


def _reliability(r: float, k: int) -> float:
    """Spearman–Brown: the reliability of a mean of ``k`` seeds when one pair of seeds correlates at ``r``."""
    return k * r / (1 + (k - 1) * r)


def seed_agreement(v: Validator, archs: Sequence[Arch], epochs: int, seeds: Sequence[int], n_boot: int) -> dict[str, Any]:
    """The noise ceiling at ``epochs`` between the first two ``seeds``
    (:func:`nas.validation.analysis.noise_ceiling`), whether it reaches :data:`NOISE_TAU` (``can_judge``),
    the spread across nets against the seed noise, the τ two independent k-seed means would reach
    (Spearman–Brown; ``tau_of_means``) and the seeds needed for τ ≥ :data:`NOISE_TAU` between such means."""
    if len(seeds) < 2:
        return {"names": [], "corr": {"n": 0, "tau": math.nan}, "can_judge": False}
    nc = noise_ceiling(v, archs, epochs, seeds[1], n_boot, seed=seeds[0])
    a, b = np.array(nc["seed_a"]), np.array(nc["seed_b"])
    r = float(np.corrcoef(a, b)[0, 1]) if len(a) >= 3 and a.std() > 0 and b.std() > 0 else math.nan
    spread = float(np.std((a + b) / 2, ddof=1)) if len(a) >= 2 else math.nan
    needed = next((k for k in range(1, 65) if _sb_tau(r, k) >= NOISE_TAU), None)
    tau = nc["corr"]["tau"]
    return {**nc, "epochs": epochs, "seeds": list(seeds[:2]), "pearson": r, "spread_std": spread,
            "can_judge": bool(math.isfinite(tau) and tau >= NOISE_TAU),
            "tau_of_means": {k: _sb_tau(r, k) for k in (1, 2, 4, 8)}, "seeds_needed": needed}


def truth_values(v: Validator, archs: Sequence[Arch], epochs: int, seeds: Sequence[int]) -> dict[str, Any]:
    """The archs (among ``archs``) with a complete truth (mean top-1 over ``seeds`` at ``epochs``), their
    truth, how many trainings failed and how many are still missing, and the spread."""
    keep, acc, failed, missing = [], [], 0, 0
    for arch in archs:
        t = ground_truth(v, arch, epochs, seeds)
        if t == "failed":
            failed += 1
        elif t is None:
            missing += 1
        else:
            keep.append(arch)
            acc.append(t)
    out: dict[str, Any] = {"archs": keep, "names": [a.name for a in keep], "acc": acc, "failed": failed,
                           "missing": missing, "requested": len(archs)}
    if acc:
        x = np.array(acc)
        out["spread"] = {"min": float(x.min()), "max": float(x.max()), "median": float(np.median(x)),
                         "std": float(x.std(ddof=1)) if len(x) > 1 else 0.0}
    return out
