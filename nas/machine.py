"""The one description of the machine a number was taken on, and of what else was running on it.

* :func:`cpu_name` — the CPU model (``/proc/cpuinfo``), or the platform's word for it;
* :func:`describe` — CPU, cores, GPU, torch, Python and intra-op threads, as recorded beside every benchmark,
  cached training and latency table;
* :func:`available_memory` — bytes of memory a new allocation can get (``MemAvailable``);
* :func:`loadavg` / :func:`fmt_load` — the 1/5/15-minute load averages;
* :class:`OtherCpuLoad` / :func:`other_busy_cores` — CPU cores kept busy by *other* processes: the machine's
  busy time (``/proc/stat``) minus this process's own CPU time, per elapsed time. Unlike the load average this
  does not count the measuring process itself, so it tells interference apart from our own work.
  :class:`CpuUse` splits it: ``others`` (processes that compete with this one for a core) and ``niced``
  (the share of processes at ``nice`` > 0). Niced processes compete too where the kernel groups processes by
  session (``sched_autogroup``, on by default in many distributions: ``nice`` then only orders processes
  within one session — measured here: two niced trainers in another session took 0.4 of 2 cores while this
  process spun, exactly a fair share of 5 sessions); without autogroup they get ~1.5 % of a core this
  process wants and are left out of ``others``;
* :class:`BusyLoop` — a real busy-loop subprocess on one core, for load scenarios and tests.

Nothing here imports torch at module level: a CLI that only parses flags stays fast.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import platform
import subprocess
import sys
import time
from typing import Any

__all__ = ["BusyLoop", "CpuUse", "OtherCpuLoad", "available_memory", "cpu_name", "describe", "fmt_load", "loadavg",
           "niced_compete", "other_busy_cores"]


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


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation without swapping (``MemAvailable`` in ``/proc/meminfo``,
    the kernel's estimate), or ``None`` where the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key == "MemAvailable" and value.split()[1:2] == ["kB"]:
                    return int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def loadavg() -> tuple[float, float, float] | None:
    """The 1-, 5- and 15-minute load averages, where the OS reports them."""
    try:
        return os.getloadavg()
    except OSError:
        return None


def fmt_load(load: tuple[float, float, float] | None) -> str:
    """``1.00 / 0.50 / 0.25``, or ``n/a``."""
    return "n/a" if load is None else " / ".join(f"{v:.2f}" for v in load)


@dataclasses.dataclass(frozen=True)
class _Times:
    """Cumulative jiffies: the machine's busy time at normal priority and at ``nice`` > 0, steal, total, and
    this process's own CPU time (children waited for included)."""

    normal: float
    niced: float
    steal: float
    total: float
    own: float

    def __sub__(self, other: "_Times") -> "_Times":
        return _Times(*(a - b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))


