"""The analysis of :mod:`nas.validation`: :func:`analyse` turns the caches into everything the report needs
(budget stability, noise ceiling, the ground truth of the main part, the proxy rows of
:class:`~nas.validation.proxy_table.ProxyTable` and the :func:`~nas.validation.recommend.recommend`\\ ation)."""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np

from nas.arch.spec import Arch
from nas.validation.cache import timestamp
from nas.validation.proxy_table import ProxyTable
from nas.validation.recommend import recommend
from nas.validation.stats import bootstrap_corr
from nas.validation.validator import Validator

__all__ = ["analyse", "budget_stability", "ground_truth", "gt_seeds", "median_epoch_seconds", "noise_ceiling"]


def gt_seeds(seed: int, noise_seed: int, count: int) -> list[int]:
    """The training seeds whose mean top-1 is an arch's ground truth: ``seed``, then ``noise_seed``,
    ``noise_seed + 1``, … (so the noise-ceiling trainings are reused), ``count`` in all."""
    return [seed] + [noise_seed + i for i in range(count - 1)]


def ground_truth(v: Validator, arch: Arch, epochs: int, seeds: Sequence[int]) -> float | str | None:
    """Mean top-1 over ``seeds`` at ``epochs``; ``"failed"`` if any of those trainings failed, None if any
    is not trained yet."""
    records = [v.lookup(arch, epochs, s) for s in seeds]
    if any(r is not None and r.get("status") != "ok" for r in records):
        return "failed"
    if any(r is None for r in records):
        return None
    return float(np.mean([r["test_top1"] for r in records]))


def median_epoch_seconds(v: Validator, archs: Sequence[Arch], settings: Iterable[tuple[int, int]]) -> dict[str, Any]:
    """Seconds per epoch of the finished trainings of ``archs`` under the (epochs, seed) ``settings``:
    ``{"count", "median", "min", "max"}`` (only ``count`` 0 if there are none)."""
    per_epoch = []
    for arch in archs:
        for e, s in settings:
            r = v.lookup(arch, e, s)
            if r and r.get("status") == "ok" and r.get("seconds"):
                per_epoch.append(r["seconds"] / r["epochs"])
    if not per_epoch:
        return {"count": 0}
    p = np.array(per_epoch)
    return {"count": len(p), "median": float(np.median(p)), "min": float(p.min()), "max": float(p.max())}


def _header(v: Validator, **settings: Any) -> dict[str, Any]:
    """Date, machine, space, setup and settings of the analysis, and the sizes actually trained on."""
    from nas.machine import describe

    out: dict[str, Any] = {
        "date": timestamp(), "machine": describe(), "space": getattr(v.space, "source", str(v.space)),
        "setup": v.setup.to_dict(), "data_id": v.data_id, "recipe": v.recipe, **settings,
        "proxy_batch": v.proxy_batch, "proxy_input": v.proxy_input, "bad_cache_lines": v.train_cache.bad_lines,
    }
    for r in v.train_cache:  # sizes actually used, from any record of this setup
        if r.get("data") == v.data_id and r.get("recipe") == v.recipe:
            out["train_images"], out["test_images"] = r.get("train_images"), r.get("test_images")
            out["resolution_px"] = r.get("resolution_px")
            break
    return out


