#!/usr/bin/env python
"""Latency benchmarks on this machine: print tables and append a section to docs/benchmarks.md.

    python scripts/benchmark_latency.py                      # all parts, 1 thread, 100 test archs per space
    python scripts/benchmark_latency.py --parts a,d --no-write

Parts:
  a  repeatability — coefficient of variation of 5 independent ``measure_latency`` runs of each zoo net
     (224 px, batch 1, default settings); goal CV ≤ 3 %.
  b  LUT accuracy — build a table for each space, calibrate it on ``--calibrate`` archs + the skeleton, then
     predict ``--n`` other random archs and time them whole with the table's settings: share within ±10 %,
     mean |error|, Kendall τ; goal ≥ 95 % within ±10 % (aim 99 %) and τ ≥ 0.9.
  c  LUT build time and entry count per space (built in b, or on their own).
  d  zoo nets at 224 px, batch 1: median latency and IQR beside parameters and MACs.

Every number in the appended section is computed by this run; the section records the command, date,
machine, torch version, thread count and the load average around the timing.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nas.bench import append_markdown, fmt_load, loadavg
from nas.cli import OneLineParser, positive_int

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
PROG = "benchmark_latency.py"
DEFAULT_SPACES = ("search_spaces/mnasnet.yaml", "search_spaces/mobile_32px.yaml")
CV_GOAL_PCT = 3.0
WITHIN_GOAL, WITHIN_AIM, TAU_GOAL = 95.0, 99.0, 0.9


def _parts(text: str) -> str:
    parts = [p.strip() for p in text.lower().split(",") if p.strip()]
    bad = [p for p in parts if p not in "abcd" or len(p) != 1]
    if bad or not parts:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of a,b,c,d, got {text!r}")
    return "".join(sorted(set(parts)))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = OneLineParser(prog=PROG, description="Latency benchmarks: repeatability, LUT accuracy, LUT build, zoo table.")
    p.add_argument("--parts", type=_parts, default="a,b,c,d", help="which parts to run, e.g. a,d (default a,b,c,d)")
    p.add_argument("--n", type=positive_int, default=100, help="test archs per space for part b (default 100)")
    p.add_argument("--calibrate", type=positive_int, default=10,
                   help="random calibration archs per space (plus the skeleton), disjoint from the test archs "
                        "(default 10)")
    p.add_argument("--net-passes", type=positive_int, default=5,
                   help="sweeps over the calibration and test networks of part b; each network's latency is "
                        "the median over the sweeps (default 5)")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="intra-op threads for every timing (default 1: single-core latency, as MnasNet "
                        "reports; the most reproducible setting on a shared machine)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"), help="device (default cpu)")
    p.add_argument("--spaces", nargs="+", default=list(DEFAULT_SPACES), metavar="FILE",
                   help="search spaces for parts b and c (default: mnasnet and mobile_32px)")
    p.add_argument("--seed", type=int, default=0, help="seed for test archs (calibration uses seed+1)")
    p.add_argument("--lut-dir", default=None,
                   help="keep the tables here and reuse them when they exist (default: a temporary directory, "
                        "so part c times a fresh build)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write every raw number to this JSON file")
    p.add_argument("--doc", default=str(DOC), help=f"markdown file to append to (default {DOC.relative_to(ROOT)})")
    p.add_argument("--no-write", action="store_true", help="print only; do not append to the markdown file")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------------------- machine


def machine(device: str, threads: int) -> dict[str, Any]:
    import torch

    from nas.latency.measure import device_info

    info = device_info(device, threads)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {**info, "logical_cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "torch_default_threads": torch.get_num_threads(), "commit": commit}


# ----------------------------------------------------------------------------------------- parts


def noise_floor(seconds: float = 10.0) -> dict[str, float]:
    """How steady is this CPU? A fixed pure-Python loop (no memory traffic, no torch) timed back to back:
    p10 and median time per iteration, and the CV of the medians of consecutive 0.5-s chunks. On an
    idle dedicated core p50/p10 ≈ 1 and the chunk CV is well under 1 %."""
    import numpy as np

    times, stamps = [], []
    t_end = time.perf_counter() + seconds
    while (now := time.perf_counter()) < t_end:
        x = 0
        for i in range(20000):
            x += i
        times.append((time.perf_counter() - now) * 1e3)
        stamps.append(now)
    a, t = np.asarray(times), np.asarray(stamps)
    chunk = ((t - t[0]) // 0.5).astype(int)
    medians = np.asarray([np.median(a[chunk == c]) for c in np.unique(chunk)])
    p10, p50 = np.percentile(a, [10, 50])
    return {"p10_ms": float(p10), "p50_ms": float(p50), "p50_over_p10": float(p50 / p10),
            "chunk_cv_pct": float(medians.std(ddof=1) / medians.mean() * 100), "seconds": seconds}


def part_a(args: argparse.Namespace, tqdm) -> list[dict[str, Any]]:
    """5 independent default measure_latency runs per zoo net at 224 px, batch 1."""
    import numpy as np

    import nas.zoo
    from nas.builder import build_model
    from nas.latency.measure import measure_latency

    rows = []
    for name in tqdm(nas.zoo.names(), desc="(a) repeatability", unit="net", disable=args.no_progress):
        model = build_model(name)
        medians = [measure_latency(model, 224, device=args.device, threads=args.threads).median_ms
                   for _ in range(5)]
        a = np.asarray(medians)
        rows.append({"net": name, "medians_ms": medians, "mean_ms": float(a.mean()),
                     "cv_pct": float(a.std(ddof=1) / a.mean() * 100)})
    return rows


def sample_tests(space: Any, n: int, seed: int) -> list[Any]:
    """``n`` distinct random archs of ``space`` (fewer if the space is smaller)."""
    rng = random.Random(seed)
    tests: dict[str, Any] = {}
    for _ in range(1000 * n):
        if len(tests) == n:
            break
        a = space.sample(rng)
        tests.setdefault(a.name, a)
    return list(tests.values())


def build_luts(args: argparse.Namespace, lut_dir: Path) -> list[dict[str, Any]]:
    """One table per space, calibrated (during the build) on archs disjoint from the part-b test archs."""
    from nas.latency.lut import LatencyTable, build_table, calibration_archs
    from nas.space import load_space

    out = []
    for path in args.spaces:
        space = load_space(path)
        tests = sample_tests(space, args.n, args.seed)
        cal = calibration_archs(space, args.calibrate, seed=args.seed + 1, exclude=[a.name for a in tests])
        assert not {a.name for a in cal} & {a.name for a in tests}
        file = lut_dir / f"{space.name}-{args.device}-t{args.threads}.json"
        before = 0
        if file.exists():
            old = LatencyTable.read(file)
            before = sum(len(e.samples_ms) for d in (old.entries, old.networks) for e in d.values())
        load = loadavg()
        start = time.perf_counter()
        table = build_table(space, device=args.device, threads=args.threads, out_path=file,
                            progress=not args.no_progress, calibration_archs=cal)
        seconds = time.perf_counter() - start
        timings = sum(len(e.samples_ms) for d in (table.entries, table.networks) for e in d.values())
        out.append({"space": space.name, "file": str(path), "resolution": space.skeleton.resolution,
                    "entries": len(table), "cal_nets": len(cal), "passes": table.meta.passes,
                    "timings": timings - before, "seconds": seconds, "reused": timings == before,
                    "table": table, "space_obj": space, "tests": tests, "cal_archs": cal, "lut_file": file,
                    "load": load, "busy_other_cores": table.meta.busy_other_cores})
    return out


def part_b(args: argparse.Namespace, built: dict[str, Any], tqdm) -> dict[str, Any]:
    """Predict the test archs with the calibrated table and compare with whole-network timings."""
    import numpy as np
    from scipy.stats import kendalltau

    from nas.latency.lut import measure_networks

    space, table, test_archs, cal_archs = built["space_obj"], built["table"], built["tests"], built["cal_archs"]
    cal = table.calibration
    passes = args.net_passes
    load_before = loadavg()
    entries = measure_networks(test_archs, table.meta, passes=passes, progress=not args.no_progress,
                               desc=f"(b) {space.name} test")
    measured = [e.median_ms for e in entries]
    samples = np.asarray([e.samples_ms for e in entries])
    retest = None
    if passes >= 4:  # the measurement's own reproducibility: first half of the sweeps vs the second half
        h = passes // 2
        m1, m2 = np.median(samples[:, :h], axis=1), np.median(samples[:, h:], axis=1)
        retest = {"halves": [h, passes - h], "within10_pct": float(np.mean(np.abs(m1 - m2) / m2 <= 0.10) * 100),
                  "mean_abs_pct": float(np.mean(np.abs(m1 - m2) / m2) * 100),
                  "kendall_tau": float(kendalltau(m1, m2).statistic)}
    y = np.asarray(measured)
    raw = np.asarray([table.predict_raw(a) for a in test_archs])
    pred = np.asarray([table.predict(a) for a in test_archs])

    def stats(p: np.ndarray) -> dict[str, float]:
        err = (p - y) / y * 100
        return {"within10_pct": float(np.mean(np.abs(err) <= 10) * 100), "mean_abs_pct": float(np.mean(np.abs(err))),
                "max_abs_pct": float(np.max(np.abs(err))), "bias_pct": float(np.mean(err)),
                "kendall_tau": float(kendalltau(p, y).statistic)}

    return {"space": space.name, "resolution": built["resolution"], "n_test": len(test_archs),
            "n_cal": len(cal_archs), "calibration": {k: getattr(cal, k) for k in
                                                     ("overhead_ms", "scale", "rmse_ms", "mean_abs_pct", "max_abs_pct")},
            "calibrated": stats(pred), "raw": stats(raw),
            "measured_ms": {"min": float(y.min()), "median": float(np.median(y)), "max": float(y.max())},
            "passes": passes, "retest": retest,
            "sweep_iqr_rel_pct": float(np.median(np.asarray([e.iqr_ms for e in entries]) / y * 100)),
            "tests": [{"arch": a.name, "measured_ms": m, "samples_ms": list(e.samples_ms), "raw_ms": float(r),
                       "pred_ms": float(p)} for a, m, e, r, p in zip(test_archs, measured, entries, raw, pred)],
            "cal_archs": [{"arch": a.name, "measured_ms": table.networks[a.name].median_ms,
                           "samples_ms": list(table.networks[a.name].samples_ms)} for a in cal_archs],
            "load_before": load_before, "load_after": loadavg()}


def part_d(args: argparse.Namespace, tqdm) -> list[dict[str, Any]]:
    import nas.zoo
    from nas.builder import build_model
    from nas.cost import count_macs, count_params
    from nas.latency.measure import measure_latency

    rows = []
    for name in tqdm(nas.zoo.names(), desc="(d) zoo", unit="net", disable=args.no_progress):
        model = build_model(name)
        r = measure_latency(model, 224, device=args.device, threads=args.threads)
        rows.append({"net": name, "median_ms": r.median_ms, "iqr_ms": r.iqr_ms, "cv_pct": r.cv * 100,
                     "params": count_params(model), "macs": count_macs(model, 224)})
    return rows


# ----------------------------------------------------------------------------------------- report


def table_md(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if a == "r" else ":---" for a in align) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def verdict_le(value: float, goal: float, unit: str) -> str:
    return "goal met" if value <= goal else f"goal missed by {value - goal:.2f}{unit}"


def verdict_ge(value: float, goal: float, unit: str) -> str:
    return "goal met" if value >= goal else f"goal missed by {goal - value:.2f}{unit}"


def report(args: argparse.Namespace, argv: list[str], info: dict[str, Any], results: dict[str, Any],
           loads: dict[str, Any], started: datetime.datetime, seconds: float) -> str:
    from nas.latency.lut import DEFAULT_SETTINGS

    cmd = "python scripts/benchmark_latency.py" + ("" if not argv else " " + shlex.join(argv))
    lines = [f"## Latency — {started.strftime('%Y-%m-%d %H:%M UTC')}", "",
             f"Command: `{cmd}` (parts {','.join(args.parts)}, {seconds / 60:.1f} min).  ",
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
    nf = results.get("noise")
    if nf:
        steady = nf["p50_over_p10"] < 1.05 and nf["chunk_cv_pct"] < 1.0
        lines += ["", f"CPU steadiness (a fixed pure-Python loop timed back to back for {nf['seconds']:g} s just "
                      f"before the timings): median/p10 time per iteration {nf['p50_over_p10']:.2f}, CV of 0.5-s chunk "
                      f"medians {nf['chunk_cv_pct']:.1f} % — "
                      + ("steady." if steady else
                         "**the CPU itself is not steady** (its speed changes from one second to the next "
                         "whatever this benchmark does, e.g. a virtual CPU sharing its physical core); every "
                         "latency below carries that noise.")]
    if "a" in results:
        rows = results["a"]
        worst = max(rows, key=lambda r: r["cv_pct"])
        n_ok = sum(r["cv_pct"] <= CV_GOAL_PCT for r in rows)
        lines += ["", "### (a) Repeatability", "",
                  "Five independent `measure_latency` runs per zoo net (224 px, batch 1, defaults: 5 repeats × "
                  "0.2 s, 10 warm-up calls); CV = sample std / mean of the five medians.", ""]
        lines += table_md(["net", "mean of medians (ms)", "5 medians (ms)", "CV (%)"],
                          [[r["net"], f"{r['mean_ms']:.2f}", ", ".join(f"{m:.2f}" for m in r["medians_ms"]),
                            f"{r['cv_pct']:.2f}"] for r in rows], "lrlr")
        lines += ["", f"Goal CV ≤ {CV_GOAL_PCT:g} %: {n_ok}/{len(rows)} nets within; worst {worst['net']} at "
                      f"{worst['cv_pct']:.2f} % — {verdict_le(worst['cv_pct'], CV_GOAL_PCT, ' points')}."]
    if "b" in results:
        passes = results["b"][0]["passes"]
        lines += ["", "### (b) LUT accuracy", "",
                  f"Per space: table built with `build_table` defaults ({DEFAULT_SETTINGS['passes']} shuffled sweeps "
                  f"over the ops, each one `measure_latency` call of {DEFAULT_SETTINGS['repeats']} repeat × "
                  f"{DEFAULT_SETTINGS['min_run_time']} s after {DEFAULT_SETTINGS['warmup']} warm-up calls; entry = "
                  f"median over sweeps), calibrated (`overhead + scale × Σ ops`, least squares) on {args.calibrate} "
                  f"random archs + the skeleton timed whole inside the same sweeps, then evaluated on {args.n} "
                  f"*other* random archs (seed {args.seed}; calibration names are disjoint from test names), timed "
                  f"whole after the build with the same `measure_latency` settings in {passes} shuffled sweeps "
                  "(median). Error = (predicted − measured) / measured; *raw* = uncalibrated sum of entries.", ""]
        rows = []
        for r in results["b"]:
            for kind in ("calibrated", "raw"):
                s = r[kind]
                rows.append([r["space"], f"{r['resolution']}", kind, f"{r['n_test']}", f"{s['within10_pct']:.1f}",
                             f"{s['mean_abs_pct']:.2f}", f"{s['max_abs_pct']:.2f}", f"{s['bias_pct']:+.2f}",
                             f"{s['kendall_tau']:.3f}"])
        lines += table_md(["space", "px", "prediction", "test archs", "within ±10 % (%)", "mean abs err (%)",
                           "max abs err (%)", "mean err (%)", "Kendall τ"], rows, "lrlrrrrrr")
        lines.append("")
        for r in results["b"]:
            c, s, m = r["calibration"], r["calibrated"], r["measured_ms"]
            lines.append(
                f"- {r['space']}: calibration {c['overhead_ms']:+.3f} ms + {c['scale']:.4f} × Σops on {r['n_cal']} "
                f"nets (in-sample mean |err| {c['mean_abs_pct']:.2f} %); measured {m['min']:.2f}–{m['max']:.2f} ms "
                f"(median {m['median']:.2f}), median IQR over the {r['passes']} sweeps {r['sweep_iqr_rel_pct']:.1f} % of "
                f"the median; load {fmt_load(r['load_before'])} → {fmt_load(r['load_after'])}. "
                + ("" if not r["retest"] else
                   f"The measurement's own reproducibility (median of sweeps 1–{r['retest']['halves'][0]} vs the "
                   f"other {r['retest']['halves'][1]}): {r['retest']['within10_pct']:.0f} % within ±10 %, mean |diff| "
                   f"{r['retest']['mean_abs_pct']:.1f} %, τ {r['retest']['kendall_tau']:.3f} — a ceiling for any "
                   "predictor judged against these measurements. ")
                + f"Within ±10 %: {verdict_ge(s['within10_pct'], WITHIN_GOAL, ' points')} (goal ≥ {WITHIN_GOAL:g} %), "
                f"{'aim met' if s['within10_pct'] >= WITHIN_AIM else 'aim missed'} (≥ {WITHIN_AIM:g} %); "
                f"τ {s['kendall_tau']:.3f}: {verdict_ge(s['kendall_tau'], TAU_GOAL, '')} (goal ≥ {TAU_GOAL:g}).")
    if "c" in results:
        lines += ["", "### (c) LUT build", "",
                  "Wall-clock time of `build_table` for each space with the defaults above, calibration networks "
                  "included (what `scripts/build_lut.py` does).", ""]
        lines += table_md(["space", "px", "entries", "calibration nets", "sweeps", "timings now", "build time",
                           "per timing (ms)",
                           "load avg at start", "others' CPU cores (max of 10-s windows)"],
                          [[r["space"], f"{r['resolution']}", f"{r['entries']}", f"{r['cal_nets']}", f"{r['passes']}",
                            f"{r['timings']}",
                            "reused" if r["reused"] else f"{r['seconds']:.0f} s ({r['seconds'] / 60:.1f} min)",
                            "—" if not r["timings"] else f"{r['seconds'] / r['timings'] * 1000:.0f}",
                            fmt_load(r["load"]),
                            "n/a" if r["busy_other_cores"] < 0 else f"{r['busy_other_cores']:.2f}"]
                           for r in results["c"]], "lrrrrrrrll")
    if "d" in results:
        lines += ["", "### (d) Zoo nets at 224 px, batch 1", "",
                  "One `measure_latency` call per net (defaults: 5 repeats × 0.2 s); MACs from fvcore.", ""]
        lines += table_md(["net", "median (ms)", "IQR (ms)", "CV of repeats (%)", "params (M)", "MACs (M)"],
                          [[r["net"], f"{r['median_ms']:.2f}", f"{r['iqr_ms']:.2f}", f"{r['cv_pct']:.2f}",
                            f"{r['params'] / 1e6:.2f}", f"{r['macs'] / 1e6:.1f}"] for r in results["d"]], "lrrrrr")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    for path in args.spaces:
        if not Path(path).is_file():
            print(f"{PROG}: error: --spaces: {path}: no such file", file=sys.stderr)
            return 2
    import warnings

    from tqdm.auto import tqdm

    from nas.latency.lut import LUTError
    from nas.space import SpaceError

    warnings.showwarning = lambda message, *a, **k: print(f"{PROG}: warning: {message}", file=sys.stderr)

    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    try:
        info = machine(args.device, args.threads)
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    loads: dict[str, Any] = {"start": loadavg()}
    from nas.latency.lut import OtherCpuLoad, other_busy_cores

    others: dict[str, float | None] = {"before": other_busy_cores(2.0)}
    results: dict[str, Any] = {"noise": noise_floor()}
    print(f"{info['device']} ({info['device_type']}), torch {info['torch_version']}, {args.threads} thread(s); "
          f"load {fmt_load(loads['start'])}", file=sys.stderr)
    try:
        monitor = OtherCpuLoad()
        if "a" in args.parts:
            results["a"] = part_a(args, tqdm)
            others["a"] = monitor.sample()
        if "b" in args.parts or "c" in args.parts:
            with tempfile.TemporaryDirectory(prefix="nas-lut-") as tmp:
                lut_dir = Path(args.lut_dir) if args.lut_dir else Path(tmp)
                built = build_luts(args, lut_dir)
                if "c" in args.parts:
                    results["c"] = [{k: v for k, v in b.items()
                                     if k not in ("table", "space_obj", "lut_file", "tests", "cal_archs")}
                                    for b in built]
                others["c"] = monitor.sample()
                if "b" in args.parts:
                    results["b"] = [part_b(args, b, tqdm) for b in built]
                    others["b"] = monitor.sample()
        if "d" in args.parts:
            results["d"] = part_d(args, tqdm)
            others["d"] = monitor.sample()
    except (LUTError, SpaceError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    loads["end"] = loadavg()
    loads["others"] = others
    text = report(args, argv, info, results, loads, started, time.perf_counter() - t0)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "loads": loads, "results": results},
                                              indent=1, default=str) + "\n", encoding="utf-8")
    if not args.no_write:
        append_markdown(text, Path(args.doc))
        print(f"appended to {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
