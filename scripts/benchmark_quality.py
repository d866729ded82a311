#!/usr/bin/env python
"""The headline benchmark: does the search beat a hand-scaled MobileNet at the same latency? Appends a table to
docs/benchmarks.md (a shim over `nas benchmark quality`; see `nas benchmark quality --help`).

    python scripts/benchmark_quality.py --targets 3ms --space tiny_32px --epochs 12 --threads 1

At each latency target it compares (a) the best net of a multi-fidelity search (zero-cost search, then the
--refine-top best feasible nets trained), (b) the best net of the zero-cost search alone, (c) MobileNetV2,
MnasNet-B1 and MobileNetV3-Small each scaled to the target (`nas scale`), (d) the best of 20 random feasible
archs judged by one training each — all trained with the ground truth's recipe on the full Fashion-MNIST, two
seeds: top-1 mean ± 95 % CI at measured latency, and each method's cost. The YAML of every net in the table is
written under docs/quality/. Trainings are cached (shared with `nas validate-proxy`), so a rerun resumes.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one
from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["benchmark", "quality", *sys.argv[1:]]))
