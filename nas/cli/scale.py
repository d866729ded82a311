"""``nas scale``: a known network scaled to a latency budget — the largest width multiplier (round-to-8, the
family's head rule) that meets the target on this device — written as BlockArgs YAML. The baseline a searched
network has to beat.

    nas scale mobilenet_v2 --latency-target 10ms

Exit code 1 when even the smallest multiplier misses the target (that smallest network is still written).
    nas scale mnasnet_b1 --latency-target 3ms --resolution 32 --in-channels 1 --num-classes 10 --out b1.yaml
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from nas.cli.common import CliError, latency_arg, non_negative_int, output_file, pixels, positive_int
from nas.cli.specs import latency_method

__all__ = ["add_parser", "run"]

HELP = "scale a known network to a latency budget (the baseline to beat)"
DESCRIPTION = "The largest width multiplier of ARCH that meets the latency target on this device, written as BlockArgs YAML."


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("scale", help=HELP, description=DESCRIPTION)
    p.add_argument("arch", metavar="ARCH", help="a zoo name (mobilenet_v2, mnasnet_b1, …) or a BlockArgs YAML file")
    p.add_argument("--latency-target", required=True, type=latency_arg, metavar="TIME",
                   help="latency budget per image, with a unit: 10ms, 0.01s or 10000us")
    p.add_argument("--latency", type=latency_method, default="measure", metavar="METHOD",
                   help="'measure' (default), 'paired' (each variant timed beside the network it scales) or "
                        "'lut:FILE.json' (a table covering the scaled layers)")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA if present, else CPU), cpu, cuda or cuda:N (default: %(default)s)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads while measuring (default: 1; recorded)")
    p.add_argument("--resolution", type=pixels(32), default=None,
                   help="input size in px, 32–2048 (default: the arch's)")
    p.add_argument("--in-channels", type=positive_int, default=None, help="input channels (default: the arch's)")
    p.add_argument("--num-classes", type=positive_int, default=None, help="classes (default: the arch's)")
    p.add_argument("--confirm", type=non_negative_int, default=2, metavar="N",
                   help="extra measurements of the answer and of the next larger network; their medians settle "
                        "it, so one lucky timing does not pick the multiplier (default 2)")
    p.add_argument("--out", default=None, metavar="FILE.yaml", help="where to write it (default: <name>-x<α>.yaml)")
    p.set_defaults(run=run, prog=p.prog)
    return p


#: Checked before the timing when no --out is given: the default file goes into the working folder.
_DEFAULT_PROBE = "scaled.yaml"


def default_out(name: str) -> Path:
    """``<name>.yaml`` in the working folder, ``name`` reduced to letters, digits, ``_``, ``.`` and ``-`` (an
    arch file's ``name:`` may hold ``/`` or ``..``: it must not choose where the file goes)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "scaled"
    return Path(f"{safe}.yaml")


def run(args: argparse.Namespace) -> int:
    from nas.arch.io import dump_arch, load_arch
    from nas.search.evaluate import Evaluator
    from nas.search.scale import scale_to_latency, width_grid
    from nas.search.specs import ProxySpec

    output_file(args.out if args.out is not None else _DEFAULT_PROBE)  # before minutes of timing
    try:
        arch = load_arch(args.arch)
        changes = {k: v for k, v in (("resolution", args.resolution), ("in_channels", args.in_channels),
                                     ("num_classes", args.num_classes)) if v is not None}
        arch = arch.replace(**changes) if changes else arch
        evaluator = Evaluator(latency=args.latency, proxy=ProxySpec("params"), device=args.device,
                              threads=args.threads)
        if args.latency.kind == "paired":  # every scaled variant timed beside the network it scales
            from nas.search.reference import time_reference

            evaluator.reference = time_reference(evaluator, arch)
    except ValueError as exc:
        raise CliError(exc) from None
    result = scale_to_latency(arch, args.latency_target, lambda a: evaluator.measure_arch(a)[0],
                              confirm=args.confirm)
    out = Path(args.out) if args.out is not None else default_out(result.arch.name)
    dump_arch(result.arch, out)
    verdict = "meets" if result.feasible else "MISSES (even the smallest multiplier)"
    largest = width_grid(arch)[-1][0]
    note = (f"; ×{largest:.2f} is the grid's largest multiplier: the target allows a wider network"
            if result.feasible and result.width_multiplier >= largest else "")
    if evaluator.reference is not None:
        ref = evaluator.reference
        print(f"paired timing: every variant beside {ref.name} ({ref.quiet_ms:.2f} ms, the median of its "
              f"{len((ref.quiet or {}).get('runs_ms') or [1])} solo timings)")
    multipliers = len({alpha for alpha, _ in result.tried})
    print(f"{arch.name} × {result.width_multiplier:.2f}: {result.latency_ms:.2f} ms {verdict} the "
          f"{args.latency_target:g} ms target ({multipliers} multipliers, {len(result.tried)} measurements); "
          f"wrote {out}{note}")
    return 0 if result.feasible else 1  # the closest network is still written, but a script must see the miss
