"""The markdown section of a latency benchmark (:func:`latency_report`): the command, the machine, the load
and the CPU's steadiness, then one subsection per part with its table and its verdict against the goals.

Every number comes from a :class:`~nas.bench.latency.LatencyBenchResult`; nothing here measures.
"""
from __future__ import annotations

import statistics
from typing import Any

from nas.bench.latency import LatencyBenchConfig, LatencyBenchResult
from nas.bench.latency_front import FRONT_ARGS, RETIME_ROUNDS
from nas.bench.latency_zoo import LOAD_TOLERANCE
from nas.latency.noise import CV_MAX, OTHERS_MAX, PAIRED_SLACK, RETRY_WAIT_S
from nas.latency.table import DEFAULT_SETTINGS
from nas.machine import fmt_load
from nas.markdown import table

__all__ = ["CEILING_FACTOR", "CV_GOAL_PCT", "TAU_GOAL", "WITHIN_AIM", "WITHIN_GOAL", "WITHIN_NEED",
           "latency_report", "verdict_ge", "verdict_le"]

#: Part (a)'s goal: CV of five independent medians ≤ 3 %.
CV_GOAL_PCT = 3.0
#: Part (b)'s goals: ≥ 95 % of predictions within ±10 % (aim 99 %), Kendall τ ≥ 0.9.
WITHIN_GOAL, WITHIN_AIM, TAU_GOAL = 95.0, 99.0, 0.9
#: Part (b)'s acceptance: ≥ 90 % within ±10 % — or, where the measurement's own retest agrees less, a mean
#: |error| within 1.2× the retest's mean |difference|.
WITHIN_NEED, CEILING_FACTOR = 90.0, 1.2


def verdict_le(value: float, goal: float, unit: str) -> str:
    """``goal met`` if ``value ≤ goal``, else ``goal missed by <difference><unit>``."""
    return "goal met" if value <= goal else f"goal missed by {value - goal:.2f}{unit}"


def verdict_ge(value: float, goal: float, unit: str) -> str:
    """``goal met`` if ``value ≥ goal``, else ``goal missed by <difference><unit>``."""
    return "goal met" if value >= goal else f"goal missed by {goal - value:.2f}{unit}"


_RUNTIMES = {"eager": "eager PyTorch", "onnxruntime": "ONNX Runtime (each net's ONNX export)",
             "openvino": "OpenVINO (each net's ONNX export)"}


def _header(result: LatencyBenchResult, command: str) -> list[str]:
    info, loads = result.machine, result.loads
    lines = [f"## Latency — {result.started.strftime('%Y-%m-%d %H:%M UTC')}", "",
             f"Command: `{command}` (parts {','.join(result.config.parts)}, {result.seconds / 60:.1f} min).  ",
             f"Machine: {info['device']} ({info['device_type']}), {info['logical_cpus']} logical CPUs, "
             f"{info['platform']}; Python {info['python']}, torch {info['torch_version']}, "
             f"**{info['threads']} intra-op thread(s)** for every timing, in "
             f"**{_RUNTIMES.get(result.config.backend, result.config.backend)}**; nas commit {info['commit'] or '?'} "
             f"(+ working tree).  ",
             f"Load average (1/5/15 min) before timing: {fmt_load(loads['start'])}; after: "
             f"{fmt_load(loads['end'])} (the benchmark itself keeps about {info['threads']} core(s) busy). "
             "CPU cores used by *other* processes (`/proc/stat` minus this process): "
             + ", ".join(f"{'before timing' if k == 'before' else 'during ' + k} "
                         f"{'n/a' if v is None else f'{v:.2f}'}" for k, v in loads["others"].items()) + "."]
    # parts e and f load the machine on purpose (their own busy loop; f's search process too)
    busiest = max((v for k, v in loads["others"].items() if v is not None and k not in "ef"), default=None)
    if busiest is not None and busiest > 0.5:
        lines.append(f"**Other processes were busy during the timings** (up to {busiest:.2f} CPU cores on average "
                     "over a part); the numbers below include that interference.")
    return lines


