"""The :class:`Validator` of :mod:`nas.validation`: cached, resumable, claimable training of the archs of one
space under one :class:`~nas.validation.setup.Setup`, and their proxy values
(:class:`~nas.validation.proxy_scores.ProxyScores`); its :class:`Job` and :class:`DeadlineReached`."""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from nas.arch.key import arch_key
from nas.arch.spec import Arch
from nas.errors import one_line
from nas.validation.cache import PROXY_CACHE_NAME, JsonlCache, timestamp, train_key, train_record_key
from nas.validation.claims import claim, release
from nas.validation.progress import JobProgress
from nas.validation.proxy_scores import ProxyScores
from nas.validation.sampling import sample_archs
from nas.validation.setup import Setup

__all__ = ["DeadlineReached", "Job", "Validator"]


class DeadlineReached(RuntimeError):
    """Raised between epochs/archs once the time budget of a session is used up (state is saved)."""


@dataclass
class Job:
    """One training: ``arch`` for ``epochs`` epochs with training seed ``seed``."""

    arch: Arch
    epochs: int
    seed: int


class Validator:
    """Cached training and proxy scoring of the archs of one space under one :class:`Setup`.

    ``cache``: the training JSONL (required; several processes may share it); ``proxy_cache`` defaults to
    ``proxy_cache.jsonl`` beside it and ``ckpt_dir`` to ``ckpt/`` beside it. ``proxies``, ``proxy_batch``
    and ``proxy_input`` choose the proxies and their batch (:class:`ProxyScores`). ``deadline`` (a
    ``time.time()`` value): no training starts after it, and a running one stops at its next epoch end
    (checkpoint saved) with :class:`DeadlineReached`.
    """

    def __init__(self, space: Any, setup: Setup, *, cache: str | Path, seed: int = 0,
                 proxy_cache: str | Path | None = None, ckpt_dir: str | Path | None = None,
                 proxies: Sequence[str] | None = None, proxy_batch: int = 64, proxy_input: str = "data",
                 progress: bool = True, deadline: float | None = None) -> None:
        self.space, self.setup, self.seed = space, setup, seed
        cache = Path(cache)
        self.train_cache = JsonlCache(cache, train_record_key)
        self.ckpt_dir = Path(ckpt_dir) if ckpt_dir else cache.parent / "ckpt"
        self.data_id = setup.data_id()
        self.recipe = setup.recipe()
        self.scores = ProxyScores(Path(proxy_cache) if proxy_cache else cache.with_name(PROXY_CACHE_NAME),
                                  proxies, batch_size=proxy_batch, input_kind=proxy_input, seed=seed,
                                  data_id=self.data_id)
        self.progress = progress
        self.deadline = deadline
        self._data: Any = None
        self._archs: list[Arch] = []
        self._lock = threading.RLock()  # loading the data once
        self.trainings_run = 0  # trainings actually executed (not cached) by this object

    # -- archs, data and models -------------------------------------------------------------------

    def archs(self, n: int) -> list[Arch]:
        """The first ``n`` archs of the deterministic list (:func:`sample_archs` with this seed)."""
        if len(self._archs) < n:
            self._archs = sample_archs(self.space, n, self.seed)
        return self._archs[:n]

    def data(self) -> Any:
        """The setup's dataset (:meth:`Setup.load_data`), loaded once."""
        with self._lock:
            if self._data is None:
                self._data = self.setup.load_data()
        return self._data

    def build(self, arch: Arch, seed: int, *, for_training: bool = False) -> Any:
        """The arch's model for this dataset, initialised from ``seed`` (channels-last for training if
        ``setup.channels_last``: the same network, a faster memory layout on CPU)."""
        import torch

        from nas.model.builder import build_model
        from nas.train.batches import seeded

        data = self.data()
        with seeded(seed):  # no other thread reseeds torch's RNG while this model is initialised
            model = build_model(arch, num_classes=data.num_classes, in_channels=data.in_channels)
        if for_training and self.setup.channels_last:
            model = model.to(memory_format=torch.channels_last)
        return model

    # -- the training cache -----------------------------------------------------------------------

    def key(self, arch: Arch, epochs: int, seed: int) -> str:
        """The training-cache key of ``arch`` at ``epochs`` with training seed ``seed``."""
        return train_key(arch_key(arch), self.data_id, self.recipe, epochs, seed)

    def lookup(self, arch: Arch, epochs: int, seed: int) -> dict[str, Any] | None:
        """The cached record of that training (``status`` "ok" or "failed"), or None."""
        return self.train_cache.get(self.key(arch, epochs, seed))

    def accuracy(self, arch: Arch, epochs: int, seed: int) -> float | None:
        """Test top-1 (fraction) of that training if it finished and did not fail, else None."""
        r = self.lookup(arch, epochs, seed)
        return r.get("test_top1") if r and r.get("status") == "ok" else None

    def checkpoint_path(self, arch: Arch, epochs: int, seed: int) -> Path:
        digest = hashlib.sha1(self.key(arch, epochs, seed).encode()).hexdigest()[:16]
        return self.ckpt_dir / f"{digest}.pt"

    def claim_path(self, arch: Arch, epochs: int, seed: int) -> Path:
        return self.checkpoint_path(arch, epochs, seed).with_suffix(".claim")

    def claim(self, job: Job) -> bool:
        """Take ``job`` for this process (:func:`nas.validation.claims.claim`): a job claimed by a live
        process elsewhere is skipped, a claim left by a dead process on this host is taken over (its
        checkpoint, if any, is resumed). Returns False if another live worker holds it."""
        return claim(self.claim_path(job.arch, job.epochs, job.seed))

    def release(self, job: Job) -> None:
        release(self.claim_path(job.arch, job.epochs, job.seed))

    def train_one(self, job: Job, on_epoch_end: Callable[[int, float], None] | None = None) -> dict[str, Any]:
        """Train ``job`` unless cached; append its record to the cache; return the record.

        A training whose loss diverges is recorded with ``status: "failed"`` (it would diverge again)."""
        cached = self.lookup(job.arch, job.epochs, job.seed)
        if cached is not None:
            return cached
        if self.deadline is not None and time.time() >= self.deadline:
            raise DeadlineReached("time budget used up before the next training")
        from nas.train import train

        config = self.setup.train_config(job.epochs, job.seed)
        model = self.build(job.arch, job.seed, for_training=True)
        ckpt = self.checkpoint_path(job.arch, job.epochs, job.seed)

        def epoch_end(epoch: int, loss: float) -> None:
            if on_epoch_end is not None:
                on_epoch_end(epoch, loss)
            if self.deadline is not None and time.time() >= self.deadline and epoch < job.epochs:
                raise DeadlineReached(f"time budget used up after epoch {epoch}/{job.epochs} (checkpoint saved)")

        record = self._record(job)
        try:
            result = train(model, self.data(), config, checkpoint=ckpt, progress=False, on_epoch_end=epoch_end,
                           identity={"arch_key": arch_key(job.arch)})
        except FloatingPointError as exc:  # deterministic divergence: record it, do not retry forever
            record.update(status="failed", error=one_line(exc), test_top1=None, seconds=None)
        else:
            record.update(status="ok", test_top1=result.test_top1, train_loss=result.train_loss,
                          seconds=result.seconds, n_params=result.n_params)
        self._stamp(record, config.num_threads, config.device)
        self.train_cache.append(record)
        self.trainings_run += 1
        ckpt.unlink(missing_ok=True)
        return record

    def _record(self, job: Job) -> dict[str, Any]:
        """The identity part of a training record: what was trained, on what data, under which recipe."""
        data = self.data()
        return {
            "arch_key": arch_key(job.arch), "arch_name": job.arch.name, "arch": job.arch.to_dict(),
            "data": self.data_id, "recipe": self.recipe, "epochs": job.epochs, "seed": job.seed,
            "train_images": data.train_size, "test_images": data.test_size, "resolution_px": data.resolution,
            "memory_format": "channels_last" if self.setup.channels_last else "contiguous",
            "cuda_graphs": self.setup.cuda_graphs,
        }

    @staticmethod
    def _stamp(record: dict[str, Any], threads: int | None, device: str = "cpu") -> None:
        """Add when and where: date, torch version, intra-op threads, the CPU model and the training device
        (``cpu``, or ``cuda:N <GPU name>``)."""
        import torch

        from nas.device import resolve_device
        from nas.machine import cpu_name

        dev = resolve_device(device)
        where = "cpu" if dev.type == "cpu" else f"{dev} {torch.cuda.get_device_name(dev)}"
        record.update(date=timestamp(), torch=torch.__version__, threads=threads or torch.get_num_threads(),
                      cpu=cpu_name(), device=where)

    def run_jobs(self, jobs: Sequence[Job], label: str = "train") -> list[dict[str, Any]]:
        """Train every job (cached ones are skipped) with one progress bar in epochs, with ETA.

        Jobs another live worker has claimed (:meth:`claim`) are left to it and missing from the result;
        the cache is re-read before each job, so results written by other workers are seen.
        """
        self.train_cache.reload()
        pending = [j for j in jobs if self.lookup(j.arch, j.epochs, j.seed) is None]
        out = []
        with JobProgress(pending, label, enabled=self.progress) as bar:
            for job in jobs:
                self.train_cache.reload()
                if self.lookup(job.arch, job.epochs, job.seed) is not None:
                    out.append(self.lookup(job.arch, job.epochs, job.seed))
                elif not self.claim(job):
                    bar.skipped(job)
                else:
                    out.append(self._run_claimed(job, bar))
        return out

    def train_shared(self, job: Job, poll_s: float = 10.0) -> dict[str, Any]:
        """The record of ``job``: from the cache, trained here under a claim, or — when another live worker holds
        its claim — waited for (the cache is re-read every ``poll_s`` seconds), so that two processes sharing
        one cache never train the same network twice."""
        while True:
            self.train_cache.reload()
            cached = self.lookup(job.arch, job.epochs, job.seed)
            if cached is not None:
                return cached
            if self.claim(job):
                try:
                    return self.train_one(job)
                finally:
                    self.release(job)
            time.sleep(poll_s)

    def _run_claimed(self, job: Job, bar: Any) -> dict[str, Any]:
        tick = bar.start(job, self.checkpoint_path(job.arch, job.epochs, job.seed))
        try:
            record = self.train_one(job, on_epoch_end=tick)
        finally:
            self.release(job)
        bar.finished(job, record)
        return record

    # -- the three parts ----------------------------------------------------------------------------

    def budget_jobs(self, epochs: int, multiplier: int, archs: int) -> list[Job]:
        """The first ``archs`` archs at ``epochs`` and at ``multiplier × epochs`` (this validator's seed)."""
        return [Job(a, e, self.seed) for a in self.archs(archs) for e in (epochs, multiplier * epochs)]

    def noise_jobs(self, epochs: int, archs: int, noise_seed: int) -> list[Job]:
        """The first ``archs`` archs at ``epochs`` with this validator's seed and with ``noise_seed``."""
        return [Job(a, epochs, s) for a in self.archs(archs) for s in (self.seed, noise_seed)]

    def main_jobs(self, epochs: int, n: int, seeds: Sequence[int] | None = None) -> list[Job]:
        """The first ``n`` archs at ``epochs``, once per seed of ``seeds`` (default: this validator's seed)."""
        return [Job(a, epochs, s) for s in (seeds if seeds is not None else [self.seed]) for a in self.archs(n)]

    # -- proxies ------------------------------------------------------------------------------------

    @property
    def proxies(self) -> tuple[str, ...]:
        """The proxies scored (baselines included)."""
        return self.scores.names

    @property
    def proxy_batch(self) -> int:
        return self.scores.batch_size

    @property
    def proxy_input(self) -> str:
        return self.scores.input_kind

    @property
    def proxy_cache(self) -> JsonlCache:
        return self.scores.cache

    def batch_id(self) -> dict[str, Any]:
        """The identity of the proxy batch (:meth:`ProxyScores.batch_id`)."""
        return self.scores.batch_id()

    def proxy_batch_tensors(self) -> tuple[Any, Any]:
        """The proxy batch (images, labels) of this setup's data (:meth:`ProxyScores.batch_tensors`)."""
        return self.scores.batch_tensors(self.data())

    def proxy_record(self, arch: Arch, name: str) -> dict[str, Any] | None:
        """The cached value record of proxy ``name`` on ``arch``, or None."""
        return self.scores.record(arch, name)

    def score_proxies(self, archs: Sequence[Arch]) -> None:
        """Compute (and cache) every proxy of every arch that is not cached yet."""
        self.scores.score(archs, self.data, self.build, threads=self.setup.threads, progress=self.progress)
