"""Timing blocks of calls of anything that runs one inference: one network alone (:func:`solo_blocks`) or a
candidate and a reference alternated block by block in the same window (:func:`paired_blocks`).

    run = Runner(lambda: model(x))               # + sync=torch.cuda.synchronize on a GPU
    n = calls_per_block(run)                     # calls in one block of about BLOCK_S seconds (≥ 1)
    per_call_s = solo_blocks(run, n, 0.2)        # one entry per block: its time / n

A :class:`Runner` is the one thing a timing backend supplies (a PyTorch module and its input here; an ONNX
Runtime session would do as well): everything above it — repeats, interference, retries, pairing — is
:func:`nas.latency.measure.measure_latency`'s.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable

import numpy as np

__all__ = ["BLOCK_S", "SWITCH_WARMUP", "Runner", "calls_per_block", "paired_blocks", "solo_blocks"]

#: Target length of one timed block, in seconds. Short enough that a candidate and a reference alternated in
#: 25-ms blocks see the same machine (this machine's speed moves by 12–20 % between half-seconds), long enough
#: that the clock's overhead (< 1 µs) is negligible.
BLOCK_S = 0.025
#: Untimed calls at the start of each paired block, after the switch from the other network
#: (:func:`paired_blocks`).
SWITCH_WARMUP = 1


def _no_sync() -> None:
    return None


@dataclasses.dataclass(frozen=True)
class Runner:
    """``call()`` runs one inference (its result is discarded); ``sync()`` waits for work it queued on a device
    (CUDA), and is called once at the end of each block."""

    call: Callable[[], Any]
    sync: Callable[[], None] = _no_sync

    def block(self, n: int, warm: int = 0) -> float:
        """Seconds per call of ``n`` calls in a row, after ``warm`` untimed calls."""
        for _ in range(warm):
            self.call()
        if warm:
            self.sync()
        start = time.perf_counter()
        for _ in range(n):
            self.call()
        self.sync()
        return (time.perf_counter() - start) / n


def calls_per_block(run: Runner, block_s: float = BLOCK_S) -> int:
    """How many calls make one block of about ``block_s`` seconds (1 when a single call is longer)."""
    n = 1
    while True:
        per_call = run.block(n)
        if per_call * n >= block_s / 2 or n >= 1 << 20:
            return max(1, round(block_s / max(per_call, 1e-9)))
        n *= 2


def solo_blocks(run: Runner, n: int, min_run_time: float) -> np.ndarray:
    """Per-call seconds of each block of ``n`` calls, blocks back to back until ``min_run_time`` has passed
    (at least one block)."""
    out, end = [], time.perf_counter() + min_run_time
    while True:
        out.append(run.block(n))
        if time.perf_counter() >= end:
            return np.asarray(out)


def paired_blocks(candidate: Runner, n_candidate: int, reference: Runner, n_reference: int,
                  min_run_time: float) -> tuple[np.ndarray, np.ndarray]:
    """Blocks of the candidate and of the reference alternated (candidate, reference, reference, candidate, …:
    neither always goes first) until the candidate has been timed for ``min_run_time`` seconds; per-call
    seconds of each block, round by round (``candidate[i]`` and ``reference[i]`` were timed next to each other).

    Each block starts with :data:`SWITCH_WARMUP` untimed call(s): the first call after the other network ran
    finds its weights out of cache. Timed cold, mobilenet_v3_small against mnasnet_b1 (224 px, 1 thread, blocks
    of 1–2 calls) read 1.27× its solo ratio and efficientnet_b0 0.84×; with one untimed call, 1.04× and 0.96×
    (docs/benchmarks.md, "Paired timing: the switch between networks")."""
    cand, ref = [], []
    spent = 0.0
    while True:
        if len(cand) % 2 == 0:
            cand.append(candidate.block(n_candidate, SWITCH_WARMUP))
            ref.append(reference.block(n_reference, SWITCH_WARMUP))
        else:
            ref.append(reference.block(n_reference, SWITCH_WARMUP))
            cand.append(candidate.block(n_candidate, SWITCH_WARMUP))
        spent += cand[-1] * n_candidate
        if spent >= min_run_time:
            return np.asarray(cand), np.asarray(ref)
