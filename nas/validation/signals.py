"""Every accuracy signal of one space's trained archs, as columns (one value per arch, None where it
failed or is not there yet): the zero-cost proxies and the #params/#MACs baselines from the proxy cache
(:func:`proxy_columns`), top-1 after short trainings (:func:`training_columns`); and one table row per
signal against the ground truth (:func:`signal_row`: τ and ρ with bootstrap CIs, the paired τ differences to
#params and #MACs, the top-k hit rate)."""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from nas.arch.spec import Arch
from nas.validation.proxy_scores import BASELINES
from nas.validation.stats import bootstrap_corr, paired_tau_diff
from nas.validation.validator import Validator

__all__ = ["TOP_K", "proxy_columns", "signal_row", "top_k_hits", "training_columns"]

#: The top-k hit rate's k: how many of the truly best k archs are among the signal's best k.
TOP_K = 5

Column = Sequence[float | None]


def proxy_columns(v: Validator, archs: Sequence[Arch]) -> dict[str, list[float | None]]:
    """The cached value of every proxy of ``v`` (baselines included) on each of ``archs`` (None where it
    failed or is not cached; score them first with :meth:`Validator.score_proxies`)."""
    out = {}
    for name in v.proxies:
        records = [v.proxy_record(a, name) for a in archs]
        out[name] = [r["value"] if r is not None and r.get("ok") else None for r in records]
    return out


def training_columns(v: Validator, archs: Sequence[Arch], epochs: Sequence[int], seed: int = 0,
                     ) -> dict[str, list[float | None]]:
    """``train@E``: top-1 after E epochs (training seed ``seed``) for each E of ``epochs``."""
    return {f"train@{e}": [v.accuracy(a, e, seed) for a in archs] for e in epochs}


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def top_k_hits(x: Sequence[float], y: Sequence[float], k: int = TOP_K) -> int | None:
    """How many of the ``k`` archs with the highest ``y`` are among the ``k`` with the highest ``x`` (ties
    broken by position); None if there are fewer than 2·k archs (the question is then too easy)."""
    if len(x) < 2 * k:
        return None
    top_x = set(np.argsort(-np.asarray(x, dtype=float), kind="stable")[:k])
    top_y = set(np.argsort(-np.asarray(y, dtype=float), kind="stable")[:k])
    return len(top_x & top_y)


def signal_row(name: str, kind: str, col: Column, truth: Sequence[float], baselines: Mapping[str, Column], *,
               n_boot: int, seed: int, note: str = "") -> dict[str, Any]:
    """One table row: the signal ``col`` (None entries left out) against ``truth``; for each baseline of
    ``baselines`` (``params``, ``macs``) the paired-bootstrap τ difference on the archs both have."""
    ok = [i for i, x in enumerate(col) if _finite(x)]
    x = [float(col[i]) for i in ok]
    y = [float(truth[i]) for i in ok]
    row: dict[str, Any] = {"name": name, "kind": kind, "note": note, "missing": len(col) - len(ok),
                           "corr": bootstrap_corr(x, y, n_boot=n_boot, seed=seed).to_dict(),
                           "top_k": top_k_hits(x, y), "k": TOP_K, "values": x, "acc": y}
    for base in BASELINES:
        bcol = baselines.get(base)
        both = [i for i in ok if bcol is not None and _finite(bcol[i])]
        if name == base or len(both) < 3:
            row[f"diff_{base}"] = (math.nan, math.nan, math.nan)
        else:
            row[f"diff_{base}"] = paired_tau_diff([float(col[i]) for i in both], [float(bcol[i]) for i in both],
                                                  [float(truth[i]) for i in both], n_boot=n_boot, seed=seed)
    return row
