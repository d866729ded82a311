"""The default-proxy decision of :mod:`nas.validation` (:func:`recommend`), by a rule the report states."""
from __future__ import annotations

from typing import Any, Mapping

__all__ = ["BUDGET_TAU", "MIN_BUDGET_ARCHS", "recommend"]

#: The ground truth is trusted only if its ranking at the budget agrees with 3× the budget this well …
BUDGET_TAU = 0.7
#: … on at least this many archs.
MIN_BUDGET_ARCHS = 10

_RULE = ("a zero-cost proxy (or rank ensemble) becomes the default only if it has no failures, "
         "τ ≥ 0.5, and its paired-bootstrap 95% CI of τ − τ(params) lies above 0 on the same archs; "
         "an ensemble chosen on these archs must also win on held-out halves (choose on one half, score "
         "on the other) in ≥ 90% of splits with held-out median τ ≥ 0.5; and the ground truth itself must "
         f"be stable: budget-stability τ ≥ {BUDGET_TAU} on ≥ {MIN_BUDGET_ARCHS} archs; otherwise the default "
         "stays params")


def _passes(r: Mapping[str, Any]) -> bool:
    return r["corr"]["tau"] >= 0.5 and r["diff_params"][1] > 0


def _choose(a: Mapping[str, Any], candidates: list[Mapping[str, Any]],
            best_single: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The best row (by τ) meeting the proxy rule: the best single proxy, or a better ensemble (one chosen
    on these archs only if its choice also holds on held-out halves)."""
    chosen = best_single if best_single is not None and _passes(best_single) else None
    for r in candidates:
        if r["kind"].startswith("ensemble") and _passes(r) and (chosen is None or r["corr"]["tau"] > chosen["corr"]["tau"]):
            if r["kind"].startswith("ensemble (best"):
                cv = a.get("cv_all", {})
                if not (cv.get("splits") and cv["win_share"] >= 0.9 and cv["held_median"] >= 0.5):
                    continue
            chosen = r
    return chosen


def recommend(a: Mapping[str, Any]) -> dict[str, Any]:
    """The default search proxy for the analysis ``a`` (:func:`nas.validation.analysis.analyse`'s ``rows``,
    ``budget``, ``cv_all``, ``epochs``, ``multiplier``): ``{"rule", "default", "why"}``, and
    ``best_single`` (the best zero-cost proxy by τ) and ``would_be`` (the proxy that meets the proxy rule
    while the ground truth is not stable enough) where they apply."""
    rows = {r["name"]: r for r in a["rows"]}
    out: dict[str, Any] = {"rule": _RULE, "default": "params", "why": ""}
    params = rows.get("params")
    if params is None or params["corr"]["n"] < 3:
        out["why"] = "not enough trained archs to decide"
        return out
    candidates = [r for r in a["rows"] if r["kind"] != "baseline" and r["failed"] == 0 and r["corr"]["n"] >= 3]
    singles = [r for r in candidates if r["kind"] == "proxy"]
    best_single = max(singles, key=lambda r: r["corr"]["tau"]) if singles else None
    out["best_single"] = best_single["name"] if best_single else None
    chosen = _choose(a, candidates, best_single)
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
