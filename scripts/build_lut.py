#!/usr/bin/env python
"""Build a latency lookup table for a search space on this machine (resumable), then calibrate it.

    python scripts/build_lut.py --space search_spaces/mnasnet.yaml --device cpu --threads 1 --out lut/mnasnet.json

Every op the space can produce is timed alone (progress bar; the JSON is rewritten atomically every few
entries, so Ctrl-C keeps a valid partial table and rerunning the same command resumes it). Then
``--calibrate N`` whole networks (N random archs of the space plus its skeleton) are timed with the same
settings and ``latency ≈ overhead + scale × Σ ops`` is fitted. Use the table with
``nas.latency.lut.LatencyTable.load(path, device=..., threads=...)``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

from nas.cli import OneLineParser, non_negative_int, positive_float, positive_int
from nas.latency.lut import DEFAULT_SETTINGS, LUTError

PROG = "build_lut.py"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = OneLineParser(prog=PROG, description="Build (or resume) a latency lookup table for a search space on this "
                                       "machine and calibrate it on whole networks.")
    p.add_argument("--space", required=True, metavar="FILE", help="search space YAML (e.g. search_spaces/mnasnet.yaml)")
    p.add_argument("--out", required=True, metavar="FILE.json", help="where to write the table (resumed if it exists)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="device to time on (default: auto = cuda if available)")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="intra-op threads while timing, recorded in the table (default: 1, the single-core "
                        "latency MnasNet reports and the most reproducible on a shared machine)")
    p.add_argument("--calibrate", type=non_negative_int, default=10, metavar="N",
                   help="fit the calibration on N random archs of the space plus its skeleton, timed among the "
                        "ops (default 10; 0: no calibration)")
    p.add_argument("--seed", type=int, default=0, help="seed for the calibration archs (default 0)")
    p.add_argument("--force", action="store_true",
                   help="do not resume: re-measure everything and overwrite --out even if it was built with "
                        "other settings")
    p.add_argument("--passes", type=positive_int, default=DEFAULT_SETTINGS["passes"],
                   help=f"sweeps over the ops and calibration networks; an entry is the median of its sweeps "
                        f"(default {DEFAULT_SETTINGS['passes']}; more passes on an existing table refine it)")
    p.add_argument("--repeats", type=positive_int, default=DEFAULT_SETTINGS["repeats"],
                   help=f"measure_latency repeats per op and pass (default {DEFAULT_SETTINGS['repeats']})")
    p.add_argument("--min-run-time", type=positive_float, default=DEFAULT_SETTINGS["min_run_time"], metavar="S",
                   help=f"seconds of timing per repeat (default {DEFAULT_SETTINGS['min_run_time']})")
    p.add_argument("--warmup", type=non_negative_int, default=DEFAULT_SETTINGS["warmup"],
                   help=f"untimed calls before timing (default {DEFAULT_SETTINGS['warmup']})")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def fail(message: str) -> int:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2

    from nas.space import SpaceError, load_space

    try:
        space = load_space(args.space)
    except SpaceError as exc:
        return fail(str(exc))
    out = Path(args.out)
    if out.is_dir():
        return fail(f"--out {out}: is a directory; give a .json file path")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not os.access(parent, os.W_OK):
        return fail(f"--out {out}: directory {parent} is not writable")

    from nas.latency.lut import LatencyTable, build_table, calibration_archs

    progress = not args.no_progress
    start = time.perf_counter()
    warnings.showwarning = _one_line_warning
    try:
        before = 0
        if out.exists() and not args.force:
            old = LatencyTable.read(out)
            before = sum(len(e.samples_ms) for d in (old.entries, old.networks) for e in d.values())
        archs = calibration_archs(space, args.calibrate, seed=args.seed) if args.calibrate else []
        table = build_table(space, device=args.device, threads=args.threads, out_path=out, progress=progress,
                            resume=not args.force, calibration_archs=archs, passes=args.passes,
                            repeats=args.repeats, min_run_time=args.min_run_time, warmup=args.warmup)
        m = table.meta
        timings = sum(len(e.samples_ms) for d in (table.entries, table.networks) for e in d.values())
        print(f"{len(table)} entries for space '{m.space}' at {m.resolution} px + {len(archs)} calibration nets, "
              f"{m.passes} pass(es): {timings - before} timings in {time.perf_counter() - start:.1f} s"
              f"{f' ({before} resumed)' if before else ''}; {m.device} ({m.device_type}), torch {m.torch_version}, "
              f"{m.threads} thread(s), batch {m.batch_size}; other processes used up to "
              f"{m.busy_other_cores:.2f} CPU cores meanwhile")
        if table.calibration is not None:
            print(f"calibration: {table.calibration}")
        else:
            print("calibration: none (--calibrate 0); predictions are raw sums of op latencies")
    except LUTError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted; the partial table is kept in {out}; rerun the same command to resume",
              file=sys.stderr)
        return 130
    print(f"wrote {out}  (total {time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
