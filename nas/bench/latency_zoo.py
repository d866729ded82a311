"""The latency benchmark's parts on the zoo nets (224 px, batch 1), solo and paired:

* (a) repeatability — ``runs`` independent :func:`~nas.latency.measure.measure_latency` calls per net, their CV,
  solo and paired against a reference (:func:`part_a`);
* (d) each net's latency beside its parameters and MACs (:func:`part_d`);
* (e) load — each net measured quiet, then with a busy-loop process of our own on one core
  (:class:`nas.machine.BusyLoop`), solo and paired: the busy median against the quiet one, and whether the
  busy measurement was flagged noisy (:func:`part_e`).

``settings`` is the keyword arguments of every ``measure_latency`` call (device, threads, repeats,
min_run_time, warmup); the reference is measured once, quiet, by :func:`zoo_reference`. Nothing here writes.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from tqdm.auto import tqdm

from nas.latency.measure import LatencyResult, measure_latency, measure_reference
from nas.latency.paired import Reference
from nas.machine import BusyLoop
from nas.model.builder import build_model
from nas.model.cost import count_macs, count_params

__all__ = ["LOAD_TOLERANCE", "RESOLUTION", "load_verdict", "part_a", "part_d", "part_e", "zoo_reference"]

#: Input size of every zoo timing.
RESOLUTION = 224
#: Part (e)'s goal: a busy-machine median within ±25 % of the quiet one, or flagged noisy.
LOAD_TOLERANCE = 0.25


def zoo_reference(name: str, settings: dict[str, Any]) -> Reference:
    """The reference network ``name`` (a zoo name or arch file) at 224 px with its quiet latency, measured now
    with ``settings`` (its ``noise`` policy included)."""
    return measure_reference(name, RESOLUTION, **settings)


def _summary(results: Sequence[LatencyResult]) -> dict[str, Any]:
    medians = np.asarray([r.median_ms for r in results])
    cv = float(medians.std(ddof=1) / medians.mean() * 100) if len(medians) > 1 else float("nan")
    return {"medians_ms": medians.tolist(), "mean_ms": float(medians.mean()), "cv_pct": cv,
            "noisy": sum(r.noisy for r in results), "others_cpu": _mean_others(results),
            "reference_now_ms": [r.reference_now_ms for r in results if r.reference_now_ms is not None]}


def _mean_others(results: Sequence[LatencyResult]) -> float | None:
    values = [r.others_cpu for r in results if r.others_cpu is not None]
    return float(np.mean(values)) if values else None


def part_a(nets: Sequence[str], runs: int, settings: dict[str, Any], reference: Reference | None,
           progress: bool = False) -> list[dict[str, Any]]:
    """Per net: ``runs`` independent solo measurements (``solo``: medians, mean, CV in %, how many flagged
    noisy, mean other-process load) and, with a reference, as many paired ones (``paired``); the runs of the
    two modes alternate so that both see the same minutes."""
    rows = []
    for name in tqdm(nets, desc="(a) repeatability", unit="net", disable=not progress):
        model = build_model(name)
        solo, paired = [], []
        for _ in range(runs):
            solo.append(measure_latency(model, RESOLUTION, **settings))
            if reference is not None:
                paired.append(measure_latency(model, RESOLUTION, reference=reference, **settings))
        rows.append({"net": name, "solo": _summary(solo), "paired": _summary(paired) if paired else None})
    return rows


def part_d(nets: Sequence[str], settings: dict[str, Any], progress: bool = False) -> list[dict[str, Any]]:
    """Per net: one solo ``measure_latency`` call (``median_ms``, ``iqr_ms``, CV of its repeats in %,
    ``noisy``, ``others_cpu``), ``params`` and ``macs``."""
    rows = []
    for name in tqdm(nets, desc="(d) zoo", unit="net", disable=not progress):
        model = build_model(name)
        r = measure_latency(model, RESOLUTION, **settings)
        rows.append({"net": name, "median_ms": r.median_ms, "iqr_ms": r.iqr_ms, "cv_pct": r.cv * 100,
                     "noisy": r.noisy, "others_cpu": r.others_cpu, "params": count_params(model),
                     "macs": count_macs(model, RESOLUTION)})
    return rows


def load_verdict(quiet_ms: float, busy_ms: float, noisy: bool) -> str:
    """``ok`` (busy within ±:data:`LOAD_TOLERANCE` of quiet), ``flagged`` (outside, but marked noisy) or
    ``MISSED`` (outside and not marked; ``MISSED ×2`` when at least twice the quiet value)."""
    if abs(busy_ms / quiet_ms - 1) <= LOAD_TOLERANCE:
        return "ok"
    if noisy:
        return "flagged"
    return "MISSED ×2" if busy_ms >= 2 * quiet_ms else "MISSED"


def _pair(quiet: LatencyResult, busy: LatencyResult) -> dict[str, Any]:
    return {"quiet_ms": quiet.median_ms, "quiet_noisy": quiet.noisy, "busy_ms": busy.median_ms,
            "ratio": busy.median_ms / quiet.median_ms, "busy_noisy": busy.noisy, "busy_others_cpu": busy.others_cpu,
            "busy_attempts": len(busy.attempts), "busy_reasons": busy.noise_reasons,
            "verdict": load_verdict(quiet.median_ms, busy.median_ms, busy.noisy)}


def part_e(nets: Sequence[str], settings: dict[str, Any], reference: Reference | None, core: int | None = None,
           progress: bool = False) -> dict[str, Any]:
    """The load scenario. Per net: quiet solo (and paired) measurements, then the same with a
    :class:`~nas.machine.BusyLoop` pinned to ``core`` (default: the last usable core), started for that net
    and stopped before the next. Returns ``{"core", "rows"}``; each row has ``solo`` (and ``paired``):
    quiet and busy medians, their ratio, whether the busy one was flagged noisy and the verdict
    (:func:`load_verdict`)."""
    rows, busy_core = [], None
    for name in tqdm(nets, desc="(e) load", unit="net", disable=not progress):
        model = build_model(name)
        modes = {"solo": None} if reference is None else {"solo": None, "paired": reference}
        quiet = {m: measure_latency(model, RESOLUTION, reference=ref, **settings) for m, ref in modes.items()}
        with BusyLoop(core) as loop:
            busy_core = loop.core
            busy = {m: measure_latency(model, RESOLUTION, reference=ref, **settings) for m, ref in modes.items()}
        rows.append({"net": name, **{m: _pair(quiet[m], busy[m]) for m in modes}})
    return {"core": busy_core, "rows": rows}
