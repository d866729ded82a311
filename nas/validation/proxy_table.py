"""The proxy part of the analysis of :mod:`nas.validation`: one row per proxy, baseline and rank ensemble
(τ/ρ with bootstrap CIs against the trained ground truth, the paired τ difference to #params, failures,
cost), the search for the best ensemble and the half-split check of choosing it (:class:`ProxyTable`)."""
from __future__ import annotations

import itertools
import math
import warnings
from typing import Any, Sequence

import numpy as np

from nas.arch.spec import Arch
from nas.validation.proxy_scores import BASELINES
from nas.validation.stats import bootstrap_corr, kendall_tau, mean_rank, paired_tau_diff, selection_cv
from nas.validation.validator import Validator

__all__ = ["ProxyTable"]


class ProxyTable:
    """The cached proxy values of the trained archs ``keep`` (ground truth ``acc``, same order).

    ``values[name][i]``: the value of proxy ``name`` on ``keep[i]`` (None if it failed or is not cached);
    ``costs[name]``: the seconds of its cached computations; ``missing``: proxy values not cached yet.
    """

    def __init__(self, v: Validator, keep: Sequence[Arch], acc: Sequence[float], *, n_boot: int, seed: int) -> None:
        self.proxies, self.acc, self.n, self.n_boot, self.seed = v.proxies, list(acc), len(keep), n_boot, seed
        self.values: dict[str, list[float | None]] = {}
        self.costs: dict[str, list[float]] = {}
        self.missing = 0
        for name in self.proxies:
            records = [v.proxy_record(arch, name) for arch in keep]
            self.values[name] = [None if r is None else (r["value"] if r.get("ok") else None) for r in records]
            self.costs[name] = [r["seconds"] for r in records if r is not None and r.get("seconds") is not None]
            self.missing += sum(1 for r in records if r is None)

    def row(self, name: str, col: Sequence[float | None], cost: float | None, kind: str) -> dict[str, Any]:
        """The table row of one score column: correlations with the ground truth over its finite values,
        the paired τ difference to params on the archs both have, failures and median cost per arch."""
        ok = [i for i, x in enumerate(col) if x is not None and math.isfinite(x)]
        x = [col[i] for i in ok]
        yy = [self.acc[i] for i in ok]
        corr = bootstrap_corr(x, yy, n_boot=self.n_boot, seed=self.seed)
        params = self.values["params"]
        both = [i for i in ok if params[i] is not None]
        if name == "params" or len(both) < 3:
            diff = (math.nan,) * 3
        else:
            diff = paired_tau_diff([col[i] for i in both], [params[i] for i in both], [self.acc[i] for i in both],
                                   n_boot=self.n_boot, seed=self.seed)
        return {"name": name, "kind": kind, "corr": corr.to_dict(), "failed": len(col) - len(ok),
                "cost": cost, "diff_params": diff, "values": [col[i] for i in ok], "acc": yy}

    def ensemble_col(self, parts: Sequence[str]) -> list[float | None]:
        """The mean rank of ``parts`` on every arch where all of them have a value (None elsewhere)."""
        ok = [i for i in range(self.n) if all(self.values[p][i] is not None for p in parts)]
        ranks = mean_rank([[self.values[p][i] for i in ok] for p in parts]) if ok else []
        col: list[float | None] = [None] * self.n
        for j, i in enumerate(ok):
            col[i] = float(ranks[j])
        return col

    def ensemble_cost(self, parts: Sequence[str]) -> float | None:
        """The summed median cost of ``parts``, if each of them has one."""
        c = [float(np.median(self.costs[p])) for p in parts if self.costs[p]]
        return float(sum(c)) if len(c) == len(parts) else None

    def ensemble_row(self, spec: str, kind: str) -> dict[str, Any]:
        parts = spec.split("+")
        return self.row(spec, self.ensemble_col(parts), self.ensemble_cost(parts), kind)

    def rows(self, ensembles: Sequence[str] = ()) -> list[dict[str, Any]]:
        """A row per proxy (baselines marked) and per declared ensemble (``"a+b"``)."""
        rows = []
        for name in self.proxies:
            cost = float(np.median(self.costs[name])) if self.costs[name] else None
            rows.append(self.row(name, self.values[name], cost, "baseline" if name in BASELINES else "proxy"))
        rows += [self.ensemble_row(spec, "ensemble (declared)") for spec in ensembles]
        return rows

    def search_ensembles(self, *, cv_splits: int) -> tuple[str | None, dict[str, Any]]:
        """Score every mean-rank ensemble of 2–3 proxies on the archs with every value; return the best by
        in-sample τ (optimistic) and the half-split check of the choice procedure (``cv_singles``,
        ``cv_all``, ``cv_n``, ``ensembles_tried``). (None, {}) if fewer than 3 archs have every value."""
        complete = [i for i in range(self.n) if all(self.values[p][i] is not None for p in self.proxies)]
        if len(complete) < 3:
            return None, {}
        combos = ["+".join(c) for k in (2, 3) for c in itertools.combinations(self.proxies, k)]
        cy = [self.acc[i] for i in complete]
        vals = {p: [self.values[p][i] for i in complete] for p in self.proxies}
        scored = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for c in combos:
                t = kendall_tau(mean_rank([vals[p] for p in c.split("+")]), cy)
                if math.isfinite(t):
                    scored.append((t, c))
        if not scored:
            return None, {}
        zero_cost = [p for p in self.proxies if p not in BASELINES]
        singles = [p for p in zero_cost if all(x is not None for x in self.values[p])]
        return max(scored)[1], {
            "cv_singles": selection_cv(vals, cy, singles, splits=cv_splits, seed=self.seed),
            "cv_all": selection_cv(vals, cy, singles + list(BASELINES) + combos, splits=cv_splits, seed=self.seed),
            "cv_n": len(complete), "ensembles_tried": len(scored),
        }
