#!/usr/bin/env python
"""Latency benchmarks on this machine: print tables and append a section to docs/benchmarks.md
(a shim over `nas benchmark latency`; see `nas benchmark latency --help`).

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
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one
from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["benchmark", "latency", *sys.argv[1:]]))
