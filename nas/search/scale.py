"""The baseline a searched network must beat: a known network scaled to the latency budget.

    >>> from nas.search.scale import scale_to_latency
    >>> result = scale_to_latency(nas.zoo.load("mobilenet_v2"), 10.0, latency_fn)   # doctest: +SKIP
    >>> result.width_multiplier, result.latency_ms                                    # doctest: +SKIP

:func:`scale_to_latency` finds the largest width multiplier α (on a grid, default 0.10–2.00 in steps of 0.01) at
which the network meets the target, with the family's own rules: every width is rounded to a multiple of 8
(:func:`nas.arch.spec.make_divisible`, as torchvision's ``_make_divisible``) and the head follows the network's
``head.width_rule``. Multipliers that round to the same network are one candidate; latency is taken to grow with
α, so the search is a bisection over the distinct networks, each measured once (every measurement is kept in
:attr:`ScaleResult.tried`). This is MobileNet's and MnasNet's way of fitting a budget (Howard et al. 2017;
Sandler et al. 2018; Tan et al. 2019, §5.1), and the reference of the headline benchmark.

Measured latency is noisy, and a bisection on single measurements picks the largest α that *happened* to fit
(the winner's curse). So the bisection's answer and its next larger neighbour are measured ``confirm`` more
times and the answer moves to where the medians say.
"""
from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass
from typing import Callable

from nas.arch.layers import resolve
from nas.arch.spec import Arch, ArchError

__all__ = ["ScaleResult", "scale_to_latency", "width_grid"]


@dataclass(frozen=True)
class ScaleResult:
    """The scaled network (``arch``, named ``<name>-x<α>``), its multiplier and latency (ms) against the target,
    and every (α, ms) measured on the way (repeats included). ``latency_ms`` is the median of the chosen network's
    measurements. ``feasible`` is False when even the smallest α misses the target (``arch`` is then that smallest
    network)."""

    arch: Arch
    width_multiplier: float
    latency_ms: float
    target_ms: float
    feasible: bool
    tried: tuple[tuple[float, float], ...]


def width_grid(arch: Arch, lo: float = 0.10, hi: float = 2.00, step: float = 0.01) -> list[tuple[float, Arch]]:
    """The distinct networks of ``arch`` scaled by α on the grid ``lo, lo + step, …, hi`` (smallest α of each),
    in increasing α, up to the widest an architecture may be (:data:`nas.arch.fields.LIMITS`, ``width_multiplier``
    ≤ 8). Raises ``ValueError`` for an empty grid."""
    n = int(round((hi - lo) / step))
    if lo <= 0 or n < 0:
        raise ValueError(f"width grid {lo:g}…{hi:g} step {step:g}: need 0 < lo ≤ hi and step > 0")
    out: dict[str, tuple[float, Arch]] = {}
    for i in range(n + 1):
        alpha = round(lo + i * step, 6)
        try:
            scaled = arch.replace(width_multiplier=alpha * arch.width_multiplier)
        except ArchError:  # past what an architecture may be (width_multiplier ≤ 8, nas.arch.fields.LIMITS)
            if not out:
                raise ValueError(f"{arch.name}: no valid width on the grid {lo:g}…{hi:g} (×{arch.width_multiplier:g} "
                                 "already): nas.arch.fields.LIMITS") from None
            break
        out.setdefault(" ".join(layer.key for layer in resolve(scaled)), (alpha, scaled))  # the built network
    return list(out.values())


def scale_to_latency(arch: Arch, target_ms: float, latency_fn: Callable[[Arch], float], *, lo: float = 0.10,
                     hi: float = 2.00, step: float = 0.01, confirm: int = 2) -> ScaleResult:
    """The largest-α version of ``arch`` whose ``latency_fn`` (ms) is at most ``target_ms`` (see the module).

    ``latency_fn`` is the chosen latency method, e.g. ``lambda a: evaluator.measure_arch(a)[0]`` for a
    :class:`~nas.search.evaluate.Evaluator` (measured, or predicted from a lookup table that covers the scaled
    layers). ``α`` multiplies the arch's own width multiplier. ``confirm`` extra measurements of the answer and its
    next larger neighbour settle it by their medians (0: trust the bisection's single measurements; a lookup
    table needs none). Raises ``ValueError`` for a target ≤ 0 or ``confirm`` < 0.
    """
    if not target_ms > 0:
        raise ValueError(f"latency target must be a positive number of ms, got {target_ms}")
    if confirm < 0:
        raise ValueError(f"confirm must be ≥ 0, got {confirm}")
    grid = width_grid(arch, lo, hi, step)
    tried: dict[int, list[float]] = {}

    def latency(i: int, n: int = 1) -> float:
        """Median of at least ``n`` measurements of grid network ``i``."""
        runs = tried.setdefault(i, [])
        while len(runs) < n:
            runs.append(float(latency_fn(grid[i][1])))
        return float(statistics.median(runs))

    def fits(i: int, n: int = 1) -> bool:
        return latency(i, n) <= target_ms  # a NaN timing is a miss

    low, high = 0, len(grid) - 1  # invariant: the answer, if any, is in [low, high]
    if not fits(low) and not fits(low, 1 + confirm):  # the smallest network misses, confirmed by its median
        best, feasible = low, False
    else:
        while low < high:
            mid = (low + high + 1) // 2
            if fits(mid):
                low = mid
            else:
                high = mid - 1
        best = _settle(low, len(grid), lambda i: fits(i, 1 + confirm))
        feasible = fits(best, 1 + confirm)  # False only when even the smallest network misses by its median
    alpha, scaled = grid[best]
    named = dataclasses.replace(scaled, name=f"{arch.name}-x{alpha:.2f}")
    return ScaleResult(named, alpha, latency(best), float(target_ms), feasible,
                       tuple((grid[i][0], ms) for i, runs in sorted(tried.items()) for ms in runs))


def _settle(best: int, size: int, fits: Callable[[int], bool]) -> int:
    """The bisection's answer ``best`` moved by the settled (median) verdicts ``fits``: down while the answer
    itself misses the target (never below index 0), then up while the next larger network meets it."""
    while best > 0 and not fits(best):
        best -= 1
    while best + 1 < size and fits(best + 1):
        best += 1
    return best
