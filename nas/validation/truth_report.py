"""The report of the converged ground truth across spaces (:func:`truth_markdown`): per space the plateau
test, budget stability, noise ceiling and every signal against the truth; across spaces the choose-on-one,
test-on-the-other table; and the default with its rule. Every number comes from
:func:`nas.validation.truth_analysis.analyse_truth`."""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from nas.markdown import table
from nas.validation.proxy_scores import BASELINES
from nas.validation.report import ci_text, corr_text, fmt, pct, recipe_text
from nas.validation.truth_checks import BUDGET_TAU, NOISE_TAU, PLATEAU_PT
from nas.validation.truth_rule import passes

__all__ = ["truth_markdown"]


def _ep(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def _status_text(s: Mapping[str, Any]) -> str:
    return "; ".join(f"{part} {c['ok']}/{c['planned']}" + (f" ({c['failed']} failed)" if c["failed"] else "")
                     for part, c in s["status"].items())


def _partial(a: Mapping[str, Any]) -> bool:
    return any(c["ok"] + c["failed"] < c["planned"] for s in a["spaces"] for c in s["status"].values())


def truth_markdown(a: Mapping[str, Any], *, command: str | None = None, images: Sequence[str] = ()) -> str:
    """The report as Markdown; ``images`` (links relative to the Markdown file, one per space in order, from
    :func:`nas.validation.truth_plot.write_truth_figures`) are shown under each space's heading."""
    plan = a["plan"]
    partial = _partial(a)
    L = [f"## Converged ground truth and proxy validation across spaces ({_ep(plan.epochs)}, "
         f"{len(plan.seeds)} seed{'s' if len(plan.seeds) > 1 else ''})" + (" — PARTIAL" if partial else ""), ""]
    if partial:
        L += ["**Partial result**: not every planned training is in the cache yet (counts below); rerun the same "
              "command once they are.", ""]
    L += _header(a, command) + [""]
    for i, s in enumerate(a["spaces"]):
        section = _space_section(a, s)
        if i < len(images):
            section[1:1] = ["", f"![{s['space']}: signals, noise ceiling, budget stability, plateau]({images[i]})"]
        L += section + [""]
    L += _cross_section(a) + [""] + _default_section(a) + [""]
    return "\n".join(L)


def _header(a: Mapping[str, Any], command: str | None) -> list[str]:
    m, d, plan = a["machine"], a["data_id"], a["plan"]
    L = ([f"- Command: `{command}`"] if command else []) + [
        f"- Date: {a['date']}; machine: {m['cpu']}, {m['cores']} logical cores, torch {m['torch']}",
        f"- Data: {d['data']} (train {d['train_size']}, test {d['test_size']}, resolution {d['resolution']})",
        f"- Truth: mean top-1 of seeds {', '.join(map(str, plan.seeds))} after {_ep(plan.epochs)}; "
        f"recipe: {recipe_text(a)}",
        f"- Signals: zero-cost proxies on one seeded batch of {a['proxy_batch']} "
        + ("training images" if a["proxy_input"] == "data" else "Gaussian-noise images")
        + f"; #params, #MACs; top-1 after {', '.join(map(str, plan.short_epochs))} epoch(s) (seed {plan.seeds[0]}; "
        "only budgets below E); "
        "predictor:K = ridge on every zero-cost feature (log #params, log #MACs), each arch predicted by a model "
        "fitted on K other trained archs",
        f"- Statistics: Kendall τ-b and Spearman ρ, percentile bootstrap over archs ({a['n_boot']} resamples), 95% "
        "CIs; Δτ: paired bootstrap; top-5: how many of the truly best 5 are among the signal's best 5",
    ]
    for s in a["spaces"]:
        L.append(f"- {s['space']}: {_status_text(s)}")
    return L


def _plateau_lines(s: Mapping[str, Any]) -> list[str]:
    if not s["plan"].plateau_n:
        return ["Plateau: not planned for this space."]
    if not s["plateau"]:
        return [f"Plateau: not trained yet (needs the first {s['plan'].plateau_n} archs at E and 1.5·E)."]
    cells = [[f"{p['epochs']} → {p['epochs_long']}", p["n"], f"{p['mean_pt']:+.2f}", f"{p['max_abs_pt']:.2f}",
              "yes" if p["converged"] else "**no**"] for p in s["plateau"]]
    return [f"Plateau test (top-1 must move < {PLATEAU_PT} pt from E to 1.5·E, mean over the nets, seed 0):", "",
            table(["epochs", "nets", "mean move (pt)", "max |move| (pt)", "converged"], cells)]


def _budget_line(s: Mapping[str, Any]) -> str:
    b = s["budget"]
    if not s["plan"].budget_n:
        return "Budget stability: not planned for this space."
    if not b["names"]:
        return f"Budget stability: not trained yet (needs the first {s['plan'].budget_n} archs at 2·E)."
    factor = b["epochs_long"] // b["epochs"]
    seeds, cap = b["long_seeds"], b["noise_cap_tau"]
    if not b["complete"]:
        todo = s["plan"].budget_n - len(b["names"])
        verdict = f"pending: {todo} of the {s['plan'].budget_n} archs still to finish every seed at 2·E"
        long = (f"the mean of seeds {', '.join(map(str, seeds))}" if len(seeds) > 1
                else f"one training (seed {seeds[0]})")
    else:
        verdict = ("stable" if b["stable"] else "**not stable**") + f" (needed τ ≥ {BUDGET_TAU})"
        long = (f"the mean of seeds {', '.join(map(str, seeds))}" if len(seeds) > 1
                else f"one training (seed {seeds[0]})")
    failed = f"; {b['failed']} arch(s) left out for a failed training at 2·E" if b.get("failed") else ""
    cap_text = "" if not math.isfinite(cap) else (
        f" With independent seed noise alone, an unchanged ranking would show τ ≈ {fmt(cap)} here: the two seeds "
        f"at E agree on these archs at Pearson r {fmt(b['seed_pearson'])} (raised to these means by Spearman–Brown).")
    return (f"Budget stability τ(E = {b['epochs']}, {factor}·E = {b['epochs_long']}) = {corr_text(b['corr'])} on "
            f"{len(b['names'])} archs (the truth against {long} at {factor}·E{failed}): {verdict}.{cap_text}")


def _noise_line(s: Mapping[str, Any]) -> str:
    n = s["noise"]
    if len(n.get("names", [])) < 3:
        return (f"Noise ceiling: {len(n.get('names', [])) or 'no'} arch(s) have both seeds so far; at least 3 are "
                "needed for an estimate.")
    tm = n["tau_of_means"]
    verdict = ("the truth **can** judge a proxy" if n["can_judge"] else
               f"seeds agree below τ {NOISE_TAU}: this truth **cannot** judge a proxy — average more seeds "
               f"(≈{n['seeds_needed'] or '>64'} for τ ≥ {NOISE_TAU} between two such means) or widen the spread")
    return (f"Noise ceiling: seeds {n['seeds'][0]} and {n['seeds'][1]} agree at τ = {corr_text(n['corr'])} on "
            f"{len(n['names'])} archs (Pearson r {fmt(n['pearson'])}); mean |Δ| between seeds {pct(n['mean_abs_diff'])} "
            f"against a spread (std of the 2-seed means) of {pct(n['spread_std'])}; two independent 2-seed means "
            f"would agree at τ ≈ {fmt(tm[2])} (Spearman–Brown), 4-seed means at {fmt(tm[4])}: {verdict}.")


def _cost(r: Mapping[str, Any]) -> str:
    c = r.get("cost")
    if c is None:
        return "–"
    text = f"{c:.3f} s" if c < 10 else f"{c:.0f} s"
    return text + (f" + {r['name'].split(':')[1]} trainings" if r["kind"] == "predictor" else "")


def _signal_table(s: Mapping[str, Any]) -> list[str]:
    rows = s["rows"]
    if len(s["truth"]["acc"]) < 3 or not rows:
        return ["Fewer than 3 archs have a truth: no correlations yet."]
    cells = []
    for r in rows:
        label = r["name"] + (" (baseline)" if r["kind"] == "baseline" else "")
        diffs = ["(baseline)" if r["name"] == b else ci_text(*r[f"diff_{b}"]) for b in BASELINES]
        hits = "–" if r["top_k"] is None else f"{r['top_k']}/{r['k']}"
        cells.append([label, r["corr"]["n"], corr_text(r["corr"]), corr_text(r["corr"], "ρ"), *diffs, hits, _cost(r)])
    L = [table(["signal", "n", "Kendall τ [95% CI]", "Spearman ρ [95% CI]", "Δτ vs #params [CI]", "Δτ vs #MACs [CI]",
                "top-5", "cost/arch"], cells)]
    pm = s["predictor"]["by_model"]
    if pm:
        repeats = next(iter(pm.values()))["repeats"]
        L += ["", f"Few-shot predictor over {repeats} random choices of the K fitting archs (median τ [2.5%, 97.5%]): "
              + "; ".join(f"{k} {fmt(v['median'])} [{fmt(v['lo'])}, {fmt(v['hi'])}]" for k, v in pm.items())
              + f" (on the {s['predictor']['complete']} archs with every feature)."]
    return L


def _space_section(a: Mapping[str, Any], s: Mapping[str, Any]) -> list[str]:
    t = s["truth"]
    L = [f"### {s['space']}", ""]
    L += _plateau_lines(s) + ["", _budget_line(s), "", _noise_line(s), ""]
    if t.get("spread"):
        sp = t["spread"]
        L += [f"Truth on {len(t['acc'])} archs ({t['missing']} not trained yet, {t['failed']} failed): top-1 "
              f"{pct(sp['min'])}–{pct(sp['max'])} (spread {100 * (sp['max'] - sp['min']):.1f} pt, median "
              f"{pct(sp['median'])}, std {pct(sp['std'])}).", ""]
    return L + _signal_table(s)


def _row_text(r: Mapping[str, Any] | None) -> list[str]:
    if r is None:
        return ["–"] * 4
    return [corr_text(r["corr"]), *(ci_text(*r[f"diff_{b}"]) for b in BASELINES), "**yes**" if passes(r) else "no"]


def _cross_section(a: Mapping[str, Any]) -> list[str]:
    L = ["### Across spaces: choose on one, test on the other", ""]
    if not a["cross"]:
        return L + ["Only one space has a truth so far."]
    cells = []
    for c in a["cross"]:
        chosen = f"{c['chosen']} (τ {fmt(c['tau_from'])})" if c["chosen"] else "– (no truth yet)"
        cells.append([f"{c['from']} → {c['to']}", chosen, *_row_text(c["held"])])
        if c["transfer"] is not None:
            cells.append([f"{c['from']} → {c['to']}", c["transfer"]["name"], *_row_text(c["transfer"])])
    L.append(table(["direction", "signal (τ where chosen)", "held-out τ [95% CI]", "Δτ vs #params [CI]",
                    "Δτ vs #MACs [CI]", "beats both"], cells))
    return L


def _default_section(a: Mapping[str, Any]) -> list[str]:
    d = a["default"]
    caveats = []
    E = a["plan"].epochs
    for s in a["spaces"]:
        at_e = [p for p in s["plateau"] if p["epochs"] == E]
        if at_e and not at_e[0]["converged"]:
            caveats.append(f"on {s['space']} top-1 still moves ≥ {PLATEAU_PT} pt from E = {E} to 1.5·E (not converged)")
        elif s["plan"].plateau_n and not at_e:
            caveats.append(f"on {s['space']} the plateau test at E = {E} has not been trained yet")
        if s["budget"]["names"] and s["budget"]["complete"] and not s["budget"]["stable"]:
            caveats.append(f"on {s['space']} the budget-stability τ is below {BUDGET_TAU}")
    name = f"`{d['default']}`" if d["default"] else "none yet"
    L = [f"**Default search proxy by this evidence: {name}** — {d['why']}.", "", f"Rule: {d['rule']}."]
    if caveats:
        L += ["", "Caveats: " + "; ".join(caveats) + "."]
    return L
