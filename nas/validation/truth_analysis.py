"""The analysis of the converged ground truth (:mod:`nas.validation.truth`), from the caches only: per
space (:func:`analyse_space`: plateau, budget stability, noise ceiling, and every signal — zero-cost
proxies, #params, #MACs, short trainings, the cross-fitted few-shot predictor — against the truth) and
across spaces (:func:`analyse_cross`: choose on one space, test on the other; the predictor fitted on one
space ranking the other), with the default chosen by :func:`nas.validation.truth_rule.choose_default`."""
from __future__ import annotations

import itertools
import math
from typing import Any, Mapping, Sequence

import numpy as np

from nas.validation.cache import timestamp
from nas.validation.predictor import MODELS, FewShotPredictor, cross_fit
from nas.validation.predictor_proxy import predictor_features
from nas.validation.proxy_scores import BASELINES
from nas.validation.signals import proxy_columns, signal_row, training_columns
from nas.validation.stats import kendall_tau
from nas.validation.truth import SpacePlan, TruthPlan, truth_status
from nas.validation.truth_checks import budget_check, plateau, seed_agreement, truth_values
from nas.validation.truth_rule import choose_default
from nas.validation.validator import Validator

__all__ = ["analyse_cross", "analyse_space", "analyse_truth"]


def _costs(v: Validator, archs: Sequence[Any], cols: Mapping[str, Sequence[Any]], seed: int) -> dict[str, float | None]:
    """Median seconds per arch of each signal: a proxy's cached computation time, a short training's time."""
    out: dict[str, float | None] = {}
    for name in cols:
        if name.startswith("train@"):
            e = int(name.split("@")[1])
            secs = [r["seconds"] for a in archs if (r := v.lookup(a, e, seed)) and r.get("seconds")]
        else:
            secs = [r["seconds"] for a in archs if (r := v.proxy_record(a, name)) and r.get("seconds") is not None]
        out[name] = float(np.median(secs)) if secs else None
    return out


