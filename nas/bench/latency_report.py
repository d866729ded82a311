"""The markdown section of a latency benchmark (:func:`latency_report`): the command, the machine, the load
and the CPU's steadiness, then one subsection per part with its table and its verdict against the goals.

Every number comes from a :class:`~nas.bench.latency.LatencyBenchResult`; nothing here measures.
"""
from __future__ import annotations

from typing import Any

from nas.bench.latency import LatencyBenchConfig, LatencyBenchResult
from nas.latency.table import DEFAULT_SETTINGS
from nas.machine import fmt_load
from nas.markdown import table

__all__ = ["CV_GOAL_PCT", "TAU_GOAL", "WITHIN_AIM", "WITHIN_GOAL", "latency_report", "verdict_ge", "verdict_le"]

#: Part (a)'s goal: CV of five independent medians ≤ 3 %.
CV_GOAL_PCT = 3.0
#: Part (b)'s goals: ≥ 95 % of predictions within ±10 % (aim 99 %), Kendall τ ≥ 0.9.
WITHIN_GOAL, WITHIN_AIM, TAU_GOAL = 95.0, 99.0, 0.9


def verdict_le(value: float, goal: float, unit: str) -> str:
    """``goal met`` if ``value ≤ goal``, else ``goal missed by <difference><unit>``."""
    return "goal met" if value <= goal else f"goal missed by {value - goal:.2f}{unit}"


def verdict_ge(value: float, goal: float, unit: str) -> str:
    """``goal met`` if ``value ≥ goal``, else ``goal missed by <difference><unit>``."""
    return "goal met" if value >= goal else f"goal missed by {goal - value:.2f}{unit}"


def _header(result: LatencyBenchResult, command: str) -> list[str]:
    info, loads = result.machine, result.loads
    lines = [f"## Latency — {result.started.strftime('%Y-%m-%d %H:%M UTC')}", "",
             f"Command: `{command}` (parts {','.join(result.config.parts)}, {result.seconds / 60:.1f} min).  ",
             f"Machine: {info['device']} ({info['device_type']}), {info['logical_cpus']} logical CPUs, "
             f"{info['platform']}; Python {info['python']}, torch {info['torch_version']}, "
             f"**{info['threads']} intra-op thread(s)** for every timing; nas commit {info['commit'] or '?'} "
             f"(+ working tree).  ",
             f"Load average (1/5/15 min) before timing: {fmt_load(loads['start'])}; after: "
             f"{fmt_load(loads['end'])} (the benchmark itself keeps about {info['threads']} core(s) busy). "
             "CPU cores used by *other* processes (`/proc/stat` minus this process): "
             + ", ".join(f"{'before timing' if k == 'before' else 'during ' + k} "
                         f"{'n/a' if v is None else f'{v:.2f}'}" for k, v in loads["others"].items()) + "."]
    busiest = max((v for v in loads["others"].values() if v is not None), default=None)
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


def _part_a(rows: list[dict[str, Any]]) -> list[str]:
    worst = max(rows, key=lambda r: r["cv_pct"])
    n_ok = sum(r["cv_pct"] <= CV_GOAL_PCT for r in rows)
    return ["", "### (a) Repeatability", "",
            "Five independent `measure_latency` runs per zoo net (224 px, batch 1, defaults: 5 repeats × "
            "0.2 s, 10 warm-up calls); CV = sample std / mean of the five medians.", "",
            table(["net", "mean of medians (ms)", "5 medians (ms)", "CV (%)"],
                  [[r["net"], f"{r['mean_ms']:.2f}", ", ".join(f"{m:.2f}" for m in r["medians_ms"]),
                    f"{r['cv_pct']:.2f}"] for r in rows], "lrlr"),
            "", f"Goal CV ≤ {CV_GOAL_PCT:g} %: {n_ok}/{len(rows)} nets within; worst {worst['net']} at "
                f"{worst['cv_pct']:.2f} % — {verdict_le(worst['cv_pct'], CV_GOAL_PCT, ' points')}."]


def _part_b_table(config: LatencyBenchConfig, results: list[dict[str, Any]]) -> list[str]:
    s = DEFAULT_SETTINGS
    lines = ["", "### (b) LUT accuracy", "",
             f"Per space: table built with `build_table` defaults ({s['passes']} shuffled sweeps "
             f"over the ops, each one `measure_latency` call of {s['repeats']} repeat × "
             f"{s['min_run_time']} s after {s['warmup']} warm-up calls; entry = "
             f"median over sweeps), calibrated (`overhead + scale × Σ ops`, least squares) on {config.calibrate} "
             f"random archs + the skeleton timed whole inside the same sweeps, then evaluated on {config.n} "
             f"*other* random archs (seed {config.seed}; calibration names are disjoint from test names), timed "
             f"whole after the build with the same `measure_latency` settings in {results[0]['passes']} shuffled "
             "sweeps (median). Error = (predicted − measured) / measured; *raw* = uncalibrated sum of entries.", ""]
    rows = [[r["space"], f"{r['resolution']}", kind, f"{r['n_test']}", f"{r[kind]['within10_pct']:.1f}",
             f"{r[kind]['mean_abs_pct']:.2f}", f"{r[kind]['max_abs_pct']:.2f}", f"{r[kind]['bias_pct']:+.2f}",
             f"{r[kind]['kendall_tau']:.3f}"] for r in results for kind in ("calibrated", "raw")]
    lines.append(table(["space", "px", "prediction", "test archs", "within ±10 % (%)", "mean abs err (%)",
                        "max abs err (%)", "mean err (%)", "Kendall τ"], rows, "lrlrrrrrr"))
    return lines


