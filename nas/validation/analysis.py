"""The analysis of :mod:`nas.validation`: :func:`analyse` turns the caches into everything the
report needs, and :func:`_recommend` decides the default search proxy by a stated rule."""
from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from nas.arch.spec import Arch
from nas.validation.stats import _tau, bootstrap_corr, mean_rank, paired_tau_diff, selection_cv
from nas.validation.validator import BASELINES, Validator, _now, machine_info


def _pairs(v: Validator, archs: Sequence[Arch], a: tuple[int, int], b: tuple[int, int]) -> tuple[list, list, list]:
    """Accuracies of the archs trained under both (epochs, seed) settings ``a`` and ``b``."""
    names, xa, xb = [], [], []
    for arch in archs:
        ra, rb = v.accuracy(arch, *a), v.accuracy(arch, *b)
        if ra is not None and rb is not None:
            names.append(arch.name)
            xa.append(ra)
            xb.append(rb)
    return names, xa, xb


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


def _median_epoch_seconds(v: Validator, archs: Sequence[Arch], settings: Iterable[tuple[int, int]]) -> dict[str, Any]:
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
    out: dict[str, Any] = {
        "date": _now(), "machine": machine_info(), "space": v.space.source if hasattr(v.space, "source") else str(v.space),
        "setup": dataclasses.asdict(v.setup), "data_id": v.data_id, "recipe": v.recipe, "epochs": epochs,
        "multiplier": multiplier, "seed": seed, "noise_seed": noise_seed, "gt_seeds": seeds, "n_requested": n,
        "noise_requested": noise_archs, "budget_requested": budget_archs, "n_boot": n_boot,
        "proxy_batch": v.proxy_batch, "proxy_input": v.proxy_input, "bad_cache_lines": v.train_cache.bad_lines,
    }
    # sizes actually used, from any record of this setup
    for r in v.train_cache:
        if r.get("data") == v.data_id and r.get("recipe") == v.recipe:
            out["train_images"], out["test_images"] = r.get("train_images"), r.get("test_images")
            out["resolution_px"] = r.get("resolution_px")
            break

    # (b) budget stability
    names, xa, xb = [], [], []
    for arch in v.archs(budget_archs):
        short, long = ground_truth(v, arch, epochs, seeds), v.accuracy(arch, multiplier * epochs, seed)
        if isinstance(short, float) and long is not None:
            names.append(arch.name)
            xa.append(short)
            xb.append(long)
    out["budget"] = {"names": names, "short": xa, "long": xb,
                     "corr": bootstrap_corr(xa, xb, n_boot=n_boot, seed=seed).to_dict()}
    # (a) noise ceiling
    names, xa, xb = _pairs(v, v.archs(noise_archs), (epochs, seed), (epochs, noise_seed))
    diffs = np.abs(np.subtract(xa, xb)) if xa else np.array([])
    out["noise"] = {"names": names, "seed_a": xa, "seed_b": xb,
                    "corr": bootstrap_corr(xa, xb, n_boot=n_boot, seed=seed).to_dict(),
                    "mean_abs_diff": float(diffs.mean()) if len(diffs) else math.nan,
                    "max_abs_diff": float(diffs.max()) if len(diffs) else math.nan}
    out["epoch_seconds"] = _median_epoch_seconds(
        v, v.archs(max(n, noise_archs, budget_archs)),
        [(epochs, seed), (epochs, noise_seed), (multiplier * epochs, seed)])
    out["epoch_seconds_main"] = _median_epoch_seconds(v, v.archs(n), [(epochs, s) for s in seeds])

    # (c)/(d) main
    archs = v.archs(n)
    acc, keep = [], []
    failed_trainings = 0
    for arch in archs:
        truth = ground_truth(v, arch, epochs, seeds)
        if truth is None:
            continue
        if truth == "failed":
            failed_trainings += 1
            continue
        acc.append(truth)
        keep.append(arch)
    acc_a = np.array(acc)
    out["main"] = {"trained": len(keep), "failed_trainings": failed_trainings,
                   "arch_names": [a.name for a in keep], "acc": acc}
    if len(acc_a):
        q1, q3 = np.quantile(acc_a, [0.25, 0.75])
        out["main"]["spread"] = {"min": float(acc_a.min()), "max": float(acc_a.max()),
                                 "median": float(np.median(acc_a)), "std": float(acc_a.std(ddof=1)) if len(acc_a) > 1 else 0.0,
                                 "iqr": float(q3 - q1)}

    values: dict[str, list[float | None]] = {}
    costs: dict[str, list[float]] = {}
    missing = 0
    for name in v.proxies:
        values[name], costs[name] = [], []
        for arch in keep:
            rec = v.proxy_record(arch, name)
            if rec is None:
                values[name].append(None)
                continue
            values[name].append(rec["value"] if rec.get("ok") else None)
            if rec.get("seconds") is not None:
                costs[name].append(rec["seconds"])
        missing += sum(1 for arch in keep if v.proxy_record(arch, name) is None)
    out["main"]["proxy_missing"] = missing

    def row(name: str, col: Sequence[float | None], cost: float | None, kind: str) -> dict[str, Any]:
        ok = [i for i, x in enumerate(col) if x is not None and math.isfinite(x)]
        x = [col[i] for i in ok]
        yy = [acc[i] for i in ok]
        corr = bootstrap_corr(x, yy, n_boot=n_boot, seed=seed)
        both = [i for i in ok if values["params"][i] is not None]
        if name == "params" or len(both) < 3:
            diff = (math.nan,) * 3
        else:
            diff = paired_tau_diff([col[i] for i in both], [values["params"][i] for i in both],
                                   [acc[i] for i in both], n_boot=n_boot, seed=seed)
        return {"name": name, "kind": kind, "corr": corr.to_dict(), "failed": len(col) - len(ok),
                "cost": cost, "diff_params": diff, "values": [col[i] for i in ok], "acc": yy}

    rows = []
    for name in v.proxies:
        cost = float(np.median(costs[name])) if costs[name] else None
        rows.append(row(name, values[name], cost, "baseline" if name in BASELINES else "proxy"))
    zero_cost = [p for p in v.proxies if p not in BASELINES]

    def ensemble_col(parts: Sequence[str]) -> list[float | None]:
        ok = [i for i in range(len(keep)) if all(values[p][i] is not None for p in parts)]
        ranks = mean_rank([[values[p][i] for i in ok] for p in parts]) if ok else []
        col: list[float | None] = [None] * len(keep)
        for j, i in enumerate(ok):
            col[i] = float(ranks[j])
        return col

    def ens_cost(parts: Sequence[str]) -> float | None:
        c = [float(np.median(costs[p])) for p in parts if costs[p]]
        return float(sum(c)) if len(c) == len(parts) else None

    for spec in ensembles:
        parts = spec.split("+")
        rows.append(row(spec, ensemble_col(parts), ens_cost(parts), "ensemble (declared)"))

    # ensembles of 2-3 of all scored proxies; the best one by in-sample τ is shown (optimistic) and the
    # choice procedure itself is validated on half splits
    complete = [i for i in range(len(keep)) if all(values[p][i] is not None for p in v.proxies)]
    if search_ensembles and len(complete) >= 3:
        combos = ["+".join(c) for k in (2, 3) for c in itertools.combinations(v.proxies, k)]
        cy = [acc[i] for i in complete]
        scored = []
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for c in combos:
                t = _tau(mean_rank([[values[p][i] for i in complete] for p in c.split("+")]), cy)
                if math.isfinite(t):
                    scored.append((t, c))
        if scored:
            best = max(scored)[1]
            if best not in ensembles:
                rows.append(row(best, ensemble_col(best.split("+")), ens_cost(best.split("+")),
                                "ensemble (best of %d, chosen on these archs)" % len(scored)))
            vals = {p: [values[p][i] for i in complete] for p in v.proxies}
            singles = [p for p in zero_cost if all(values[p][i] is not None for i in range(len(keep)))]
            out["cv_singles"] = selection_cv(vals, cy, singles, splits=cv_splits, seed=seed)
            out["cv_all"] = selection_cv(vals, cy, singles + list(BASELINES) + combos, splits=cv_splits, seed=seed)
            out["cv_n"] = len(complete)
            out["ensembles_tried"] = len(scored)
    out["rows"] = rows
    out["recommendation"] = _recommend(out)
    return out