def _predictor_rows(cols: Mapping[str, list[Any]], acc: Sequence[float], features: Sequence[str], ks: Sequence[int],
                    models: Sequence[str], repeats: int, n_boot: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows ``predictor:K`` (ridge; the column of the first cross-fitting, and the τ of every repeat) and
    the τ medians of every model and K (``models`` table); only archs with every feature take part."""
    n = len(acc)
    complete = [i for i in range(n) if all(cols[f][i] is not None and math.isfinite(cols[f][i]) for f in features)]
    table = np.array([[cols[f][i] for f in features] for i in complete], dtype=float).reshape(len(complete), len(features))
    y = np.array([acc[i] for i in complete])
    base = {b: cols[b] for b in BASELINES}
    rows, by_model = [], {}
    for k in ks:
        if not 3 <= k <= len(complete) - 2:
            continue
        for model in models:
            preds = cross_fit(table, y, features, k, model=model, repeats=repeats, seed=seed)
            taus = [kendall_tau(p, y) for p in preds]
            by_model[f"{model}:{k}"] = {"median": float(np.median(taus)), "lo": float(np.quantile(taus, 0.025)),
                                        "hi": float(np.quantile(taus, 0.975)), "repeats": repeats}
            if model == "ridge":
                col: list[float | None] = [None] * n
                for j, i in enumerate(complete):
                    col[i] = float(preds[0, j])
                row = signal_row(f"predictor:{k}", "predictor", col, acc, base, n_boot=n_boot, seed=seed,
                                 note=f"ridge, cross-fitted on {k} of the other archs")
                rows.append({**row, "repeat_taus": taus})
    return rows, {"features": list(features), "complete": len(complete), "by_model": by_model}


def analyse_space(v: Validator, sp: SpacePlan, plan: TruthPlan, *, n_boot: int = 2000, ks: Sequence[int] = (5, 10),
                  models: Sequence[str] = MODELS, repeats: int = 10) -> dict[str, Any]:
    """Everything the report says about one space (``v`` its validator), from the caches only: status of
    every part, plateau, budget stability, noise ceiling, the truth, and one row per signal."""
    n_max = max(sp.n, sp.short_n, sp.plateau_n, sp.budget_n, 1)
    archs = v.archs(n_max)
    seed = plan.seeds[0]
    truth = truth_values(v, archs[: sp.n], plan.epochs, plan.seeds)
    keep, acc = truth.pop("archs"), truth["acc"]
    short = [e for e in plan.short_epochs if e < plan.epochs]  # a training at E is part of the truth itself
    cols = {**proxy_columns(v, keep), **training_columns(v, keep, short, seed)}
    costs = _costs(v, keep, cols, seed)
    base = {b: cols[b] for b in BASELINES}
    rows = []
    for name, col in cols.items():
        kind = "baseline" if name in BASELINES else ("training" if name.startswith("train@") else "proxy")
        rows.append({**signal_row(name, kind, col, acc, base, n_boot=n_boot, seed=v.seed), "cost": costs[name]})
    features = predictor_features(v)
    pred_rows, predictor = _predictor_rows(cols, acc, features, ks, models, repeats, n_boot, v.seed)
    zc_cost = [costs[f] for f in features if costs.get(f) is not None]
    rows += [{**r, "cost": float(sum(zc_cost))} for r in pred_rows]
    complete = [i for i in range(len(keep)) if all(cols[f][i] is not None for f in features)]
    return {
        "space": sp.space, "plan": sp, "status": truth_status(v, sp, plan), "truth": truth, "rows": rows,
        "predictor": predictor,
        "plateau": plateau(v, archs[: sp.plateau_n], factor=plan.plateau_factor, seed=seed),
        "budget": budget_check(v, archs[: sp.budget_n], plan.epochs, plan.budget_factor, plan.seeds, n_boot),
        "noise": seed_agreement(v, archs[: sp.n], plan.epochs, plan.seeds, n_boot),
        "features": {"names": features, "table": [[cols[f][i] for f in features] for i in complete],
                     "acc": [acc[i] for i in complete], "base": {b: [cols[b][i] for i in complete] for b in BASELINES}},
    }


def _transfer_row(a: Mapping[str, Any], b: Mapping[str, Any], n_boot: int, seed: int) -> dict[str, Any] | None:
    """The ridge predictor fitted on every arch of space ``a`` ranking the archs of space ``b``."""
    fa, fb = a["features"], b["features"]
    if len(fa["acc"]) < 3 or len(fb["acc"]) < 3 or fa["names"] != fb["names"]:
        return None
    p = FewShotPredictor(fa["names"], "ridge", seed=seed).fit(np.array(fa["table"], dtype=float), fa["acc"])
    pred = [float(x) for x in p.predict(np.array(fb["table"], dtype=float))]
    return signal_row(f"predictor fitted on {a['space']} ({len(fa['acc'])} archs)", "transfer", pred, fb["acc"],
                      fb["base"], n_boot=n_boot, seed=seed)


def analyse_cross(spaces: Sequence[Mapping[str, Any]], *, n_boot: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """For every ordered pair (A, B) of spaces: the non-baseline signal with the best τ on A (zero-cost
    proxies and predictor:K; short trainings are references, not candidates), its row on B, and the
    predictor fitted on all of A ranking B."""
    out = []
    for a, b in itertools.permutations(spaces, 2):
        cands = [r for r in a["rows"] if r["kind"] in ("proxy", "predictor") and math.isfinite(r["corr"]["tau"])]
        rows_b = {r["name"]: r for r in b["rows"]}
        chosen = max(cands, key=lambda r: r["corr"]["tau"]) if cands else None
        held = rows_b.get(chosen["name"]) if chosen else None
        out.append({"from": a["space"], "to": b["space"], "chosen": chosen["name"] if chosen else None,
                    "tau_from": chosen["corr"]["tau"] if chosen else math.nan, "held": held,
                    "baselines": {k: rows_b.get(k) for k in BASELINES},
                    "transfer": _transfer_row(a, b, n_boot, seed)})
    return out


def analyse_truth(validators: Sequence[Validator], plan: TruthPlan, *, n_boot: int = 2000, ks: Sequence[int] = (5, 10),
                  models: Sequence[str] = MODELS, repeats: int = 10) -> dict[str, Any]:
    """The whole analysis: header, one :func:`analyse_space` per space of ``plan`` (``validators`` in the
    same order), :func:`analyse_cross` and the default (:func:`choose_default`)."""
    from nas.machine import describe

    v0 = validators[0]
    spaces = [analyse_space(v, sp, plan, n_boot=n_boot, ks=ks, models=models, repeats=repeats)
              for v, sp in zip(validators, plan.spaces)]
    out = {"date": timestamp(), "machine": describe(), "setup": v0.setup.to_dict(), "data_id": v0.data_id,
           "recipe": v0.recipe, "plan": plan, "n_boot": n_boot, "proxy_batch": v0.proxy_batch,
           "proxy_input": v0.proxy_input, "spaces": spaces, "cross": analyse_cross(spaces, n_boot=n_boot, seed=v0.seed)}
    out["default"] = choose_default(out)
    return out