def _noise(nf: dict[str, float]) -> list[str]:
    steady = nf["p50_over_p10"] < 1.05 and nf["chunk_cv_pct"] < 1.0
    return ["", f"CPU steadiness (a fixed pure-Python loop timed back to back for {nf['seconds']:g} s just "
                f"before the timings): median/p10 time per iteration {nf['p50_over_p10']:.2f}, CV of 0.5-s chunk "
                f"medians {nf['chunk_cv_pct']:.1f} % — "
                + ("steady." if steady else
                   "**the CPU itself is not steady** (its speed changes from one second to the next "
                   "whatever this benchmark does, e.g. a virtual CPU sharing its physical core); every "
                   "latency below carries that noise.")]


def _settings(config: LatencyBenchConfig) -> str:
    return (f"{config.repeats} repeats × {config.min_run_time:g} s, {config.warmup} warm-up calls, "
            f"{config.threads} thread(s); noisy when other processes use more than the cores the timing leaves "
            f"free + {OTHERS_MAX:g} (solo) / + {PAIRED_SLACK:g} (paired), or the repeats' CV > {CV_MAX * 100:g} %, "
            f"then up to {config.retries} retries {RETRY_WAIT_S:g} s apart")


def _reference(ref: dict[str, Any]) -> list[str]:
    load = "n/a" if ref.get("others_cpu") is None else f"{ref['others_cpu']:.2f}"
    return ["", f"Paired timing: reference {ref['name']} at {ref['resolution']} px, quiet latency "
                f"{ref['quiet_ms']:.2f} ms measured first (other processes' cores meanwhile {load}"
                + ("; **flagged noisy: every paired number is scaled by a latency taken under load**"
                   if ref.get("noisy") else "") + ")."]


def _cv_line(rows: list[dict[str, Any]], mode: str) -> str:
    have = [r for r in rows if r.get(mode)]
    if not have:
        return ""
    worst = max(have, key=lambda r: r[mode]["cv_pct"])
    n_ok = sum(r[mode]["cv_pct"] <= CV_GOAL_PCT for r in have)
    return (f"{mode}: {n_ok}/{len(have)} nets within CV ≤ {CV_GOAL_PCT:g} %; worst {worst['net']} at "
            f"{worst[mode]['cv_pct']:.2f} % — {verdict_le(worst[mode]['cv_pct'], CV_GOAL_PCT, ' points')}.")


def _beside_ms(rows: list[dict[str, Any]]) -> float | None:
    """The reference's median block beside the nets over every paired run of part (a) (``None``: not recorded)."""
    now = [x for r in rows if r.get("paired") for x in r["paired"].get("reference_now_ms") or []]
    return float(statistics.median(now)) if now else None


def _part_a(rows: list[dict[str, Any]], config: LatencyBenchConfig, ref: dict[str, Any] | None) -> list[str]:
    beside = _beside_ms(rows) if ref else None
    scale = beside / ref["quiet_ms"] if beside and ref else None  # as a search re-levels its study

    def cells(s: dict[str, Any] | None) -> list[str]:
        if not s:
            return ["—", "—", "—"]
        return [f"{s['mean_ms']:.2f}", f"{s['cv_pct']:.2f}", f"{s['noisy']}/{len(s['medians_ms'])}"]

    head = ["net", "solo mean (ms)", "solo CV (%)", "solo noisy", "paired mean (ms)", "paired CV (%)", "paired noisy"]
    body = [[r["net"], *cells(r["solo"]), *cells(r.get("paired"))] for r in rows]
    level: list[str] = []
    if scale is not None:
        head.append("paired re-levelled (ms)")
        body = [row + ([f"{r['paired']['mean_ms'] * scale:.2f}"] if r.get("paired") else ["—"])
                for row, r in zip(body, rows)]
        level = ["", f"The reference ran at a median {beside:.2f} ms beside the nets against the "
                     f"{ref['quiet_ms']:.2f} ms measured first (level ×{ref['quiet_ms'] / beside:.2f}, first / "
                     f"beside). *Paired re-levelled* = paired mean × {scale:.3f}: the ratio times the reference's "
                     "median beside the nets, as a search re-levels its study (README, \"Paired timing\"); the CVs do "
                     "not depend on the scale."]
    return ["", "### (a) Repeatability", "",
            f"{config.runs} independent `measure_latency` runs per zoo net (224 px, batch 1; {_settings(config)}); "
            f"CV = sample std / mean of the {config.runs} medians. *Paired*: each run alternates the net with the "
            "reference in ~25-ms blocks and reports the median ratio × the reference's quiet latency; solo and "
            "paired runs alternate.", "", table(head, body, "l" + "r" * (len(head) - 1)),
            "", " ".join(x for x in (_cv_line(rows, "solo"), _cv_line(rows, "paired")) if x), *level]


