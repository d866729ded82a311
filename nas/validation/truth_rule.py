"""The default search proxy, chosen by the evidence of the converged ground truth across spaces
(:func:`choose_default`), by a rule the report states (:data:`RULE`)."""
from __future__ import annotations

import math
from typing import Any, Mapping

from nas.validation.proxy_scores import BASELINES
from nas.validation.truth_checks import NOISE_TAU

__all__ = ["RULE", "choose_default", "passes"]

RULE = ("a zero-cost proxy or predictor:K becomes the default only if every space's truth can judge (two "
        f"training seeds rank its nets alike at τ ≥ {NOISE_TAU}) and, choosing the non-baseline signal with "
        "the best τ on one space and testing it on the other, the same signal is chosen in every direction and "
        "on each held-out space its τ beats both #params and #MACs with a paired-bootstrap 95% CI of the "
        "difference above 0; otherwise the default is the baseline (#params or #MACs) with the higher mean τ "
        "over the spaces whose truth can judge (over all of them when none can). Short trainings are reported as "
        "references, not candidates (minutes per candidate)")


def passes(row: Mapping[str, Any] | None) -> bool:
    """Whether a signal's row beats #params and #MACs with both paired CIs above 0."""
    if row is None:
        return False
    return all(math.isfinite(row[f"diff_{b}"][1]) and row[f"diff_{b}"][1] > 0 for b in BASELINES)


def _best_baseline(spaces: list[Mapping[str, Any]]) -> tuple[str, dict[str, float]]:
    """The baseline with the higher mean τ over ``spaces`` (the caller passes those whose truth can judge: a
    truth whose seeds disagree ranks the baselines by chance). Returns (best, means)."""
    means = {}
    for b in BASELINES:
        taus = [r["corr"]["tau"] for s in spaces for r in s["rows"] if r["name"] == b]
        taus = [t for t in taus if math.isfinite(t)]
        means[b] = sum(taus) / len(taus) if taus else math.nan
    best = max(BASELINES, key=lambda b: means[b] if math.isfinite(means[b]) else -math.inf)
    return best, means


def choose_default(a: Mapping[str, Any]) -> dict[str, Any]:
    """``{"rule", "default", "why", "baseline_means", "candidate"}`` for the analysis ``a``
    (:func:`nas.validation.truth_analysis.analyse_truth`); ``default`` is None while some space has fewer
    than 3 archs with a truth."""
    judged = [s for s in a["spaces"] if s["noise"].get("can_judge")]
    averaged = judged or list(a["spaces"])
    best, means = _best_baseline(averaged)
    out: dict[str, Any] = {"rule": RULE, "default": best, "baseline_means": means, "candidate": None}
    empty = [s["space"] for s in a["spaces"] if len(s["truth"]["acc"]) < 3]
    if empty:
        out.update(default=None, why=f"fewer than 3 archs have a truth on {', '.join(empty)}: no evidence yet")
        return out
    mean_text = ", ".join(f"{b} {means[b]:.2f}" for b in BASELINES if math.isfinite(means[b]))
    over = ("the spaces" if len(averaged) == len(a["spaces"])
            else f"{', '.join(s['space'] for s in averaged)}, whose truth can judge")
    fallback = f"the best baseline by mean τ over {over} ({mean_text})"
    if len(a["spaces"]) < 2 or not a["cross"]:
        out["why"] = f"fewer than two spaces have a truth, so nothing is tested across spaces; {fallback}"
        return out
    if len(judged) < len(a["spaces"]):
        weak = ", ".join(f"{s['space']} (τ {s['noise']['corr'].get('tau', math.nan):.2f})"
                         for s in a["spaces"] if not s["noise"].get("can_judge"))
        out["why"] = (f"the truth cannot judge a proxy on {weak}: seeds agree below τ {NOISE_TAU}; {fallback}")
        return out
    chosen = {c["chosen"] for c in a["cross"]}
    held_ok = all(passes(c["held"]) for c in a["cross"])
    if len(chosen) == 1 and None not in chosen and held_ok:
        name = chosen.pop()
        out.update(default=name, candidate=name,
                   why=f"`{name}` is chosen on every space and beats #params and #MACs on every held-out space")
        return out
    if len(chosen) > 1:
        out["why"] = (f"the spaces choose different signals ({', '.join(sorted(str(c) for c in chosen))}), so no "
                      f"choice carries over; {fallback}")
    else:
        out["candidate"] = next(iter(chosen))
        out["why"] = (f"`{out['candidate']}`, chosen on each space, does not beat both #params and #MACs with a CI "
                      f"above 0 on the held-out space; {fallback}")
    return out