#: The ground truth is trusted only if its ranking at the budget agrees with 3× the budget this well.
BUDGET_TAU = 0.7
MIN_BUDGET_ARCHS = 10


def _recommend(a: Mapping[str, Any]) -> dict[str, Any]:
    """The default-proxy decision, by a rule stated in the report (see ``rule``)."""
    rows = {r["name"]: r for r in a["rows"]}
    rule = ("a zero-cost proxy (or rank ensemble) becomes the default only if it has no failures, "
            "τ ≥ 0.5, and its paired-bootstrap 95% CI of τ − τ(params) lies above 0 on the same archs; "
            "an ensemble chosen on these archs must also win on held-out halves (choose on one half, score "
            "on the other) in ≥ 90% of splits with held-out median τ ≥ 0.5; and the ground truth itself must "
            f"be stable: budget-stability τ ≥ {BUDGET_TAU} on ≥ {MIN_BUDGET_ARCHS} archs; otherwise the default "
            "stays params")
    params = rows.get("params")
    out: dict[str, Any] = {"rule": rule, "default": "params", "why": ""}
    if params is None or params["corr"]["n"] < 3:
        out["why"] = "not enough trained archs to decide"
        return out
    candidates = [r for r in a["rows"] if r["kind"] != "baseline" and r["failed"] == 0 and r["corr"]["n"] >= 3]
    singles = [r for r in candidates if r["kind"] == "proxy"]
    best_single = max(singles, key=lambda r: r["corr"]["tau"]) if singles else None
    out["best_single"] = best_single["name"] if best_single else None

    def passes(r: Mapping[str, Any]) -> bool:
        return r["corr"]["tau"] >= 0.5 and r["diff_params"][1] > 0

    chosen = None
    if best_single is not None and passes(best_single):
        chosen = best_single
    for r in candidates:
        if r["kind"].startswith("ensemble") and passes(r) and (chosen is None or r["corr"]["tau"] > chosen["corr"]["tau"]):
            if r["kind"].startswith("ensemble (best"):
                cv = a.get("cv_all", {})
                if not (cv.get("splits") and cv["win_share"] >= 0.9 and cv["held_median"] >= 0.5):
                    continue
            chosen = r
    b = a["budget"]
    stable = len(b["names"]) >= MIN_BUDGET_ARCHS and b["corr"]["tau"] >= BUDGET_TAU
    if chosen is not None and stable:
        out["default"] = chosen["name"]
        out["why"] = "meets the rule"
    elif chosen is not None:
        out["would_be"] = chosen["name"]
        out["why"] = (f"`{chosen['name']}` meets the proxy rule, but the ground truth does not: its ranking at "
                      f"{a['epochs']} epoch(s) agrees with {a['multiplier']}× that budget at τ = "
                      f"{b['corr']['tau']:.2f} on {len(b['names'])} archs (needed: τ ≥ {BUDGET_TAU} on ≥ "
                      f"{MIN_BUDGET_ARCHS}), so the proxy may be matching an artifact of the short budget")
    else:
        out["why"] = "no proxy or ensemble meets the rule"
    return out