def _part_b_table(config: LatencyBenchConfig, results: list[dict[str, Any]]) -> list[str]:
    s = DEFAULT_SETTINGS
    lines = ["", "### (b) LUT accuracy", "",
             f"Per space: table built with {results[0]['passes']} shuffled sweeps over the ops, each one "
             f"`measure_latency` call of {s['repeats']} repeat × {s['min_run_time']} s after {s['warmup']} warm-up "
             f"calls (entry = median over sweeps); {config.calibrate} random archs + the skeleton (calibration) "
             f"and {config.n} *other* random archs (test, seed {config.seed}) timed whole inside the same sweeps, "
             "so that both see the same machine. Predictors fitted on the calibration nets only: *raw* Σ entries; "
             "*linear* overhead + scale × Σ; *terms* + per-network terms (layer count, weight MB; non-negative "
             "least squares); *calibrated* the table's own choice (terms only when their leave-one-out error is "
             "clearly lower). Error = (predicted − measured) / measured.", ""]
    kinds = ("calibrated", "linear", "terms", "raw")
    rows = [[r["space"], f"{r['resolution']}", kind, f"{r['n_test']}", f"{r[kind]['within10_pct']:.1f}",
             f"{r[kind]['mean_abs_pct']:.2f}", f"{r[kind]['max_abs_pct']:.2f}", f"{r[kind]['bias_pct']:+.2f}",
             f"{r[kind]['kendall_tau']:.3f}"] for r in results for kind in kinds if kind in r]
    lines.append(table(["space", "px", "prediction", "test archs", "within ±10 % (%)", "mean abs err (%)",
                        "max abs err (%)", "mean err (%)", "Kendall τ"], rows, "lrlrrrrrr"))
    return lines


def _acceptance_b(s: dict[str, Any], rt: dict[str, Any] | None) -> str:
    if s["within10_pct"] >= WITHIN_NEED:
        return f"acceptance met: {s['within10_pct']:.0f} % within ±10 % (≥ {WITHIN_NEED:g} %)"
    if rt and rt["within10_pct"] < WITHIN_NEED:
        bound = CEILING_FACTOR * rt["mean_abs_pct"]
        ok = s["mean_abs_pct"] <= bound
        return (f"acceptance {'met' if ok else 'missed'} by the ceiling rule: the retest agrees within ±10 % for "
                f"only {rt['within10_pct']:.0f} %, and the predictor's mean |err| {s['mean_abs_pct']:.2f} % is "
                f"{'≤' if ok else '>'} {CEILING_FACTOR:g} × the retest's {rt['mean_abs_pct']:.2f} % = {bound:.2f} %")
    return f"acceptance missed: {s['within10_pct']:.0f} % within ±10 % (< {WITHIN_NEED:g} %)"


