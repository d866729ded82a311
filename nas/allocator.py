"""The measuring process's memory allocator: freed memory is kept, so that a network's latency does not depend
on which network ran before it.

glibc's ``malloc`` serves a large block (at least ``M_MMAP_THRESHOLD``: 128 KiB at start, raised as mmapped
blocks are freed) with a fresh ``mmap`` and unmaps it on ``free``, and gives the heap's top back to the kernel
past ``M_TRIM_THRESHOLD``. An eager PyTorch forward pass at batch 1 frees its activations on every call, so with
glibc's defaults each call can fault its activation pages in again (the kernel zeroes each page), and how many
depends on the thresholds the process's history has left. Measured on the 2-vCPU VM this project was built on
(docs/benchmarks.md, "Latency and the allocator"): 2,000–6,000 minor page faults per call for mnasnet_b1,
mobilenet_v2 and mnasnet_a1 at 224 px, latencies 15.8–23.2 ms, and mnasnet_b1 at 16.7 ms before mobilenet_v2
had run once in the process and 11.9 ms after; with both thresholds fixed by ``mallopt(3)``, 0 faults per call
and 12.1–13.0 ms for all three in any order. Fixing a threshold also turns glibc's adjustment off.

Training pays it too: a CPU training step at batch 128 on 28-px Fashion-MNIST faulted 14,000 (tiny_32px) to
39,000 (mobile_32px) pages with the defaults and 235–921 with freed memory kept, at 0.083 → 0.059 and 0.266 →
0.192 CPU seconds per step, so :func:`nas.train.train` sets it as well.

Servers commonly link jemalloc or tcmalloc, which keep freed memory as well; a latency measured with glibc's
defaults is one allocator history's slow path, not the network's cost. Blocks of more than
:data:`MMAP_THRESHOLD` (e.g. activations at large batch sizes) are still mapped per call.
"""
from __future__ import annotations

import ctypes
import platform
import threading

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory"]

#: Blocks up to this size come from the heap (glibc's ceiling for the setting on 64-bit: 32 MiB).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory at the heap's top is given back to the kernel only beyond this.
TRIM_THRESHOLD = 1 << 30
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
_lock = threading.Lock()
_state: list[str] = []  # the description, once set


def keep_freed_memory() -> str:
    """Fix glibc's ``M_MMAP_THRESHOLD`` (:data:`MMAP_THRESHOLD`) and ``M_TRIM_THRESHOLD``
    (:data:`TRIM_THRESHOLD`) for this process, once; later calls do nothing. Returns what is recorded with every
    latency: ``"glibc, freed memory kept (mmap ≥ 32 MiB, trim ≥ 1024 MiB)"``, or ``"<libc> (unchanged)"`` where
    the C library is not glibc or refuses the setting (then nothing changes; e.g. macOS, musl)."""
    with _lock:
        if not _state:
            _state.append(_set())
        return _state[0]


def _set() -> str:
    name = platform.libc_ver()[0] or "unknown libc"
    if name != "glibc":
        return f"{name} (unchanged)"
    try:
        libc = ctypes.CDLL(None)
        ok = (libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
              and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    except (OSError, AttributeError):
        ok = False
    if not ok:
        return "glibc (unchanged: mallopt refused)"
    return f"glibc, freed memory kept (mmap ≥ {MMAP_THRESHOLD >> 20} MiB, trim ≥ {TRIM_THRESHOLD >> 20} MiB)"
