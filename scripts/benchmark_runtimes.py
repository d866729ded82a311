#!/usr/bin/env python
"""Latency in the runtime users deploy with: eager PyTorch against ONNX Runtime (and OpenVINO, CUDA graphs where
available) on random archs of each space — Kendall τ between the runtimes, pairs that change order, speedup,
each runtime's repeatability and its lookup table's accuracy. Appends to docs/benchmarks.md (a shim over
`nas benchmark runtimes`; see `nas benchmark runtimes --help`).

    python scripts/benchmark_runtimes.py --n 100 --spaces mnasnet mobile_32px
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one
from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["benchmark", "runtimes", *sys.argv[1:]]))