def _part_b_space(r: dict[str, Any]) -> str:
    c, s, m, rt = r["calibration"], r["calibrated"], r["measured_ms"], r["retest"]
    terms = "".join(f" + {k:.4g} × {t}" for t, k in zip(c.get("terms", []), c.get("coefs", [])))
    return (f"- {r['space']}: calibration {c['overhead_ms']:+.3f} ms + {c['scale']:.4f} × Σops{terms} on {r['n_cal']} "
            f"nets (in-sample mean |err| {c['mean_abs_pct']:.2f} %, leave-one-out {c['loo_mean_abs_pct']:.2f} %); "
            f"measured {m['min']:.2f}–{m['max']:.2f} ms (median {m['median']:.2f}), median IQR over the sweeps "
            f"{r['sweep_iqr_rel_pct']:.1f} % of the median"
            + (" (**test nets timed after the build**: the table was reused)" if r.get("timed_after") else "")
            + f"; load {fmt_load(r['load_before'])} → {fmt_load(r['load_after'])}. "
            + ("" if not rt else
               f"The measurement's own repeat agreement (median of sweeps 1–{rt['halves'][0]} vs the other "
               f"{rt['halves'][1]}): {rt['within10_pct']:.0f} % within ±10 %, mean |diff| {rt['mean_abs_pct']:.1f} %, "
               f"τ {rt['kendall_tau']:.3f} — the ceiling for any predictor judged against these measurements; "
               f"the calibrated predictor: {s['within10_pct']:.0f} % within ±10 %, mean |err| "
               f"{s['mean_abs_pct']:.1f} %. ")
            + f"The calibration nets timed again after the build moved by {r['drift_pct']:+.1f} % (drift of the "
            f"machine). {_acceptance_b(s, rt)}. Within ±10 %: {verdict_ge(s['within10_pct'], WITHIN_GOAL, ' points')} "
            f"(goal ≥ {WITHIN_GOAL:g} %); τ {s['kendall_tau']:.3f}: {verdict_ge(s['kendall_tau'], TAU_GOAL, '')} "
            f"(goal ≥ {TAU_GOAL:g}).")


def _part_c(rows: list[dict[str, Any]]) -> list[str]:
    def build_time(r: dict[str, Any]) -> str:
        return "reused" if r["reused"] else f"{r['seconds']:.0f} s ({r['seconds'] / 60:.1f} min)"

    return ["", "### (c) LUT build", "",
            "Wall-clock time of `build_table` for each space with the settings above, calibration and test "
            "networks included (`nas build-lut` times no test networks).", "",
            table(["space", "px", "entries", "calibration nets", "test nets", "sweeps", "timings now", "build time",
                   "per timing (ms)", "load avg at start", "others' CPU cores (max of 10-s windows)"],
                  [[r["space"], f"{r['resolution']}", f"{r['entries']}", f"{r['cal_nets']}",
                    f"{r.get('test_nets', 0)}", f"{r['passes']}", f"{r['timings']}", build_time(r),
                    "—" if not r["timings"] else f"{r['seconds'] / r['timings'] * 1000:.0f}", fmt_load(r["load"]),
                    "n/a" if r["busy_other_cores"] < 0 else f"{r['busy_other_cores']:.2f}"] for r in rows],
                  "lrrrrrrrrll")]


def _part_d(rows: list[dict[str, Any]], config: LatencyBenchConfig) -> list[str]:
    return ["", "### (d) Zoo nets at 224 px, batch 1", "",
            f"One solo `measure_latency` call per net ({_settings(config)}); MACs from fvcore.", "",
            table(["net", "median (ms)", "IQR (ms)", "CV of repeats (%)", "noisy", "params (M)", "MACs (M)"],
                  [[r["net"], f"{r['median_ms']:.2f}", f"{r['iqr_ms']:.2f}", f"{r['cv_pct']:.2f}",
                    "yes" if r.get("noisy") else "no", f"{r['params'] / 1e6:.2f}", f"{r['macs'] / 1e6:.1f}"]
                   for r in rows], "lrrrlrr")]