def _part_b_space(r: dict[str, Any]) -> str:
    c, s, m, rt = r["calibration"], r["calibrated"], r["measured_ms"], r["retest"]
    return (f"- {r['space']}: calibration {c['overhead_ms']:+.3f} ms + {c['scale']:.4f} × Σops on {r['n_cal']} "
            f"nets (in-sample mean |err| {c['mean_abs_pct']:.2f} %); measured {m['min']:.2f}–{m['max']:.2f} ms "
            f"(median {m['median']:.2f}), median IQR over the {r['passes']} sweeps {r['sweep_iqr_rel_pct']:.1f} % of "
            f"the median; load {fmt_load(r['load_before'])} → {fmt_load(r['load_after'])}. "
            + ("" if not rt else
               f"The measurement's own reproducibility (median of sweeps 1–{rt['halves'][0]} vs the "
               f"other {rt['halves'][1]}): {rt['within10_pct']:.0f} % within ±10 %, mean |diff| "
               f"{rt['mean_abs_pct']:.1f} %, τ {rt['kendall_tau']:.3f} — a ceiling for any "
               "predictor judged against these measurements. ")
            + f"Within ±10 %: {verdict_ge(s['within10_pct'], WITHIN_GOAL, ' points')} (goal ≥ {WITHIN_GOAL:g} %), "
            f"{'aim met' if s['within10_pct'] >= WITHIN_AIM else 'aim missed'} (≥ {WITHIN_AIM:g} %); "
            f"τ {s['kendall_tau']:.3f}: {verdict_ge(s['kendall_tau'], TAU_GOAL, '')} (goal ≥ {TAU_GOAL:g}).")


def _part_c(rows: list[dict[str, Any]]) -> list[str]:
    def build_time(r: dict[str, Any]) -> str:
        return "reused" if r["reused"] else f"{r['seconds']:.0f} s ({r['seconds'] / 60:.1f} min)"

    return ["", "### (c) LUT build", "",
            "Wall-clock time of `build_table` for each space with the defaults above, calibration networks "
            "included (what `scripts/build_lut.py` does).", "",
            table(["space", "px", "entries", "calibration nets", "sweeps", "timings now", "build time",
                   "per timing (ms)", "load avg at start", "others' CPU cores (max of 10-s windows)"],
                  [[r["space"], f"{r['resolution']}", f"{r['entries']}", f"{r['cal_nets']}", f"{r['passes']}",
                    f"{r['timings']}", build_time(r),
                    "—" if not r["timings"] else f"{r['seconds'] / r['timings'] * 1000:.0f}", fmt_load(r["load"]),
                    "n/a" if r["busy_other_cores"] < 0 else f"{r['busy_other_cores']:.2f}"] for r in rows],
                  "lrrrrrrrll")]


def _part_d(rows: list[dict[str, Any]]) -> list[str]:
    return ["", "### (d) Zoo nets at 224 px, batch 1", "",
            "One `measure_latency` call per net (defaults: 5 repeats × 0.2 s); MACs from fvcore.", "",
            table(["net", "median (ms)", "IQR (ms)", "CV of repeats (%)", "params (M)", "MACs (M)"],
                  [[r["net"], f"{r['median_ms']:.2f}", f"{r['iqr_ms']:.2f}", f"{r['cv_pct']:.2f}",
                    f"{r['params'] / 1e6:.2f}", f"{r['macs'] / 1e6:.1f}"] for r in rows], "lrrrrr")]


def latency_report(result: LatencyBenchResult, command: str) -> str:
    """The markdown section (``## Latency — <UTC date>`` …, ending in one newline) for ``result``, recording
    ``command`` as the command that produced it. Parts missing from ``result.results`` are left out."""
    results = result.results
    lines = _header(result, command)
    if results.get("noise"):
        lines += _noise(results["noise"])
    if "a" in results:
        lines += _part_a(results["a"])
    if "b" in results:
        lines += _part_b_table(result.config, results["b"])
        lines += [""] + [_part_b_space(r) for r in results["b"]]
    if "c" in results:
        lines += _part_c(results["c"])
    if "d" in results:
        lines += _part_d(results["d"])
    return "\n".join(lines).rstrip() + "\n"
