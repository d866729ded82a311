"""Paired timing: the candidate and a fixed reference network alternated block by block in the same window, the
candidate's latency reported as ``median(candidate block / reference block) × the reference's quiet latency``.

Whatever slows this machine for a while — a second busy core, a virtual CPU whose speed moves by 12–20 %
between half-seconds, drift over minutes — slows both networks of a pair alike, so their ratio holds still where
each time alone does not. Measured on the 2-vCPU machine (1 thread, 224 px, reference mnasnet_b1, 25-ms blocks):
the CV of independent ~1-s measurements of 7 zoo nets fell from a median of 14.5–16 % alone to 1.4–2.8 %
paired; with a busy loop on the other core, solo medians rose ×1.3–2.7 and paired ones −3…+22 %.

:class:`Reference` is the fixed network and its quiet latency (measure it once with
:func:`nas.latency.measure.measure_reference`, on a quiet machine, or give a value you trust);
:func:`ratio_stats` turns paired blocks into the numbers of a :class:`~nas.latency.measure.LatencyResult`.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import numpy as np

__all__ = ["Reference", "ratio_stats", "solo_stats"]


@dataclasses.dataclass
class Reference:
    """A fixed network timed beside every candidate, and its quiet latency in ms."""

    model: Any
    """An ``nn.Module``, moved to the measuring device like a candidate."""
    resolution: int
    quiet_ms: float
    _: dataclasses.KW_ONLY  # the settings below are keyword-only
    name: str = "reference"
    in_channels: int = 3
    batch_size: int = 1
    """``resolution``, ``in_channels`` and ``batch_size``: its input."""
    threads: int | None = None
    """The intra-op threads ``quiet_ms`` was measured with (``None``: not recorded; otherwise a candidate measured
    with other threads is refused)."""
    quiet: dict[str, Any] | None = None
    """The :meth:`~nas.latency.measure.LatencyResult.to_dict` of the measurement ``quiet_ms`` comes from, if any."""

    def __post_init__(self) -> None:
        if not (isinstance(self.quiet_ms, (int, float)) and math.isfinite(self.quiet_ms) and self.quiet_ms > 0):
            raise ValueError(f"reference {self.name!r}: quiet_ms must be a positive number of ms, got {self.quiet_ms!r}")

    @property
    def noisy(self) -> bool:
        """Whether the measurement of :attr:`quiet_ms` was itself flagged noisy (then every paired latency is
        scaled by a number taken under load)."""
        return bool(self.quiet and self.quiet.get("noisy"))

    def describe(self) -> dict[str, Any]:
        """``{name, resolution, quiet_ms, threads, noisy}`` for run records."""
        return {"name": self.name, "resolution": self.resolution, "quiet_ms": self.quiet_ms, "threads": self.threads,
                "noisy": self.noisy}

    def to_dict(self) -> dict[str, Any]:
        """Everything but the module, JSON-safe: keep a quiet measurement to reuse on a busier day."""
        return {k: getattr(self, k) for k in ("name", "resolution", "quiet_ms", "in_channels", "batch_size",
                                              "threads", "quiet")}

    @classmethod
    def from_dict(cls, data: dict[str, Any], model: Any) -> "Reference":
        """A reference from :meth:`to_dict`'s record and its module (rebuilt by the caller, e.g. from the name)."""
        known = ("name", "resolution", "quiet_ms", "in_channels", "batch_size", "threads", "quiet")
        return cls(model=model, **{k: data[k] for k in known if k in data})


@dataclasses.dataclass(frozen=True)
class BlockStats:
    """What one attempt's blocks say: ``median_ms``/``iqr_ms`` over all blocks pooled, ``samples_ms`` one per
    repeat, their ``cv``, and (paired) the reference's median block now and the median ratio."""

    median_ms: float
    iqr_ms: float
    samples_ms: list[float]
    cv: float
    reference_now_ms: float | None = None
    ratio: float | None = None


def _cv(values: Sequence[float]) -> float:
    a = np.asarray(values, dtype=np.float64)
    return float(a.std(ddof=1) / a.mean()) if len(a) >= 2 and a.mean() > 0 else math.nan


def solo_stats(repeats: Sequence[np.ndarray]) -> BlockStats:
    """Statistics of solo blocks (per-call seconds, one array per repeat), in ms."""
    pooled = np.concatenate(repeats) * 1e3
    p25, p50, p75 = np.percentile(pooled, [25, 50, 75])
    samples = [float(np.median(r) * 1e3) for r in repeats]
    return BlockStats(float(p50), float(p75 - p25), samples, _cv(samples))


def ratio_stats(repeats: Sequence[tuple[np.ndarray, np.ndarray]], quiet_ms: float) -> BlockStats:
    """Statistics of paired blocks (``(candidate, reference)`` per-call seconds per repeat): each round's ratio
    candidate / reference, pooled and per repeat, times ``quiet_ms``."""
    ratios = [c / r for c, r in repeats]
    pooled = np.concatenate(ratios)
    p25, p50, p75 = np.percentile(pooled, [25, 50, 75])
    samples = [float(np.median(r) * quiet_ms) for r in ratios]
    ref_now = float(np.median(np.concatenate([r for _, r in repeats])) * 1e3)
    return BlockStats(float(p50 * quiet_ms), float((p75 - p25) * quiet_ms), samples, _cv(samples),
                      reference_now_ms=ref_now, ratio=float(p50))