def _part_e(e: dict[str, Any], config: LatencyBenchConfig) -> list[str]:
    rows, modes = e["rows"], [m for m in ("solo", "paired") if e["rows"] and m in e["rows"][0]]
    head = ["net"] + [f"{m} {h}" for m in modes for h in ("quiet (ms)", "busy (ms)", "busy/quiet", "flagged",
                                                           "verdict")]
    body = [[r["net"]] + [x for m in modes for x in (
        f"{r[m]['quiet_ms']:.2f}", f"{r[m]['busy_ms']:.2f}", f"{r[m]['ratio']:.2f}",
        "yes" if r[m]["busy_noisy"] else "no", r[m]["verdict"])] for r in rows]
    lines = ["", "### (e) One core busy", "",
             f"Per zoo net: measured quiet, then again while this benchmark runs its own busy-loop process pinned to "
             f"core {e['core']} (a plain Python `while True: pass`, stopped after each net); {_settings(config)}. "
             f"Goal: each busy median within ±{LOAD_TOLERANCE * 100:g} % of the quiet one, or flagged noisy — "
             "never an unflagged ×2.", "", table(head, body, "l" + "rrrll" * len(modes)), ""]
    for m in modes:
        lines.append(_verdict_line(m, [{**r[m], "net": r["net"]} for r in rows], "ratio", "verdict", name="net"))
    return lines


def _part_f(f: dict[str, Any], config: LatencyBenchConfig) -> list[str]:
    search, rows, run = f["search"], f["rows"], f.get("run") or {}
    command = "nas search " + " ".join(search["args"])
    readme = " (the README's first command)" if tuple(search["args"]) == FRONT_ARGS else ""
    lines = ["", "### (f) README command 1 with one core busy", "",
             f"`{command}`{readme} run as its own process in a fresh folder while this "
             f"benchmark's busy loop spins on core {search['core']}; then the loop is stopped and every network of "
             f"the exported front is timed again quiet and, in the same minute, with the loop on, "
             f"{RETIME_ROUNDS} times each round-robin over the front, median ({_settings(config)}). Goal: each "
             f"reported latency within ±{LOAD_TOLERANCE * 100:g} % of its quiet re-timing, or the network flagged "
             "noisy. *Busy now* separates the load's effect from the machine's own drift between the search and the "
             "re-timing. *Single timing* is the search's own one timing of a network whose latency the search then "
             "confirmed (`--confirm`, the median of more timings round-robin over the front): what would have been "
             "reported without the confirmation.", ""]
    if search["returncode"] != 0 or not rows:
        said = " / ".join(search["tail"]).replace("`", "'")
        return lines + [f"The search exited {search['returncode']} after {search['seconds']:.0f} s and exported "
                        "no network with a timed latency to re-time"
                        + (f"; its last lines: `{said}`." if said else ".")]
    lines.append(f"The search: {search['seconds']:.0f} s, {run.get('trials', '?')} trials, {run.get('noisy', '?')} "
                 f"timed noisy ({f['noisy_trials']} listed under noisy_trials in pareto.yaml); other processes used "
                 f"{_cores(run.get('others_cpu_mean'))} cores on average while candidates were timed (max "
                 f"{_cores(run.get('others_cpu_max'))}).")
    ruler = f.get("ruler")
    if ruler and ruler.get("before_ms") and ruler.get("after_ms"):
        drift = ruler["after_ms"] / ruler["before_ms"]
        lines.append(f"Ruler: {ruler['name']} at 224 px timed quiet {ruler['before_ms']:.2f} ms just before the "
                     f"search and {ruler['after_ms']:.2f} ms after the re-timing (×{drift:.2f}): how far the "
                     "machine's own speed moved in between.")
    single = any(isinstance(r.get("search_ratio"), (int, float)) for r in rows)
    body = [[r["name"], "yes" if r["feasible"] else "no", f"{r['reported_ms']:.2f}",
             "yes" if r["reported_noisy"] else "no", f"{r['quiet_ms']:.2f}", f"{r['ratio']:.2f}", r["verdict"]]
            + ([f"{r['now_busy_ms']:.2f}", f"{r['now_ratio']:.2f}", r["now_verdict"]] if "now_ratio" in r else [])
            + ([_num(r.get("search_ms")), _num(r.get("search_ratio"))] if single else [])
            for r in rows]
    now = "now_ratio" in rows[0]
    head = ["network", "feasible", "reported busy (ms)", "flagged", "quiet (ms)", "reported/quiet", "verdict"]
    head += ["busy now (ms)", "busy now/quiet", "load alone"] if now else []
    head += ["single timing (ms)", "single/quiet"] if single else []
    lines += ["", table(head, body, "llrlrrl" + ("rrl" if now else "") + ("rr" if single else "")), "",
              _verdict_line("reported vs quiet", rows, "ratio", "verdict")]
    if now:
        lines.append(_verdict_line("busy now vs quiet (same minute)", rows, "now_ratio", "now_verdict"))
    ratios = [r["search_ratio"] for r in rows if isinstance(r.get("search_ratio"), (int, float))]
    if ratios:
        within = sum(abs(x - 1) <= LOAD_TOLERANCE for x in ratios)
        lines.append(f"- the search's single timings (before confirmation) vs quiet: {len(ratios)} networks, ratio "
                     f"{min(ratios):.2f}–{max(ratios):.2f}; {within} within ±{LOAD_TOLERANCE * 100:g} %.")
    return lines