def _cpu_times() -> _Times | None:
    """The machine's CPU times from ``/proc/stat`` and this process's own, or ``None`` where unavailable."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    v += [0] * (8 - len(v))
    user, nice, system, idle, iowait, irq, softirq, steal = v
    own = os.times()
    return _Times(normal=float(user + system + irq + softirq), niced=float(nice), steal=float(steal),
                  total=float(sum(v)), own=(own.user + own.system) * hz)


@dataclasses.dataclass(frozen=True)
class CpuUse:
    """Mean CPU cores in use over one window, by whom.

    ``others``: other processes that compete with this one for a core — normal-priority ones, and niced ones too
    where they compete (:func:`niced_compete`); ``niced``: the share of processes at ``nice`` > 0 (included in
    ``others`` or not, as above); ``own``: this process; ``steal``: time a hypervisor gave to other virtual
    machines; ``cores``: logical CPUs.
    """

    others: float
    niced: float
    own: float
    steal: float
    cores: int
    seconds: float

    @property
    def idle_cores(self) -> float:
        """Cores neither this process nor a competing one used: ``cores − others − own`` (≥ 0)."""
        return max(0.0, self.cores - self.others - self.own)


def _use(d: _Times, seconds: float) -> CpuUse | None:
    if d.total <= 0:
        return None
    cores = os.cpu_count() or 1
    per_core = cores / d.total
    i_am_niced = _own_nice() > 0  # then our own time is in the nice column
    busy_others = d.normal + d.niced - d.own if i_am_niced or niced_compete() else d.normal - d.own
    niced = max(0.0, d.niced - d.own) if i_am_niced else d.niced
    return CpuUse(others=max(0.0, busy_others * per_core), niced=niced * per_core, own=d.own * per_core,
                  steal=d.steal * per_core, cores=cores, seconds=seconds)


@functools.lru_cache(maxsize=1)
def niced_compete() -> bool:
    """Whether niced processes compete with this one for a core: the kernel's ``sched_autogroup`` is on (then
    ``nice`` only orders processes within one session), or unknown."""
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled", encoding="ascii") as f:
            return f.read().strip() != "0"
    except OSError:
        return True


def _own_nice() -> int:
    try:
        return os.getpriority(os.PRIO_PROCESS, 0)
    except (OSError, AttributeError):
        return 0


class OtherCpuLoad:
    """CPU cores kept busy by other processes since the previous :meth:`sample` (or construction).

    ``sample()`` returns the mean number of cores other *competing* processes used over that window
    (:attr:`CpuUse.others`: a float, 0 on an idle machine, up to the number of cores), or ``None`` where
    ``/proc/stat`` is unavailable; :meth:`sample_use` returns the whole :class:`CpuUse`.
    """

    def __init__(self) -> None:
        self._last, self._t = _cpu_times(), time.monotonic()

    def sample_use(self) -> CpuUse | None:
        now, last, t = _cpu_times(), self._last, time.monotonic()
        seconds, self._last, self._t = t - self._t, now, t
        if now is None or last is None:
            return None
        return _use(now - last, seconds)

    def sample(self) -> float | None:
        use = self.sample_use()
        return None if use is None else use.others


def other_busy_cores(seconds: float = 1.0) -> float | None:
    """CPU cores other competing processes keep busy, averaged over ``seconds`` of waiting (``None``: unknown)."""
    monitor = OtherCpuLoad()
    if _cpu_times() is None:
        return None
    time.sleep(seconds)
    return monitor.sample()


_BUSY_CODE = """import os, sys
core = int(sys.argv[1])
if core >= 0 and hasattr(os, "sched_setaffinity"):
    try:
        os.sched_setaffinity(0, {core})
    except OSError:
        sys.exit(1)
os.nice(int(sys.argv[2]))
print("ready", flush=True)
while True:
    pass
"""


class BusyLoop:
    """A plain Python busy loop in its own process, pinned to one core: the load of a browser tab or a second
    job, reproducible. A context manager; :meth:`stop` ends the process (also on exceptions).

    ``core``: the CPU to pin it to (default: the last one this process may use; ``-1``: not pinned);
    ``nice``: its niceness (0: competes with a normal-priority process).
    """

    def __init__(self, core: int | None = None, nice: int = 0):
        if core is None:
            allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [-1]
            core = allowed[-1]
        self.core, self.nice = int(core), int(nice)
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> "BusyLoop":
        """Start the process and return once it spins (it prints a line after pinning itself)."""
        if self.process is None:
            self.process = subprocess.Popen([sys.executable, "-c", _BUSY_CODE, str(self.core), str(self.nice)],
                                            stdout=subprocess.PIPE, text=True)
            assert self.process.stdout is not None
            if self.process.stdout.readline().strip() != "ready":
                self.stop()
                raise RuntimeError(f"the busy-loop process could not start on core {self.core}")
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """End the process (kill, then wait for it)."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None

    def __enter__(self) -> "BusyLoop":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
