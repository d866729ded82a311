#!/usr/bin/env python3
"""Validate the zero-cost accuracy proxies against trained accuracy on sampled architectures.

    python scripts/validate_proxy.py --space mobile_32px --n 30 --epochs 1 --gt-seeds 2 \\
        --data fashion-mnist --threads 1

Runs, in this order: budget stability (first --budget-archs archs: ground truth at E epochs vs one training
at --budget-multiplier × E), the noise ceiling (first --noise-archs archs with --seed and --noise-seed),
and the main part (--n archs at E epochs, each trained with the --gt-seeds seeds whose mean top-1 is its
ground truth; every proxy scored), then prints the report, appends it to docs/benchmarks.md and writes
docs/img/proxy_<name>.png (unless --no-write). Every finished training is cached in --cache (JSONL); a
training in progress checkpoints to ckpt/ beside it, so Ctrl-C (or --stop-after) and rerunning the same
command continues where it stopped. Start the same command twice to use two cores: the workers share
the cache and claim their trainings. ``--only pilot`` times one epoch of the smallest, median and
largest of the first --n archs. The same as ``nas validate-proxy``; all logic lives in nas.cli.validate_proxy
and nas.validation.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one

from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["validate-proxy", *sys.argv[1:]]))
