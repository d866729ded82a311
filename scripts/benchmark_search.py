#!/usr/bin/env python
"""Benchmark the search: candidates per minute, and hypervolume by sampler. Appends to docs/benchmarks.md.

    python scripts/benchmark_search.py --lut-224 luts/mnasnet-cpu.json --lut-32 luts/mobile_32px-cpu.json

(a) candidates per minute on search_spaces/mnasnet.yaml at 224 px: measured latency + `params`, and a LUT +
    a zero-cost proxy (goals on a 2-core CPU: ≥ 20/min measured, ≥ 60/min with a LUT);
(b) hypervolume of the feasible front after 100 and 200 trials for TPE, NSGA-II and random on
    search_spaces/mobile_32px.yaml with a LUT and the default search proxy, 3 seeds each (goal: TPE after 100 ≥
    random after 200).
Hypervolume uses Optuna's own `compute_hypervolume` on (−proxy, latency), reference point (−proxy_min,
target), where proxy_min is the lowest proxy value seen in any run of the comparison.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nas.bench import append_section, machine_lines, markdown_table
from nas.cli import OneLineParser
from nas.evaluate import DEFAULT_PROXY, DEFAULT_PROXY_BATCH
from nas.latency.units import latency_arg


def rate(space: str, latency: str, proxy: str, trials: int, target: float, threads: int) -> tuple[float, int]:
    """(completed candidates per minute, completed count) of a random-sampler search from scratch."""
    from nas.search import SearchConfig, run_search

    with tempfile.TemporaryDirectory() as out:
        config = SearchConfig(latency_target_ms=target, space=space, trials=trials, sampler="random", seed=0,
                              latency=latency, proxy=proxy, device="cpu", threads=threads, out=out, progress=False)
        start = time.perf_counter()
        result = run_search(config, echo=lambda s: None)
        minutes = (time.perf_counter() - start) / 60
        done = len([t for t in result.study.get_trials() if t.state.name == "COMPLETE"])
    return done / minutes, done


def hypervolume_runs(space: str, lut: str, proxy: str, target: float, samplers: list[str], seeds: list[int],
                     trials: int, threads: int) -> dict[tuple[str, int], list[tuple[float, float, bool]]]:
    """Per (sampler, seed): (proxy, latency, feasible) of every completed trial, in trial order."""
    from nas.search import SearchConfig, run_search

    runs = {}
    for sampler in samplers:
        for seed in seeds:
            with tempfile.TemporaryDirectory() as out:
                config = SearchConfig(latency_target_ms=target, space=space, trials=trials, sampler=sampler,
                                      seed=seed, latency=f"lut:{lut}", proxy=proxy, device="cpu", threads=threads,
                                      out=out, progress=False)
                study = run_search(config, echo=lambda s: None).study
                runs[(sampler, seed)] = [(t.values[0], t.values[1], t.values[1] <= target)
                                         for t in sorted(study.get_trials(), key=lambda t: t.number)
                                         if t.state.name == "COMPLETE"]
            print(f"  {sampler} seed {seed}: {len(runs[(sampler, seed)])} trials", file=sys.stderr)
    return runs


def hypervolume(points: list[tuple[float, float, bool]], upto: int, proxy_min: float, target: float) -> float:
    from optuna._hypervolume import compute_hypervolume

    feasible = np.array([(-p, lat) for p, lat, ok in points[:upto] if ok and p > proxy_min], dtype=float)
    if len(feasible) == 0:
        return 0.0
    return float(compute_hypervolume(feasible, np.array([-proxy_min, target])))


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--lut-224", required=True, help="latency table of search_spaces/mnasnet.yaml on this device")
    p.add_argument("--lut-32", required=True, help="latency table of search_spaces/mobile_32px.yaml")
    p.add_argument("--parts", default="a,b", help="which parts to run (default: a,b)")
    p.add_argument("--rate-trials", type=int, default=30, help="candidates per rate measurement (default: 30)")
    p.add_argument("--target-224", type=latency_arg, default=latency_arg("30ms"))
    p.add_argument("--target-32", type=latency_arg, default=None,
                   help="latency target for the hypervolume runs (default: the LUT median of 200 random archs)")
    p.add_argument("--proxy", default="synflow,naswot",
                   help="zero-cost proxies of part (a)'s LUT rows, comma-separated (default: synflow,naswot)")
    p.add_argument("--hv-proxy", default=DEFAULT_PROXY,
                   help=f"proxy of the hypervolume runs (default: the search default, {DEFAULT_PROXY})")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-write", action="store_true", help="print only; do not append to docs/benchmarks.md")
    args = p.parse_args(argv)
    for path in (args.lut_224, args.lut_32):
        if not Path(path).is_file():
            p.fail(f"{path}: no such latency table (build it with scripts/build_lut.py)")
    parts = set(args.parts.split(","))
    if not parts <= {"a", "b"}:
        p.fail(f"--parts takes a comma-separated subset of a,b (got {args.parts!r})")
    import torch

    torch.set_num_threads(args.threads)
    lines = [f"Command: `python scripts/benchmark_search.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
             *machine_lines(args.threads), ""]

    if "a" in parts:
        rows = []
        goals = {"measure": 20, "lut": 60}
        zero_cost = [name.strip() for name in args.proxy.split(",") if name.strip()]
        measured = ["params"] + ([DEFAULT_PROXY] if DEFAULT_PROXY != "params" else [])  # + the default search
        for latency, proxy in [*(("measure", name) for name in measured), (f"lut:{args.lut_224}", "params"),
                               *((f"lut:{args.lut_224}", name) for name in zero_cost)]:
            per_min, done = rate("search_spaces/mnasnet.yaml", latency, proxy, args.rate_trials, args.target_224,
                                 args.threads)
            method = "measure" if latency == "measure" else "lut"
            rows.append([method, proxy, str(done), f"{per_min:.1f}", f"≥ {goals[method]}",
                         "met" if per_min >= goals[method] else f"missed by {goals[method] - per_min:.1f}/min"])
            print(rows[-1], file=sys.stderr)
        lines += ["**(a) Candidates per minute**, search_spaces/mnasnet.yaml at 224 px, random sampler, from an "
                  "empty study (includes building, fvcore MACs, latency and proxy for every candidate; zero-cost "
                  f"proxies on a batch of {DEFAULT_PROXY_BATCH} images; the default search is measure + "
                  f"`{DEFAULT_PROXY}`):", "",
                  markdown_table(["latency", "proxy", "candidates", "per minute", "goal", ""], rows), ""]

    if "b" in parts:
        from nas.latency.lut import LatencyTable
        from nas.space import load_space

        target = args.target_32
        if target is None:
            space = load_space("search_spaces/mobile_32px.yaml")
            table = LatencyTable.load(args.lut_32, device="cpu", threads=args.threads)
            target = float(np.median([table.predict(space.sample(10_000 + i)) for i in range(200)]))
        samplers, seeds = ["tpe", "nsga2", "random"], list(range(args.seeds))
        runs = hypervolume_runs("search_spaces/mobile_32px.yaml", args.lut_32, args.hv_proxy, target, samplers, seeds,
                                200, args.threads)
        proxy_min = min(p for pts in runs.values() for p, _, _ in pts)
        rows = []
        hv = {}
        for sampler in samplers:
            at100 = [hypervolume(runs[(sampler, s)], 100, proxy_min, target) for s in seeds]
            at200 = [hypervolume(runs[(sampler, s)], 200, proxy_min, target) for s in seeds]
            hv[sampler] = (at100, at200)
            rows.append([sampler, " / ".join(f"{v:.4g}" for v in at100), f"{statistics.mean(at100):.4g}",
                         " / ".join(f"{v:.4g}" for v in at200), f"{statistics.mean(at200):.4g}"])
        tpe100, random200 = statistics.mean(hv["tpe"][0]), statistics.mean(hv["random"][1])
        verdict = ("met" if tpe100 >= random200 else
                   f"missed: TPE@100 is {100 * (1 - tpe100 / random200):.1f}% below random@200")
        lines += [f"**(b) Hypervolume**, search_spaces/mobile_32px.yaml, LUT latency, proxy `{args.hv_proxy}`, target "
                  f"{target:.3f} ms, {len(seeds)} seeds; Optuna's `compute_hypervolume` on (−proxy, latency) with "
                  f"reference (−{proxy_min:.4g}, {target:.3f} ms):", "",
                  markdown_table(["sampler", "HV @100 (per seed)", "mean @100", "HV @200 (per seed)", "mean @200"],
                                 rows), "",
                  f"Goal TPE's mean hypervolume after 100 trials ≥ random's after 200: {verdict} "
                  f"({tpe100:.4g} vs {random200:.4g}).", ""]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        append_section("Search: candidates per minute and hypervolume", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
