"""Several networks trained at once by one process (:func:`run_lanes`): ``lanes`` threads take the next
untrained job of a shared list, each on its own CUDA stream, so that the small kernels of different networks
overlap on one GPU.

Why threads and streams inside a process, and processes beside them: a 5k–250k-parameter net at 28 px keeps
a GPU busy for microseconds per kernel, so one training is bound by launching kernels, not by the GPU. CUDA
graphs (:class:`nas.train.accel.GraphedStep`) cut the launches to one per step; what is left is the GPU
running one small graph at a time. Kernels of different *processes* only time-slice on a GPU (without MPS),
kernels on different *streams* of one process run concurrently — hence lanes. Python's GIL is released
while a graph replays and while a thread waits for its stream, so a few lanes share one process well; for
eager training (no graphs) the Python work per kernel dominates, and several processes (each with a few
lanes, sharing the cache through claims) use more CPU cores. ``scripts/gpu_groundtruth.sh`` runs both.

Each network is initialised and its run seeded under :data:`nas.train.batches.RNG_LOCK`, so its initial
weights depend on its seed only, and so does its data order; but dropout draws from torch's one generator
per device, so with several lanes a training's dropout masks depend on timing (on the GPU like its other
non-determinism; on the CPU, where lanes are plain threads without streams and gain nothing over
processes, use one lane for bit-reproducible results).
"""
from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any, Sequence

from nas.validation.validator import DeadlineReached, Job, Validator

__all__ = ["run_lanes"]


class _Queue:
    """The shared job list: the next job no lane of this process has taken, that is not cached and that no
    other process has claimed."""

    def __init__(self, v: Validator, jobs: Sequence[Job], log: bool) -> None:
        self.v, self.jobs, self.log = v, list(jobs), log
        self.taken: set[str] = set()
        self.records: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def next(self) -> Job | None:
        with self.lock:
            self.v.train_cache.reload()
            while self.jobs and not self.stop.is_set():
                job = self.jobs.pop(0)
                key = self.v.key(job.arch, job.epochs, job.seed)
                cached = self.v.lookup(job.arch, job.epochs, job.seed)
                if cached is not None:
                    self.records.append(cached)
                elif key not in self.taken:
                    if self.v.claim(job):
                        self.taken.add(key)
                        return job
                    self._say(f"{job.arch.name} {job.epochs} ep seed {job.seed}: another worker has it")
            return None

    def done(self, job: Job, record: dict[str, Any], label: str) -> None:
        with self.lock:
            self.records.append(record)
            if record.get("status") == "ok":
                self._say(f"{label}: {record['arch_name']} {job.epochs} ep seed {job.seed}: top-1 "
                          f"{record['test_top1']:.4f} ({record['seconds']:.0f} s)")
            else:
                self._say(f"{label}: {record['arch_name']} {job.epochs} ep seed {job.seed} failed: {record.get('error')}")

    def _say(self, text: str) -> None:
        if self.log:
            print(text, file=sys.stderr, flush=True)


def _stream(device: str) -> Any:
    """A fresh CUDA stream as the thread's current stream (on CUDA), else nothing."""
    import torch

    from nas.device import resolve_device

    dev = resolve_device(device)
    return torch.cuda.stream(torch.cuda.Stream(dev)) if dev.type == "cuda" else contextlib.nullcontext()


def _lane(q: _Queue, label: str, errors: list[BaseException]) -> None:
    v = q.v

    def check_stop(epoch: int, loss: float) -> None:
        if q.stop.is_set():
            raise DeadlineReached(f"stopped after epoch {epoch} (checkpoint saved)")

    try:
        with _stream(v.setup.device):
            while (job := q.next()) is not None:
                try:
                    record = v.train_one(job, on_epoch_end=check_stop)
                finally:
                    v.release(job)
                q.done(job, record, label)
    except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which re-raises the first
        q.stop.set()
        errors.append(exc)


def _place_data(v: Validator) -> None:
    """Load the data and copy it to the training device once, before the lanes start (they reuse the copy)."""
    import torch

    from nas.device import resolve_device
    from nas.train.accel import place_data

    dev = resolve_device(v.setup.device)
    place_data(v.data(), dev)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def run_lanes(v: Validator, jobs: Sequence[Job], lanes: int, label: str = "train", *, log: bool = True,
              ) -> list[dict[str, Any]]:
    """Train ``jobs`` (in their order; cached ones are skipped, ones another process claimed are left to it)
    with ``lanes`` threads of this process, each on its own CUDA stream when ``v.setup.device`` is CUDA.
    Returns the records of the jobs done or found cached here. With ``lanes`` 1 this is
    :meth:`Validator.run_jobs` (one progress bar). The first error of a lane (:class:`DeadlineReached`
    included) stops the others at their next epoch end (checkpoints saved) and is raised; so is Ctrl-C."""
    if lanes <= 1:
        return v.run_jobs(jobs, label)
    from nas.train.threads import torch_threads

    _place_data(v)
    q = _Queue(v, jobs, log)
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_lane, args=(q, label, errors), name=f"lane-{i}", daemon=True)
               for i in range(lanes)]
    # torch's intra-op thread count is process-wide: set it once for all lanes, so that no lane's training
    # restores another count (and another reduction order) under a lane still running
    with torch_threads(v.setup.threads):
        for t in threads:
            t.start()
        try:
            for t in threads:
                t.join()
        except KeyboardInterrupt:
            q.stop.set()  # lanes stop at their next epoch end, checkpoints saved
            for t in threads:
                t.join()
            raise
    if errors:
        raise errors[0]
    return q.records
