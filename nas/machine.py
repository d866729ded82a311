"""The one description of the machine a number was taken on, and of what else was running on it.

* :func:`cpu_name` — the CPU model (``/proc/cpuinfo``), or the platform's word for it;
* :func:`describe` — CPU, cores, GPU, torch, Python and intra-op threads, as recorded beside every benchmark,
  cached training and latency table;
* :func:`loadavg` / :func:`fmt_load` — the 1/5/15-minute load averages;
* :class:`OtherCpuLoad` / :func:`other_busy_cores` — CPU cores kept busy by *other* processes: the machine's
  busy time (``/proc/stat``) minus this process's own CPU time, per elapsed time. Unlike the load average this
  does not count the measuring process itself, so it tells interference apart from our own work.

Nothing here imports torch at module level: a CLI that only parses flags stays fast.
"""
from __future__ import annotations

import functools
import os
import platform
import time
from typing import Any

__all__ = ["OtherCpuLoad", "cpu_name", "describe", "fmt_load", "loadavg", "other_busy_cores"]


@functools.lru_cache(maxsize=1)
def cpu_name() -> str:
    """The CPU model name (``model name`` or ``Hardware`` in ``/proc/cpuinfo``), else the platform's."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip().lower() in ("model name", "hardware") and value.strip():
                    return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"


def describe(threads: int | None = None) -> dict[str, Any]:
    """``{cpu, cores, gpu, torch, python, platform, threads}`` of this machine and process.

    ``threads`` is the intra-op thread count to record (default: torch's current one); ``gpu`` is the name
    of CUDA device 0 or ``"none"``.
    """
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"cpu": cpu_name(), "cores": os.cpu_count(), "gpu": gpu, "torch": torch.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "threads": int(threads) if threads is not None else torch.get_num_threads()}


def loadavg() -> tuple[float, float, float] | None:
    """The 1-, 5- and 15-minute load averages, where the OS reports them."""
    try:
        return os.getloadavg()
    except OSError:
        return None


def fmt_load(load: tuple[float, float, float] | None) -> str:
    """``1.00 / 0.50 / 0.25``, or ``n/a``."""
    return "n/a" if load is None else " / ".join(f"{v:.2f}" for v in load)


def _cpu_times() -> tuple[float, float, float] | None:
    """(busy, total) jiffies of the whole machine from ``/proc/stat`` and this process's own CPU jiffies
    (children that have been waited for included)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    v += [0] * (8 - len(v))
    user, nice, system, idle, iowait, irq, softirq, steal = v
    own = os.times()
    return float(user + nice + system + irq + softirq), float(sum(v)), (own.user + own.system) * hz


class OtherCpuLoad:
    """CPU cores kept busy by other processes since the previous :meth:`sample` (or construction).

    ``sample()`` returns the mean number of cores other processes used over that window (a float, 0 on an
    idle machine, up to the number of cores), or ``None`` where ``/proc/stat`` is unavailable.
    """

    def __init__(self) -> None:
        self._last = _cpu_times()

    def sample(self) -> float | None:
        now, last = _cpu_times(), self._last
        self._last = now
        if now is None or last is None:
            return None
        busy, total, own = (a - b for a, b in zip(now, last))
        if total <= 0:
            return None
        return max(0.0, (busy - own) / total * (os.cpu_count() or 1))


def other_busy_cores(seconds: float = 1.0) -> float | None:
    """CPU cores other processes keep busy, averaged over ``seconds`` of waiting (``None``: unknown)."""
    monitor = OtherCpuLoad()
    if _cpu_times() is None:
        return None
    time.sleep(seconds)
    return monitor.sample()
