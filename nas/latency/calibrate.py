"""The calibration of a latency lookup table: ``whole-network ms ≈ overhead_ms + scale × Σ entries``, plus
per-network terms where they predict better (:func:`fit_calibration`, :func:`calibrate`), fitted on whole
networks timed like the table's ops; and the default networks to fit it on (:func:`calibration_archs`).

Why terms: an op in the table is timed alone, called again and again with its module state, weights and input
hot in the caches; inside a network the layers before it have evicted them. Timed both ways on this project's
2-vCPU machine (182 ops of 12 mobile_32px archs, per-call medians): alone-and-repeated was 1.20–1.29× faster
per net than with the caches cold — about +12 µs per op, +0.08 ms per MB of weights and +10 % — while the whole
network matched the sum of its cold ops within ±6 % (median ratio 1.00, one call of each interleaved per
round). At 224 px the same comparison gave 1.02–1.09×: ops are long enough that the fixed part vanishes. That
is the raw sum's systematic −15…−28 % at 32 px; ``scale`` (≈ 1.28 fitted on 21 nets) and the terms ``layers``
and ``weight_mb`` (:data:`TERMS`) model it. That the *calibrated* table kept a −15…−27 % bias in
docs/benchmarks.md was the protocol: its test nets were timed minutes after the build, and this machine's
speed moves by up to ×2 over minutes; timed inside the build's sweeps (``build_table(holdout_archs=...)``),
40 held-out nets came out with +2.5 % bias and 8.7 % mean |error|, under the 13.4 % the measurement's own
retest showed.

The fit with terms is non-negative least squares (every term adds time); it is kept only when its
leave-one-out error on the calibration networks is clearly lower than the linear fit's (:data:`TERMS_GAIN`).
"""
from __future__ import annotations

import random
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from scipy.optimize import nnls

from nas.arch.io import load_arch
from nas.arch.spec import Arch
from nas.latency.table import TERMS, Calibration, LatencyTable, LUTError

__all__ = ["TERMS_GAIN", "calibrate", "calibration_archs", "fit_calibration", "fit_coefficients"]

#: The fit with terms replaces the linear one only when its leave-one-out error is below this share of the
#: linear fit's: with 21 calibration nets under load the two came within 0.3 % of each other (11.29 vs 11.32 %)
#: and predicted 40 held-out nets alike (8.5 vs 8.7 % mean |err|), and the simpler model is the safer one.
TERMS_GAIN = 0.95


def fit_coefficients(design: np.ndarray, y: np.ndarray, nonnegative: bool) -> np.ndarray:
    """Least squares ``y ≈ design @ coef``: plain, or with every coefficient ≥ 0."""
    if nonnegative:
        return nnls(design, y)[0]
    return np.linalg.lstsq(design, y, rcond=None)[0]


def _loo_pct(design: np.ndarray, y: np.ndarray, nonnegative: bool) -> float:
    """Mean |error| in % when each network is predicted by a fit on the others."""
    errs = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        coef = fit_coefficients(design[keep], y[keep], nonnegative)
        errs.append(abs(float(design[i] @ coef) - y[i]) / y[i] * 100)
    return float(np.mean(errs))


def fit_calibration(raw_ms: Sequence[float], measured_ms: Sequence[float], names: Sequence[str] = (),
                    features: Mapping[str, Sequence[float]] | None = None, select: bool = True) -> Calibration:
    """``measured ≈ overhead + scale × raw`` (least squares) — or, given ``features`` (per term of
    :data:`~nas.latency.table.TERMS`, one value per network) and at least ``3 + len(terms)`` networks,
    ``+ Σ coef × term`` (non-negative least squares) when that predicts the networks left out one at a time
    clearly better (:data:`TERMS_GAIN`; ``select=False``: always). Residual statistics of the chosen fit."""
    x = np.asarray(raw_ms, dtype=np.float64)
    y = np.asarray(measured_ms, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise LUTError(f"calibration needs as many measured latencies as archs (got {len(x)} and {len(y)})")
    if len(x) < 2 or np.ptp(x) <= 0:
        raise LUTError(f"calibration needs at least 2 networks with different op sums (got {len(x)})")
    if not (np.all(np.isfinite(y)) and np.all(y > 0)):
        raise LUTError("calibration: measured latencies must be positive finite numbers of ms")
    terms = tuple(t for t in TERMS if features and t in features and np.ptp(np.asarray(features[t])) > 0)
    linear = np.stack([np.ones_like(x), x], axis=1)
    design, nonneg, loo = linear, False, _loo_pct(linear, y, False) if len(x) >= 3 else -1.0
    if terms and len(x) >= 3 + len(terms):
        full = np.column_stack([linear] + [np.asarray(features[t], dtype=np.float64) for t in terms])
        loo_full = _loo_pct(full, y, True)
        if loo_full < TERMS_GAIN * loo or not select:
            design, nonneg, loo = full, True, loo_full
    coef = fit_coefficients(design, y, nonneg)
    pred = design @ coef
    err_pct = np.abs(pred - y) / y * 100
    used = terms if design.shape[1] > 2 else ()
    return Calibration(overhead_ms=float(coef[0]), scale=float(coef[1]), n_nets=len(x),
                       rmse_ms=float(np.sqrt(np.mean((pred - y) ** 2))), mean_abs_pct=float(err_pct.mean()),
                       max_abs_pct=float(err_pct.max()), archs=tuple(names), terms=used,
                       coefs=tuple(float(c) for c in coef[2:]), loo_mean_abs_pct=float(loo))


def calibrate(table: LatencyTable, archs: Sequence[Arch | str], measured_ms: Sequence[float]) -> Calibration:
    """Fit ``measured_ms ≈ overhead + scale × predict_raw(arch)`` on whole networks timed like the ops
    (``build_table(calibration_archs=...)`` does this for you, timing them among the ops; or
    :func:`measure_networks`), store it in ``table.calibration`` and return it.
    """
    loaded = [load_arch(a) for a in archs]
    if len(loaded) != len(measured_ms):
        raise LUTError(f"calibration needs one measured latency per arch (got {len(loaded)} archs and "
                       f"{len(measured_ms)} latencies)")
    raw = [table.predict_raw(a) for a in loaded]
    feats = [table.features(a) for a in loaded]
    features = {t: [f[t] for f in feats] for t in TERMS}
    table.calibration = fit_calibration(raw, measured_ms, [a.name for a in loaded], features)
    return table.calibration


def calibration_archs(space: Any, n: int, seed: int = 0, exclude: Iterable[str] = ()) -> list[Arch]:
    """The space's reference (skeleton) arch when it lies in the space, plus ``n`` distinct random archs
    sampled with ``seed`` (names in ``exclude`` skipped) — the default networks to calibrate on."""
    rng = random.Random(seed)
    skip = set(exclude)
    archs: dict[str, Arch] = {a.name: a for a in space.reference_archs() if a.name not in skip}
    wanted = len(archs) + n
    for _ in range(1000 * max(n, 1)):
        if len(archs) >= wanted:
            break
        a = space.sample(rng)
        if a.name not in skip:
            archs.setdefault(a.name, a)
    return list(archs.values())