def budget_stability(v: Validator, archs: Sequence[Arch], epochs: int, multiplier: int, seeds: Sequence[int],
            n_boot: int, long_seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """Budget stability: the ground truth at ``epochs`` (mean over ``seeds``) against the mean top-1 at
    ``multiplier × epochs`` over ``long_seeds`` (default: this validator's seed alone), on the ``archs`` that
    have both: names, both accuracies and τ/ρ with bootstrap CIs."""
    names, xa, xb = [], [], []
    for arch in archs:
        short = ground_truth(v, arch, epochs, seeds)
        longs = [v.accuracy(arch, multiplier * epochs, s) for s in (long_seeds or (v.seed,))]
        if isinstance(short, float) and all(x is not None for x in longs):
            names.append(arch.name)
            xa.append(short)
            xb.append(float(np.mean(longs)))
    return {"names": names, "short": xa, "long": xb,
            "corr": bootstrap_corr(xa, xb, n_boot=n_boot, seed=v.seed).to_dict()}


def noise_ceiling(v: Validator, archs: Sequence[Arch], epochs: int, noise_seed: int, n_boot: int, *,
                  seed: int | None = None) -> dict[str, Any]:
    """Noise ceiling: the ``archs`` trained at ``epochs`` with both ``seed`` (default: this validator's) and
    ``noise_seed``: names, both accuracies, τ/ρ with bootstrap CIs and the mean and max |difference|."""
    names, xa, xb = [], [], []
    first = v.seed if seed is None else seed
    for arch in archs:
        ra, rb = v.accuracy(arch, epochs, first), v.accuracy(arch, epochs, noise_seed)
        if ra is not None and rb is not None:
            names.append(arch.name)
            xa.append(ra)
            xb.append(rb)
    diffs = np.abs(np.subtract(xa, xb)) if xa else np.array([])
    return {"names": names, "seed_a": xa, "seed_b": xb,
            "corr": bootstrap_corr(xa, xb, n_boot=n_boot, seed=v.seed).to_dict(),
            "mean_abs_diff": float(diffs.mean()) if len(diffs) else math.nan,
            "max_abs_diff": float(diffs.max()) if len(diffs) else math.nan}


def _main(v: Validator, archs: Sequence[Arch], epochs: int, seeds: Sequence[int]) -> tuple[list[Arch], dict[str, Any]]:
    """The archs with a ground truth, and the main part's summary: counts, names, accuracies, spread."""
    acc, keep, failed = [], [], 0
    for arch in archs:
        truth = ground_truth(v, arch, epochs, seeds)
        if truth == "failed":
            failed += 1
        elif truth is not None:
            acc.append(truth)
            keep.append(arch)
    main: dict[str, Any] = {"trained": len(keep), "failed_trainings": failed, "arch_names": [a.name for a in keep],
                            "acc": acc}
    a = np.array(acc)
    if len(a):
        q1, q3 = np.quantile(a, [0.25, 0.75])
        main["spread"] = {"min": float(a.min()), "max": float(a.max()), "median": float(np.median(a)),
                          "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0, "iqr": float(q3 - q1)}
    return keep, main


def analyse(v: Validator, *, n: int, epochs: int, multiplier: int = 3, noise_archs: int = 10, noise_seed: int = 1,
            budget_archs: int = 10, ensembles: Sequence[str] = (), n_boot: int = 2000, cv_splits: int = 200,
            search_ensembles: bool = True, n_gt_seeds: int = 1) -> dict[str, Any]:
    """Everything the report needs, from the caches only (nothing is trained or scored here).

    An arch's ground truth at the budget is its mean top-1 over ``n_gt_seeds`` training seeds
    (:func:`gt_seeds`): more seeds lower the training noise that a ranking at a short budget carries.
    Budget stability compares that ground truth with one training (``seed``) at ``multiplier × epochs``,
    whose own noise can only lower τ.
    """
    seed = v.seed
    seeds = gt_seeds(seed, noise_seed, n_gt_seeds)
    out = _header(v, epochs=epochs, multiplier=multiplier, seed=seed, noise_seed=noise_seed, gt_seeds=seeds,
                  n_requested=n, noise_requested=noise_archs, budget_requested=budget_archs, n_boot=n_boot)
    out["budget"] = budget_stability(v, v.archs(budget_archs), epochs, multiplier, seeds, n_boot)
    out["noise"] = noise_ceiling(v, v.archs(noise_archs), epochs, noise_seed, n_boot)
    out["epoch_seconds"] = median_epoch_seconds(
        v, v.archs(max(n, noise_archs, budget_archs)),
        [(epochs, seed), (epochs, noise_seed), (multiplier * epochs, seed)])
    out["epoch_seconds_main"] = median_epoch_seconds(v, v.archs(n), [(epochs, s) for s in seeds])
    keep, out["main"] = _main(v, v.archs(n), epochs, seeds)
    table = ProxyTable(v, keep, out["main"]["acc"], n_boot=n_boot, seed=seed)
    out["main"]["proxy_missing"] = table.missing
    rows = table.rows(ensembles)
    if search_ensembles:
        best, checks = table.search_ensembles(cv_splits=cv_splits)
        if best is not None and best not in ensembles:
            kind = f"ensemble (best of {checks['ensembles_tried']}, chosen on these archs)"
            rows.append(table.ensemble_row(best, kind))
        out.update(checks)
    out["rows"] = rows
    out["recommendation"] = recommend(out)
    return out
