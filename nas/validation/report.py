"""The report of :mod:`nas.validation`: Markdown (:func:`report_markdown`, section by section, with its
verdict lines) and the scatter plots (:func:`write_scatter`)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from nas.markdown import table
from nas.validation.proxy_scores import BASELINES
from nas.validation.recommend import BUDGET_TAU

__all__ = ["ci_text", "corr_text", "fmt", "pct", "recipe_text", "report_markdown", "write_scatter"]


def fmt(x: float | None, digits: int = 2) -> str:
    """``x`` with ``digits`` decimals, or "–" if it is None or not finite."""
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def ci_text(point: float, lo: float, hi: float, digits: int = 2) -> str:
    """``point [lo, hi]``, or "–" if the point is not finite."""
    if not math.isfinite(point):
        return "–"
    return f"{point:.{digits}f} [{fmt(lo, digits)}, {fmt(hi, digits)}]"


def corr_text(c: Mapping[str, Any], what: str = "τ") -> str:
    """τ (or ρ, ``what="ρ"``) of a :class:`~nas.validation.stats.Corr` dict with its CI."""
    return ci_text(c["tau"], c["tau_lo"], c["tau_hi"]) if what == "τ" else ci_text(c["rho"], c["rho_lo"], c["rho_hi"])


def _ep(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def pct(x: float) -> str:
    """A fraction as a percentage with two decimals."""
    return f"{100 * x:.2f}%"


def _gt_text(a: Mapping[str, Any]) -> str:
    seeds = a.get("gt_seeds", [a["seed"]])
    if len(seeds) == 1:
        return f"top-1 of one training (seed {seeds[0]})"
    return f"mean top-1 of {len(seeds)} trainings (seeds {', '.join(map(str, seeds))})"


def recipe_text(a: Mapping[str, Any]) -> str:
    """The recipe of ``a["recipe"]`` in words."""
    r = a["recipe"]
    return (f"{r['optimizer']} (lr {r['lr']:g}, weight decay {r['weight_decay']:g}"
            f"{', Nesterov momentum 0.9' if r['optimizer'] == 'sgd' else ''}), {r['schedule']} schedule with "
            f"{r['warmup_fraction']:g} warm-up, batch {r['batch_size']}, label smoothing {r['label_smoothing']:g}, "
            f"BN re-estimated on {r['bn_recalibration_batches']} batches before testing")


def report_markdown(a: Mapping[str, Any], *, command: str | None = None, pilot: Mapping[str, Any] | None = None) -> str:
    """The report as Markdown (also fine as plain text on a terminal). Every number comes from ``a``
    (:func:`nas.validation.analysis.analyse`); ``command`` and ``pilot`` (:func:`nas.validation.pilot.load_pilot`)
    are quoted if given."""
    E = a["epochs"]
    partial = _partial_line(a)
    L = [f"## Proxy validation: {a['space']}, {_ep(E)}" + (" — PARTIAL" if partial else ""), ""]
    if partial:
        L += [partial, ""]
    L += _setup_lines(a, command, pilot)
    L.append("")
    L += _noise_section(a) + [""] + _budget_section(a) + [""] + _accuracy_section(a) + [""] + _proxy_section(a)
    L.append("")
    return "\n".join(L)


def _partial_line(a: Mapping[str, Any]) -> str | None:
    """What is missing, if any part has fewer results than requested."""
    main, noise, budget = a["main"], a["noise"], a["budget"]
    if not (main["trained"] + main["failed_trainings"] < a["n_requested"]
            or len(noise["names"]) < a["noise_requested"]
            or len(budget["names"]) < a["budget_requested"] or main.get("proxy_missing", 0) > 0):
        return None
    return (f"**Partial result**: main {main['trained']}/{a['n_requested']} archs trained"
            f"{', ' + str(main['proxy_missing']) + ' proxy values missing' if main.get('proxy_missing') else ''}; "
            f"noise {len(noise['names'])}/{a['noise_requested']} pairs; budget "
            f"{len(budget['names'])}/{a['budget_requested']} pairs. Rerun the same command to continue "
            "(every finished training is cached).")


def _setup_lines(a: Mapping[str, Any], command: str | None, pilot: Mapping[str, Any] | None) -> list[str]:
    """The bullet list: command, date, machine, data, budget, recipe, proxies, cost, pilot."""
    m, d = a["machine"], a["data_id"]
    E, M = a["epochs"], a["multiplier"]
    size = lambda k, img: f"{a.get(img)}" if a.get(img) else str(d[k])  # noqa: E731
    L = [f"- Command: `{command}`"] if command else []
    L += [
        f"- Date: {a['date']}",
        f"- Machine: {m['cpu']}, {m['cores']} logical cores, torch {m['torch']}, {m['threads']} threads",
        f"- Data: {d['data']}, train {size('train_size', 'train_images')} images, test "
        f"{size('test_size', 'test_images')} images, {a.get('resolution_px') or d['resolution']} px",
        f"- Budget: {_ep(E)} (stability check against {M * E}); ground truth: {_gt_text(a)}; noise ceiling: "
        f"seed {a['seed']} vs {a['noise_seed']}",
        f"- Recipe: {recipe_text(a)}",
        f"- Proxies: one seeded batch of {a['proxy_batch']} "
        + ("training images" if a.get("proxy_input", "data") == "data" else
           "Gaussian-noise images with random labels (the search's batch without --data)")
        + "; statistics: Kendall τ-b and "
        f"Spearman ρ, percentile bootstrap over archs ({a['n_boot']} resamples, seeded), 95% CIs",
    ]
    es = a.get("epoch_seconds", {})
    if es.get("count"):
        L.append(f"- Training cost here: median {fmt(es['median'], 0)} s per epoch per arch "
                 f"(range {fmt(es['min'], 0)}–{fmt(es['max'], 0)} s over {es['count']} trainings)")
    if pilot:
        L.append(_pilot_line(pilot))
    return L


def _pilot_line(pilot: Mapping[str, Any]) -> str:
    rows = pilot["rows"]
    parts = ", ".join(f"{k} ({rows[k]['macs'] / 1e6:.1f} M MACs, {rows[k]['params'] / 1e6:.2f} M params) "
                      f"{rows[k]['s_per_step'] * 1e3:.0f} ms/step ≈ {rows[k]['s_per_epoch']:.0f} s/epoch"
                      for k in ("small", "median", "large") if k in rows)
    first = next(iter(rows.values()))
    return (f"- Pilot ({pilot['date']}, batch {first['batch_size']}, {first['train_images']} images, "
            f"smallest/median/largest MACs of the first {pilot['archs_considered']} archs): {parts}")


def _noise_section(a: Mapping[str, Any]) -> list[str]:
    nb = a["noise"]
    L = ["### (a) Noise ceiling: two training seeds", ""]
    if not nb["names"]:
        return L + ["Not run yet."]
    return L + [f"τ = {corr_text(nb['corr'])}, ρ = {corr_text(nb['corr'], 'ρ')} on {len(nb['names'])} archs "
                f"(seed {a['seed']} vs {a['noise_seed']}, {_ep(a['epochs'])}); mean |Δ top-1| between seeds "
                f"{pct(nb['mean_abs_diff'])}, max {pct(nb['max_abs_diff'])}."]


def _budget_section(a: Mapping[str, Any]) -> list[str]:
    bb, E, M = a["budget"], a["epochs"], a["multiplier"]
    L = [f"### (b) Budget stability: {E} vs {M * E} epochs", ""]
    if not bb["names"]:
        return L + ["Not run yet."]
    t = bb["corr"]["tau"]
    if not math.isfinite(t):
        verdict = "too few archs (or all tied) for a correlation yet"
    else:
        verdict = (("meets" if t >= BUDGET_TAU else "does NOT meet")
                   + f" the ≥ {BUDGET_TAU} requirement (point estimate)")
    return L + [f"τ = {corr_text(bb['corr'])}, ρ = {corr_text(bb['corr'], 'ρ')} on {len(bb['names'])} archs "
                f"(ground truth at {_ep(E)}, {_gt_text(a)}, vs one training at {M * E}): "
                f"{verdict}. Mean top-1 {pct(float(np.mean(bb['short'])))} at {_ep(E)}, "
                f"{pct(float(np.mean(bb['long'])))} at {M * E}."]


def _accuracy_section(a: Mapping[str, Any]) -> list[str]:
    main, nb = a["main"], a["noise"]
    L = [f"### (c) Accuracy of the {main['trained']} archs at {_ep(a['epochs'])} ({_gt_text(a)})", ""]
    sp = main.get("spread")
    if not sp:
        return L + ["No arch trained yet."]
    return L + [f"top-1 min {pct(sp['min'])}, median {pct(sp['median'])}, max {pct(sp['max'])}; std "
                f"{pct(sp['std'])}, IQR {pct(sp['iqr'])}"
                + (f"; failed trainings {main['failed_trainings']}" if main["failed_trainings"] else "")
                + (f". Seed noise (mean |Δ| {pct(nb['mean_abs_diff'])}) is "
                   f"{nb['mean_abs_diff'] / sp['std']:.2f}× the spread across archs (std)."
                   if nb["names"] and sp["std"] > 0 else ".")]


def _proxy_section(a: Mapping[str, Any]) -> list[str]:
    main, rows = a["main"], a["rows"]
    L = [f"### (d) Proxies vs trained top-1 ({main['trained']} archs)", ""]
    if not (rows and main["trained"] >= 3):
        return L + ["Fewer than 3 archs trained: no correlations yet."]
    header = ["proxy", "n", "Kendall τ [95% CI]", "Spearman ρ [95% CI]", "τ − τ(params) [95% CI]", "failed",
              "cost/arch (s)"]
    cells = []
    for r in rows:
        label = r["name"] if r["kind"] == "proxy" else f"{r['name']} ({r['kind']})"
        diff = "(baseline)" if r["name"] == "params" else ci_text(*r["diff_params"])
        cost = "–" if r["cost"] is None else (f"{r['cost']:.3f}" if r["cost"] < 10 else f"{r['cost']:.1f}")
        cells.append([label, r["corr"]["n"], corr_text(r["corr"]), corr_text(r["corr"], "ρ"), diff, r["failed"],
                      cost])
    return L + [table(header, cells), ""] + _verdict_lines(a)


def _verdict_lines(a: Mapping[str, Any]) -> list[str]:
    rows = {r["name"]: r for r in a["rows"]}
    rec = a["recommendation"]
    L = []
    params = rows.get("params")
    best = rec.get("best_single")
    if best and params:
        b = rows[best]
        lo = b["diff_params"][1]
        hi = b["diff_params"][2]
        if lo > 0:
            cmp = "beats #params (the CI of the τ difference lies above 0)"
        elif hi < 0:
            cmp = "is worse than #params (the CI of the τ difference lies below 0)"
        elif b["diff_params"][0] > 0:
            cmp = "is ahead of #params in the point estimate only (the CI of the τ difference includes 0)"
        else:
            cmp = "does not beat #params (point estimate not above it; the CI of the difference includes 0)"
        goal = "met" if b["corr"]["tau"] >= 0.5 else "not met"
        L.append(f"Best single zero-cost proxy by τ: **{best}**, τ = {corr_text(b['corr'])} vs #params "
                 f"τ = {corr_text(params['corr'])}; Δτ = {ci_text(*b['diff_params'])}: it {cmp}. The τ ≥ 0.5 goal is "
                 f"**{goal}**. (Chosen as the best of {sum(1 for r in a['rows'] if r['kind'] == 'proxy')} proxies "
                 "on these archs, so its τ is optimistic.)")
    cs, ca = a.get("cv_singles", {}), a.get("cv_all", {})
    if cs.get("splits"):
        L.append("")
        L.append(f"Choice validated on held-out halves ({cs['splits']} random splits of the {a.get('cv_n')} archs with "
                 f"every proxy value, {cs['half']} to choose on): choosing the best single proxy gives held-out τ "
                 f"median {fmt(cs['held_median'])} [{fmt(cs['held_lo'])}, {fmt(cs['held_hi'])}] vs #params "
                 f"{fmt(cs['base_median'])}, ahead of #params in {100 * cs['win_share']:.0f}% of splits; "
                 + (f"choosing among singles, baselines and all {a.get('ensembles_tried')} mean-rank ensembles of 2–3 "
                    f"gives {fmt(ca['held_median'])} [{fmt(ca['held_lo'])}, {fmt(ca['held_hi'])}], ahead in "
                    f"{100 * ca['win_share']:.0f}% (most often chosen: "
                    f"{', '.join(f'{k} {v}×' for k, v in list(ca['chosen'].items())[:3])})."
                    if ca.get("splits") else ""))
    L.append("")
    L.append(f"**Default search proxy: `{rec['default']}`** ({rec['why']}). Rule: {rec['rule']}.")
    b = a["budget"]
    if b["names"] and b["corr"]["tau"] < BUDGET_TAU:
        L.append("")
        L.append(f"Caveat: the budget-stability τ ({fmt(b['corr']['tau'])}) is below {BUDGET_TAU}, so the ground "
                 f"truth at {_ep(a['epochs'])} is itself not a stable ranking.")
    return L


def write_scatter(a: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """One scatter PNG per proxy (and baseline) row: proxy value vs trained top-1, τ/ρ in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for r in a["rows"]:
        if r["kind"] not in ("proxy", "baseline") or not r["values"]:
            continue
        fig, ax = plt.subplots(figsize=(4.2, 3.4), dpi=120)
        ax.scatter(r["values"], [100 * y for y in r["acc"]], s=18, alpha=0.8)
        if r["name"] in BASELINES and min(r["values"]) > 0:
            ax.set_xscale("log")
        ax.set_xlabel(r["name"])
        n_seeds = len(a.get("gt_seeds", [a["seed"]]))
        ax.set_ylabel(f"test top-1 (%) after {_ep(a['epochs'])}" + (f", mean of {n_seeds} seeds" if n_seeds > 1 else ""))
        c = r["corr"]
        ax.set_title(f"{r['name']}: τ={fmt(c['tau'])} ρ={fmt(c['rho'])} (n={c['n']}, failed {r['failed']})", fontsize=9)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out_dir / f"proxy_{r['name']}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths
