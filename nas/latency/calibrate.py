"""The calibration of a latency lookup table: ``whole-network ms ≈ overhead_ms + scale × Σ entries``,
least squares on whole networks timed like the table's ops (:func:`fit_calibration`, :func:`calibrate`), and
the default networks to fit it on (:func:`calibration_archs`)."""
from __future__ import annotations

import random
from typing import Any, Iterable, Sequence

import numpy as np

from nas.arch.io import load_arch
from nas.arch.spec import Arch
from nas.latency.table import Calibration, LatencyTable, LUTError

__all__ = ["calibrate", "calibration_archs", "fit_calibration"]

def fit_calibration(raw_ms: Sequence[float], measured_ms: Sequence[float],
                    names: Sequence[str] = ()) -> Calibration:
    """Least-squares ``measured = overhead + scale × raw`` with residual statistics."""
    x = np.asarray(raw_ms, dtype=np.float64)
    y = np.asarray(measured_ms, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise LUTError(f"calibration needs as many measured latencies as archs (got {len(x)} and {len(y)})")
    if len(x) < 2 or np.ptp(x) <= 0:
        raise LUTError(f"calibration needs at least 2 networks with different op sums (got {len(x)})")
    if not (np.all(np.isfinite(y)) and np.all(y > 0)):
        raise LUTError("calibration: measured latencies must be positive finite numbers of ms")
    design = np.stack([np.ones_like(x), x], axis=1)
    (overhead, scale), *_ = np.linalg.lstsq(design, y, rcond=None)
    pred = overhead + scale * x
    err_pct = np.abs(pred - y) / y * 100
    return Calibration(overhead_ms=float(overhead), scale=float(scale), n_nets=len(x),
                       rmse_ms=float(np.sqrt(np.mean((pred - y) ** 2))), mean_abs_pct=float(err_pct.mean()),
                       max_abs_pct=float(err_pct.max()), archs=tuple(names))


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
    table.calibration = fit_calibration(raw, measured_ms, [a.name for a in loaded])
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