def _num(x: Any) -> str:
    """``x`` with two decimals, or ``–`` when it is not a number."""
    return f"{x:.2f}" if isinstance(x, (int, float)) else "–"


def _verdict_line(what: str, rows: list[dict[str, Any]], ratio: str, verdict: str, name: str | None = None) -> str:
    """One bullet with the verdicts of ``rows`` (parts e and f): how many within ±25 %, flagged, missed (named
    by ``rows[i][name]`` when given) and unflagged ×2; with ``name`` unset also the count and the ratio range."""
    verdicts = [r[verdict] for r in rows]
    missed = [r for r in rows if r[verdict].startswith("MISSED")]
    size = "" if name else (f"{len(rows)} networks, ratio {min(r[ratio] for r in rows):.2f}–"
                            f"{max(r[ratio] for r in rows):.2f}; ")
    names = f" ({', '.join(str(r[name]) for r in missed)})" if name and missed else ""
    return (f"- {what}: {size}{verdicts.count('ok')} within ±{LOAD_TOLERANCE * 100:g} %, "
            f"{verdicts.count('flagged')} flagged, {len(missed)} missed{names} — "
            f"{'goal met' if not missed else 'goal missed'}; unflagged ×2: {verdicts.count('MISSED ×2')}.")


def _cores(value: Any) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def latency_report(result: LatencyBenchResult, command: str) -> str:
    """The markdown section (``## Latency — <UTC date>`` …, ending in one newline) for ``result``, recording
    ``command`` as the command that produced it. Parts missing from ``result.results`` are left out."""
    results = result.results
    lines = _header(result, command)
    if results.get("noise"):
        lines += _noise(results["noise"])
    if results.get("reference"):
        lines += _reference(results["reference"])
    if "a" in results:
        lines += _part_a(results["a"], result.config, results.get("reference"))
    if "b" in results:
        lines += _part_b_table(result.config, results["b"])
        lines += [""] + [_part_b_space(r) for r in results["b"]]
    if "c" in results:
        lines += _part_c(results["c"])
    if "d" in results:
        lines += _part_d(results["d"], result.config)
    if "e" in results:
        lines += _part_e(results["e"], result.config)
    if "f" in results:
        lines += _part_f(results["f"], result.config)
    return "\n".join(lines).rstrip() + "\n"
