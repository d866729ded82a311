"""``nas build-lut``: build (or resume) a latency lookup table for a search space on this machine, then
calibrate it on whole networks.

    nas build-lut --space mnasnet --device cpu --threads 1 --out lut/mnasnet.json

Every op the space can produce is timed alone (progress bar; the JSON is rewritten atomically every few
entries, so Ctrl-C keeps a valid partial table and rerunning the same command resumes it). Then ``--calibrate N``
whole networks (N random archs of the space plus its skeleton) are timed among the ops and
``latency ≈ overhead + scale × Σ ops`` is fitted, plus per-network terms (layer count, weight MB: what an op
timed alone misses inside a network) when they predict better (:mod:`nas.latency.calibrate`). Search with
it: ``nas search --latency lut:FILE --threads 1``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from nas.cli.common import CliError, backend_arg, non_negative_int, output_file, positive_float, positive_int, seed_arg
from nas.latency.table import DEFAULT_SETTINGS  # numpy and YAML only: `nas --help` stays torch-free

__all__ = ["add_parser", "run"]

_PASSES, _REPEATS, _MIN_RUN_TIME, _WARMUP = (DEFAULT_SETTINGS[k] for k in ("passes", "repeats", "min_run_time",
                                                                           "warmup"))


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("build-lut", help="build a latency lookup table for a space on this machine",
                       description="Build (or resume) a latency lookup table for a search space on this machine "
                                   "and calibrate it on whole networks.")
    p.add_argument("--space", required=True, help="a bundled space name or a search space YAML")
    p.add_argument("--out", required=True, metavar="FILE.json", help="where to write the table (resumed if it exists)")
    p.add_argument("--backend", type=backend_arg, default="eager",
                   help="runtime the ops are timed in: eager (PyTorch), onnxruntime or openvino (default: eager); "
                        "search with the same --backend")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="device to time on (default: auto = cuda if available)")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="intra-op threads while timing, recorded in the table (default: 1, the single-core "
                        "latency MnasNet reports and the most reproducible on a shared machine)")
    p.add_argument("--calibrate", type=non_negative_int, default=40, metavar="N",
                   help="fit the calibration on N random archs of the space plus its skeleton, timed among the "
                        "ops: overhead + scale × Σ ops, plus per-network terms (layer count, weight MB) where "
                        "they predict the nets left out better (default 40: on mnasnet, 20 nets left 58 %% of held-out "
                        "archs within ±10 %% and 40 left 77 %%, docs/benchmarks.md; 0: no calibration)")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed for the calibration archs (default 0)")
    p.add_argument("--force", action="store_true", help="do not resume: re-measure everything and overwrite --out "
                                                        "even if it was built with other settings")
    p.add_argument("--passes", type=positive_int, default=_PASSES,
                   help=f"sweeps over the ops and calibration networks; an entry is the median of its sweeps "
                        f"(default {_PASSES}; more passes on an existing table refine it)")
    p.add_argument("--repeats", type=positive_int, default=_REPEATS,
                   help=f"measure_latency repeats per op and pass (default {_REPEATS})")
    p.add_argument("--min-run-time", type=positive_float, default=_MIN_RUN_TIME, metavar="S",
                   help=f"seconds of timing per repeat (default {_MIN_RUN_TIME})")
    p.add_argument("--warmup", type=non_negative_int, default=_WARMUP,
                   help=f"untimed calls before timing (default {_WARMUP})")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run, prog=p.prog)
    return p


def _timings(table: Any) -> int:
    return sum(len(e.samples_ms) for d in (table.entries, table.networks) for e in d.values())


def run(args: argparse.Namespace) -> int:
    from nas.latency import LatencyTable, LUTError, build_table, calibration_archs
    from nas.latency.runtimes import BackendError, check_backend_here
    from nas.space.load import load_space

    try:
        space = load_space(args.space)
    except ValueError as exc:
        raise CliError(exc) from None
    out = output_file(args.out)
    start = time.perf_counter()
    try:
        check_backend_here(args.backend)
        before = _timings(LatencyTable.read(out)) if out.exists() and not args.force else 0
        archs = calibration_archs(space, args.calibrate, seed=args.seed) if args.calibrate else []
        table = build_table(space, device=args.device, threads=args.threads, out_path=out,
                            progress=not args.no_progress, resume=not args.force, calibration_archs=archs,
                            passes=args.passes, repeats=args.repeats, min_run_time=args.min_run_time,
                            warmup=args.warmup, backend=args.backend)
    except (LUTError, BackendError) as exc:
        raise CliError(exc) from None
    except KeyboardInterrupt:
        print(f"\n{args.prog}: interrupted; the partial table is kept in {out}; rerun the same command to resume",
              file=sys.stderr)
        return 130
    m, seconds = table.meta, time.perf_counter() - start
    print(f"{len(table)} entries for space '{m.space}' at {m.resolution} px + {len(archs)} calibration nets, "
          f"{m.passes} pass(es): {_timings(table) - before} timings in {seconds:.1f} s"
          f"{f' ({before} resumed)' if before else ''}; {m.device} ({m.device_type}), torch {m.torch_version}, "
          f"{m.threads} thread(s), batch {m.batch_size}; other processes used up to "
          f"{m.busy_other_cores:.2f} CPU cores meanwhile")
    print(f"calibration: {table.calibration}" if table.calibration is not None
          else "calibration: none (--calibrate 0); predictions are raw sums of op latencies")
    print(f"wrote {out}  (total {seconds:.1f} s)")
    return 0
