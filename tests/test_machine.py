"""nas.machine: who uses the CPU (accounting on injected /proc/stat numbers, and real processes) and the
busy-loop process of the load scenarios."""
from __future__ import annotations

import os
import time

import pytest

import nas.machine as machine
from nas.machine import BusyLoop, OtherCpuLoad, other_busy_cores


def _fake_times(monkeypatch: pytest.MonkeyPatch, per_tick: machine._Times) -> None:
    """/proc/stat and os.times advance by ``per_tick`` on every read (100 jiffies = one tick of wall time)."""
    ticks = iter(range(10**6))
    monkeypatch.setattr(machine, "_cpu_times", lambda: machine._Times(
        *(v * next_t for v, next_t in zip((per_tick.normal, per_tick.niced, per_tick.steal, per_tick.total,
                                          per_tick.own), [next(ticks)] * 5))))


def test_others_exclude_this_process_and_niced_ones_only_without_autogroup(monkeypatch: pytest.MonkeyPatch) -> None:
    cores = os.cpu_count() or 1
    jiffies = 100.0 * cores  # one tick of wall time over all cores
    # normal-priority busy: 1.5 cores, of which this process 1.0; niced: 0.25 cores; steal 0.1
    per_tick = machine._Times(normal=1.5 * 100, niced=0.25 * 100, steal=0.1 * 100, total=jiffies, own=1.0 * 100)
    _fake_times(monkeypatch, per_tick)
    monkeypatch.setattr(machine, "_own_nice", lambda: 0)
    monkeypatch.setattr(machine, "niced_compete", lambda: False)
    use = OtherCpuLoad().sample_use()
    assert use is not None and use.cores == cores
    assert use.others == pytest.approx(0.5) and use.niced == pytest.approx(0.25) and use.own == pytest.approx(1.0)
    assert use.steal == pytest.approx(0.1) and use.idle_cores == pytest.approx(max(0.0, cores - 1.5))
    monkeypatch.setattr(machine, "niced_compete", lambda: True)  # autogroup: niced sessions compete too
    assert OtherCpuLoad().sample() == pytest.approx(0.75)
    monkeypatch.setattr(machine, "niced_compete", lambda: False)
    monkeypatch.setattr(machine, "_own_nice", lambda: 10)  # niced ourselves: our time is in the nice column
    per_tick = machine._Times(normal=0.5 * 100, niced=1.25 * 100, steal=0.0, total=jiffies, own=1.0 * 100)
    _fake_times(monkeypatch, per_tick)
    use = OtherCpuLoad().sample_use()
    assert use.others == pytest.approx(0.75) and use.niced == pytest.approx(0.25)


def test_unknown_without_proc_stat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "_cpu_times", lambda: None)
    assert OtherCpuLoad().sample() is None and other_busy_cores(0.01) is None


def test_own_cpu_time_is_not_counted_as_others() -> None:
    if machine._cpu_times() is None:
        pytest.skip("no /proc/stat")
    monitor = OtherCpuLoad()
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:  # this process keeps one core busy
        pass
    use = monitor.sample_use()
    assert use is not None and use.own >= 0.2  # counted as ours (a busy machine may give us less than a core) …
    assert 0 <= use.others <= use.cores - use.own + 0.1  # … and so not as others'


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs a second core for the busy loop")
def test_busy_loop_is_a_real_process_that_others_see_and_that_stops() -> None:
    loop = BusyLoop()
    assert loop.core == max(os.sched_getaffinity(0))
    with loop:
        pid = loop.process.pid
        assert loop.running and os.sched_getaffinity(pid) == {loop.core}
        busy = other_busy_cores(0.5)
    assert not loop.running and loop.process is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, and waited for
    if busy is not None:
        assert busy >= 0.5


def test_niced_busy_loop_counts_as_niced() -> None:
    if machine._cpu_times() is None or machine._own_nice() > 0:
        pytest.skip("no /proc/stat, or this process is niced itself")
    with BusyLoop(nice=19):
        monitor = OtherCpuLoad()
        time.sleep(0.5)  # this process idle: the niced loop gets a core
        use = monitor.sample_use()
    assert use is not None and use.niced >= 0.5


def test_busy_loop_on_a_core_that_does_not_exist_is_one_error() -> None:
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity on this platform")
    loop = BusyLoop(core=4096)
    with pytest.raises(RuntimeError, match="core 4096"):
        loop.start()
    assert loop.process is None and not loop.running


def test_available_memory_is_the_kernels_estimate_below_the_physical_total() -> None:
    free = machine.available_memory()
    assert free is not None and 0 < free <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
