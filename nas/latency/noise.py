"""When is a latency measurement not to be trusted? The thresholds, the verdict, the safe thread count and the
warning for an oversubscribing one — measured, not guessed (numbers from this project's 2-vCPU machine,
docs/benchmarks.md and the notes beside each constant).

    policy = NoisePolicy()                        # the defaults below
    policy.reasons(others_cpu=1.1, cv=0.02, paired=False)   # -> ['other processes used 1.10 CPU cores (> 0.25)']
    check_threads(2, cores=2, others_cpu=0.7)    # -> one-line message: 2 threads but 1.3 idle cores

A measurement is *noisy* when other processes competed for the CPU while it ran (``others_cpu`` above
:attr:`NoisePolicy.others_max` solo; paired, above the cores the timing leaves free plus
:attr:`NoisePolicy.paired_slack`) or when its repeats disagree (CV above
:attr:`NoisePolicy.cv_max`). :func:`nas.latency.measure.measure_latency` then waits and measures again, at most
:attr:`NoisePolicy.retries` times, and records every attempt.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

__all__ = ["CV_MAX", "DEFAULT_THREADS", "OTHERS_MAX", "OVERSUBSCRIBE_SLACK", "PAIRED_SLACK", "RETRIES", "RETRY_WAIT_S",
           "NoisePolicy", "OversubscribedThreadsWarning", "attempt_record", "check_threads"]

#: Intra-op threads when the caller names none: one. More threads than idle cores make every parallel region
#: wait for a thread that is not running: mobilenet_v3_small at 2 threads on the 2-vCPU machine with other work
#: on it took 37–86 ms against 10.2–10.7 ms at 1 thread in the same minutes (×4–8; the issue measured ×5–16).
DEFAULT_THREADS = 1
#: Solo timing is noisy when competing processes used more than the cores the timing leaves them plus this:
#: ``others_cpu > cores − threads + OTHERS_MAX``. Measured on the 2-vCPU machine (docs/benchmarks.md, "Latency",
#: part e, quiet apart from the benchmark's own busy loop pinned to the other core): the 8 zoo nets at 1 thread
#: came out 0.98–1.04× their quiet medians — a busy core the timing does not need does not disturb it. Under
#: heavier load (more runnable threads than cores: two trainers and a test suite, load average 7–8) solo medians
#: rose +12 % to ×2.7, so only the time-slicing of the timing itself is the danger. A quarter core of slack sits
#: well above /proc/stat's resolution (±0.02 over a 1-s window); quiet runs see 0.01–0.05.
OTHERS_MAX = 0.25
#: Noisy when the coefficient of variation of the repeats (solo: each repeat's median; paired: each repeat's
#: ratio) exceeds this. Quiet solo timings on the 2-vCPU machine had repeat CVs of 0.6–18 % (half over 4 %),
#: because the virtual CPU's own speed moves by 12–20 % between half-seconds; paired ratios under load 1–10 %.
#: Above 10 % a median can be off by more than ±10 %.
CV_MAX = 0.10
#: Paired timing is noisy only when competing processes want more than the cores the timing leaves them plus
#: this: ``others_cpu > cores − threads + PAIRED_SLACK``. Then the timing itself is time-sliced and the two
#: networks of a pair no longer see the same machine: at 1.5–1.7 other cores on 2 (1 thread) paired
#: estimates stayed within −3…+22 % of quiet, at a load average of 8 one came out ×1.39.
PAIRED_SLACK = 0.5
#: Extra measurements after a noisy one, and the pause before each (a short burst of other work passes).
RETRIES, RETRY_WAIT_S = 2, 1.0
#: :func:`check_threads` warns when ``threads`` exceeds the idle cores by more than this (background noise
#: of an idle machine is 0.01–0.05 cores).
OVERSUBSCRIBE_SLACK = 0.25


class OversubscribedThreadsWarning(UserWarning):
    """An explicit intra-op thread count that exceeded the idle cores while measuring; the message is one line
    (a CLI prints it as ``prog: warning: …``)."""


@dataclasses.dataclass(frozen=True)
class NoisePolicy:
    """Thresholds and the retry budget of one measurement (defaults: the module constants)."""

    others_max: float = OTHERS_MAX
    cv_max: float = CV_MAX
    retries: int = RETRIES
    wait_s: float = RETRY_WAIT_S
    paired_slack: float = PAIRED_SLACK

    def __post_init__(self) -> None:
        for name in ("others_max", "cv_max", "wait_s", "paired_slack"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"retries must be an integer >= 0, got {self.retries!r}")

    def others_limit(self, *, paired: bool, cores: int, threads: int) -> float:
        """Most competing cores an attempt tolerates: the cores the timing leaves free, plus :attr:`others_max`
        solo or :attr:`paired_slack` paired (the two networks of a pair see the same interference, so only
        heavier time-slicing of the timing itself breaks the pairing)."""
        return max(0.0, cores - threads) + (self.paired_slack if paired else self.others_max)

    def reasons(self, *, others_cpu: float | None, cv: float, paired: bool, cores: int = 1,
                threads: int = 1) -> list[str]:
        """Why one attempt is noisy (empty: it is not); ``others_cpu`` ``None`` (unknown) never flags."""
        out = []
        limit = self.others_limit(paired=paired, cores=cores, threads=threads)
        if others_cpu is not None and others_cpu > limit:
            out.append(f"other processes used {others_cpu:.2f} CPU cores (> {limit:g})")
        if math.isfinite(cv) and cv > self.cv_max:
            out.append(f"repeats disagree: CV {cv * 100:.1f} % (> {self.cv_max * 100:g} %)")
        return out

    def score(self, *, others_cpu: float | None, cv: float, paired: bool, cores: int = 1, threads: int = 1) -> float:
        """How far past its thresholds an attempt is (≤ 1: within them); the least noisy attempt is reported."""
        parts = [cv / self.cv_max if self.cv_max > 0 and math.isfinite(cv) else 0.0]
        limit = self.others_limit(paired=paired, cores=cores, threads=threads)
        if others_cpu is not None and limit > 0:
            parts.append(others_cpu / limit)
        return max(parts)


def check_threads(threads: int, *, cores: int, others_cpu: float | None) -> str | None:
    """A one-line warning when ``threads`` intra-op threads exceed the cores that other competing processes
    left idle (``cores − others_cpu``) by more than :data:`OVERSUBSCRIBE_SLACK`; ``None`` when they fit, when
    the load is unknown, or for one thread (the fewest there can be)."""
    if threads <= 1 or others_cpu is None:
        return None
    idle = max(0.0, cores - others_cpu)
    if threads <= idle + OVERSUBSCRIBE_SLACK:
        return None
    fits = max(1, math.floor(idle + OVERSUBSCRIBE_SLACK))
    return (f"threads={threads} oversubscribes this machine: other processes kept {others_cpu:.2f} of {cores} "
            f"CPU cores busy, leaving {idle:.2f} idle; every parallel region waits for a thread that is not "
            f"running, so the latency is inflated (use {fits} thread{'s' if fits > 1 else ''}, or measure on a "
            f"quiet machine)")


def attempt_record(*, median_ms: float, cv: float, others: Any, reasons: list[str], waited_s: float,
                   reference_now_ms: float | None = None) -> dict[str, Any]:
    """One attempt as stored in :attr:`nas.latency.measure.LatencyResult.attempts` (JSON-safe)."""
    rec: dict[str, Any] = {"median_ms": float(median_ms), "cv": None if not math.isfinite(cv) else float(cv),
                           "others_cpu": None if others is None else round(float(others.others), 3),
                           "others_niced_cpu": None if others is None else round(float(others.niced), 3),
                           "noisy": bool(reasons), "reasons": list(reasons), "waited_s": float(waited_s)}
    if reference_now_ms is not None:
        rec["reference_now_ms"] = float(reference_now_ms)
    return rec
