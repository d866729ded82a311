#!/usr/bin/env python
"""Benchmark the search: candidates per minute, and hypervolume by sampler. Appends to docs/benchmarks.md
(a shim over `nas benchmark search`; see `nas benchmark search --help`).

    python scripts/benchmark_search.py --lut-224 luts/mnasnet-cpu.json --lut-32 luts/mobile_32px-cpu.json

(a) candidates per minute on search_spaces/mnasnet.yaml at 224 px: measured latency + `params`, and a LUT +
    a zero-cost proxy (goals on a 2-core CPU: ≥ 20/min measured, ≥ 60/min with a LUT);
(b) hypervolume of the feasible front after 100 and 200 trials for TPE, NSGA-II and random on
    search_spaces/mobile_32px.yaml with a LUT and the default search proxy, 3 seeds each (goal: TPE after 100 ≥
    random after 200).
Hypervolume uses Optuna's own `compute_hypervolume` on (−proxy, latency), reference point (−proxy_min,
target), where proxy_min is the lowest proxy value seen in any run of the comparison.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one
from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["benchmark", "search", *sys.argv[1:]]))
