"""The :class:`Validator` of :mod:`nas.validation` (cached training and proxy scoring), its
:class:`Job`, :class:`DeadlineReached`, the deterministic arch list (:func:`sample_archs`), the
machine description (:func:`machine_info`), the worker-claim helpers and the pilot timing."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from nas.arch.spec import Arch
from nas.validation.cache import (PROXY_CACHE_NAME, TRAIN_CACHE, JsonlCache, _proxy_record_key, _train_record_key,
                                  train_key)
from nas.validation.setup import _SUBSET_SEED, Setup

BASELINES = ("params", "macs")


class DeadlineReached(RuntimeError):
    """Raised between epochs/archs once the time budget of a session is used up (state is saved)."""


# ---------------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------------


def sample_archs(space: Any, n: int, seed: int = 0, *, max_draws: int | None = None) -> list[Arch]:
    """The first ``n`` distinct archs of ``space.sample(seed + i)``, i = 0, 1, … (duplicates skipped).

    Prefix-stable: ``sample_archs(space, m, seed)[:n] == sample_archs(space, n, seed)`` for m ≥ n.
    Raises ValueError if ``max_draws`` (default 50·n + 100) draws give fewer than ``n`` distinct archs.
    """
    from nas.arch.key import arch_key

    out: list[Arch] = []
    seen: set[str] = set()
    limit = max_draws if max_draws is not None else 50 * n + 100
    i = 0
    while len(out) < n:
        if i >= limit:
            raise ValueError(f"only {len(out)} distinct architectures in {limit} draws from the space; "
                             f"it has fewer than {n}")
        arch = space.sample(seed + i)
        key = arch_key(arch)
        if key not in seen:
            seen.add(key)
            out.append(arch)
        i += 1
    return out


# ---------------------------------------------------------------------------------------------------
# Machine
# ---------------------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU model, logical cores, torch version and intra-op threads of this process."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "python": platform.python_version()}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------------
# The validator: cached training and proxy scoring
# ---------------------------------------------------------------------------------------------------


@dataclass
class Job:
    arch: Arch
    epochs: int
    seed: int


#: Where the zero-cost proxies' batch comes from: real training images, or Gaussian noise (the search's
#: batch when it has no dataset).
PROXY_INPUTS = ("data", "gaussian")


class Validator:
    """Cached training and proxy scoring of the archs of one space under one :class:`Setup`.

    ``cache``: the training JSONL; ``proxy_cache`` defaults to ``proxy_cache.jsonl`` beside it and
    ``ckpt_dir`` to ``ckpt/`` beside it. ``deadline`` (a ``time.time()`` value): no training starts
    after it, and a running one stops at its next epoch end (checkpoint saved) with
    :class:`DeadlineReached`.
    """

    def __init__(
        self,
        space: Any,
        setup: Setup,
        *,
        seed: int = 0,
        cache: str | Path = TRAIN_CACHE,
        proxy_cache: str | Path | None = None,
        ckpt_dir: str | Path | None = None,
        proxies: Sequence[str] | None = None,
        proxy_batch: int = 64,
        proxy_input: str = "data",
        progress: bool = True,
        deadline: float | None = None,
    ) -> None:
        from nas import proxies as _proxies

        self.space = space
        self.setup = setup
        self.seed = seed
        cache = Path(cache)
        self.train_cache = JsonlCache(cache, _train_record_key)
        self.proxy_cache = JsonlCache(Path(proxy_cache) if proxy_cache else cache.with_name(PROXY_CACHE_NAME),
                                      _proxy_record_key)
        self.ckpt_dir = Path(ckpt_dir) if ckpt_dir else cache.parent / "ckpt"
        self.proxies = tuple(proxies) if proxies is not None else _proxies.names()
        for name in self.proxies:
            _proxies.get(name)  # KeyError names the choices
        for name in BASELINES:  # always scored: they are the baselines every proxy must beat
            if name not in self.proxies:
                self.proxies = self.proxies + (name,)
        self.proxy_batch = proxy_batch
        if proxy_input not in PROXY_INPUTS:
            raise ValueError(f"proxy input {proxy_input!r}: use one of {', '.join(PROXY_INPUTS)}")
        self.proxy_input = proxy_input
        self.progress = progress
        self.deadline = deadline
        self._data: Any = None
        self._archs: list[Arch] = []
        self.data_id = setup.data_id()
        self.recipe = setup.recipe()
        self.trainings_run = 0  # trainings actually executed (not cached) by this object

    # -- archs and data ---------------------------------------------------------------------------

    def archs(self, n: int) -> list[Arch]:
        if len(self._archs) < n:
            self._archs = sample_archs(self.space, n, self.seed)
        return self._archs[:n]

    def data(self) -> Any:
        if self._data is None:
            from nas.data import load_dataset

            s = self.setup
            self._data = load_dataset(s.data, resolution=s.resolution, train_size=s.train_size,
                                      test_size=s.test_size, seed=_SUBSET_SEED)
        return self._data

    def build(self, arch: Arch, seed: int, *, for_training: bool = False) -> Any:
        """The arch's model for this dataset, initialised from ``seed`` (channels-last for training if
        ``setup.channels_last``: the same network, a faster memory layout on CPU)."""
        import torch

        from nas.model.builder import build_model
        from nas.train import seed_everything

        data = self.data()
        seed_everything(seed)
        model = build_model(arch, num_classes=data.num_classes, in_channels=data.in_channels)
        if for_training and self.setup.channels_last:
            model = model.to(memory_format=torch.channels_last)
        return model

    # -- training ---------------------------------------------------------------------------------

    def key(self, arch: Arch, epochs: int, seed: int) -> str:
        from nas.arch.key import arch_key

        return train_key(arch_key(arch), self.data_id, self.recipe, epochs, seed)

    def lookup(self, arch: Arch, epochs: int, seed: int) -> dict[str, Any] | None:
        return self.train_cache.get(self.key(arch, epochs, seed))

    def accuracy(self, arch: Arch, epochs: int, seed: int) -> float | None:
        r = self.lookup(arch, epochs, seed)
        return r.get("test_top1") if r and r.get("status") == "ok" else None

    def checkpoint_path(self, arch: Arch, epochs: int, seed: int) -> Path:
        digest = hashlib.sha1(self.key(arch, epochs, seed).encode()).hexdigest()[:16]
        return self.ckpt_dir / f"{digest}.pt"

    def train_one(self, job: Job, on_epoch_end: Callable[[int, float], None] | None = None) -> dict[str, Any]:
        """Train ``job`` unless cached; append its record to the cache; return the record."""
        cached = self.lookup(job.arch, job.epochs, job.seed)
        if cached is not None:
            return cached
        if self.deadline is not None and time.time() >= self.deadline:
            raise DeadlineReached("time budget used up before the next training")
        from nas.arch.key import arch_key
        from nas.train import train

        data = self.data()
        config = self.setup.train_config(job.epochs, job.seed)
        model = self.build(job.arch, job.seed, for_training=True)
        ckpt = self.checkpoint_path(job.arch, job.epochs, job.seed)

        def epoch_end(epoch: int, loss: float) -> None:
            if on_epoch_end is not None:
                on_epoch_end(epoch, loss)
            if self.deadline is not None and time.time() >= self.deadline and epoch < job.epochs:
                raise DeadlineReached(f"time budget used up after epoch {epoch}/{job.epochs} (checkpoint saved)")

        record: dict[str, Any] = {
            "arch_key": arch_key(job.arch), "arch_name": job.arch.name, "arch": job.arch.to_dict(),
            "data": self.data_id, "recipe": self.recipe, "epochs": job.epochs, "seed": job.seed,
            "train_images": data.train_size, "test_images": data.test_size, "resolution_px": data.resolution,
            "memory_format": "channels_last" if self.setup.channels_last else "contiguous",
        }
        import torch

        try:
            result = train(model, data, config, checkpoint=ckpt, progress=False, on_epoch_end=epoch_end)
        except FloatingPointError as exc:  # deterministic divergence: record it, do not retry forever
            record.update(status="failed", error=" ".join(str(exc).split()), test_top1=None, seconds=None)
        else:
            record.update(status="ok", test_top1=result.test_top1, train_loss=result.train_loss,
                          seconds=result.seconds, n_params=result.n_params)
        record.update(date=_now(), torch=torch.__version__, threads=config.num_threads or torch.get_num_threads(),
                      cpu=machine_info()["cpu"])
        self.train_cache.append(record)
        self.trainings_run += 1
        ckpt.unlink(missing_ok=True)
        return record

    def claim_path(self, arch: Arch, epochs: int, seed: int) -> Path:
        return self.checkpoint_path(arch, epochs, seed).with_suffix(".claim")

    def claim(self, job: Job) -> bool:
        """Take ``job`` for this process: create its claim file exclusively (``host pid`` inside).

        Several workers can then share one cache (``validate_proxy.py`` started twice on a 2-core CPU):
        a job claimed by a live process elsewhere is skipped. A claim left by a dead process on this host
        is taken over (its checkpoint, if any, is resumed). Returns False if another live worker holds it.
        """
        path = self.claim_path(job.arch, job.epochs, job.seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        me = f"{platform.node()} {os.getpid()}"
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    host, pid = path.read_text(encoding="utf-8").split()
                except (OSError, ValueError):
                    return False  # being written right now by its owner
                if f"{host} {pid}" == me:
                    return True
                if host != platform.node() or _pid_alive(int(pid)):
                    return False
                path.unlink(missing_ok=True)  # stale: its owner died
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(me)
            return True
        return False

    def release(self, job: Job) -> None:
        self.claim_path(job.arch, job.epochs, job.seed).unlink(missing_ok=True)

    def run_jobs(self, jobs: Sequence[Job], label: str = "train") -> list[dict[str, Any]]:
        """Train every job (cached ones are skipped) with one progress bar in epochs, with ETA.

        Jobs another live worker has claimed (:meth:`claim`) are left to it and missing from the result;
        the cache is re-read before each job, so results written by other workers are seen.
        """
        from tqdm.auto import tqdm

        self.train_cache.reload()
        pending = [j for j in jobs if self.lookup(j.arch, j.epochs, j.seed) is None]
        total = sum(j.epochs for j in pending)
        out = []
        with tqdm(total=total, unit="ep", disable=not self.progress or not pending, dynamic_ncols=True,
                  desc=label) as bar:
            done_archs = 0
            for job in jobs:
                self.train_cache.reload()
                if self.lookup(job.arch, job.epochs, job.seed) is not None:
                    out.append(self.lookup(job.arch, job.epochs, job.seed))
                    continue
                if not self.claim(job):
                    bar.write(f"{label}: {job.arch.name} {job.epochs} ep seed {job.seed}: another worker has it")
                    bar.update(job.epochs)
                    done_archs += 1
                    continue
                bar.set_description(f"{label} arch {done_archs + 1}/{len(pending)} ({job.epochs} ep, seed {job.seed})")
                ckpt = self.checkpoint_path(job.arch, job.epochs, job.seed)
                resumed = 0
                if ckpt.exists():  # count the epochs a checkpoint already holds as done
                    resumed = _checkpoint_epochs(ckpt)
                    bar.update(resumed)
                last = [resumed]

                def tick(epoch: int, loss: float, last: list[int] = last) -> None:
                    bar.update(epoch - last[0])
                    last[0] = epoch
                    bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

                try:
                    record = self.train_one(job, on_epoch_end=tick)
                finally:
                    self.release(job)
                bar.update(job.epochs - last[0])
                done_archs += 1
                if record.get("status") == "ok":
                    bar.write(f"{label}: {record['arch_name']} {job.epochs} ep seed {job.seed}: "
                              f"top-1 {record['test_top1']:.4f} ({record['seconds']:.0f} s)")
                else:
                    bar.write(f"{label}: {record['arch_name']} failed: {record.get('error')}")
                out.append(record)
        return out

    # -- the three parts ----------------------------------------------------------------------------

    def budget_jobs(self, epochs: int, multiplier: int, archs: int) -> list[Job]:
        return [Job(a, e, self.seed) for a in self.archs(archs) for e in (epochs, multiplier * epochs)]

    def noise_jobs(self, epochs: int, archs: int, noise_seed: int) -> list[Job]:
        return [Job(a, epochs, s) for a in self.archs(archs) for s in (self.seed, noise_seed)]

    def main_jobs(self, epochs: int, n: int, seeds: Sequence[int] | None = None) -> list[Job]:
        """The first ``n`` archs at ``epochs``, once per seed of ``seeds`` (default: this validator's seed)."""
        return [Job(a, epochs, s) for s in (seeds if seeds is not None else [self.seed]) for a in self.archs(n)]

    # -- proxies ------------------------------------------------------------------------------------

    def batch_id(self) -> dict[str, Any]:
        ident = {**self.data_id, "images": self.proxy_batch, "batch_seed": self.seed, "proxy_seed": self.seed}
        return ident if self.proxy_input == "data" else {**ident, "input": self.proxy_input}

    def proxy_batch_tensors(self) -> tuple[Any, Any]:
        """``proxy_batch`` training images (and labels) chosen with a generator seeded by ``seed`` — or, with
        ``proxy_input="gaussian"``, images of the same shape drawn from N(0, 1) and random labels, exactly as
        :class:`nas.evaluate.Evaluator` scores a search candidate when no ``--data`` is given."""
        import torch

        data = self.data()
        images, labels = data.train.tensors
        g = torch.Generator().manual_seed(self.seed)
        if self.proxy_input == "gaussian":
            noise = torch.randn(self.proxy_batch, *images.shape[1:], generator=g)
            return noise, torch.randint(0, data.num_classes, (self.proxy_batch,), generator=g)
        idx = torch.randperm(len(labels), generator=g)[: self.proxy_batch]
        return images[idx].clone(), labels[idx].clone()

    def proxy_record(self, arch: Arch, name: str) -> dict[str, Any] | None:
        from nas.arch.key import arch_key

        return self.proxy_cache.get(_proxy_record_key({"arch_key": arch_key(arch), "proxy": name,
                                                        "batch": self.batch_id()}))

    def score_proxies(self, archs: Sequence[Arch]) -> None:
        """Compute (and cache) every proxy of every arch that is not cached yet."""
        import torch
        from tqdm.auto import tqdm

        from nas import proxies
        from nas.arch.key import arch_key

        todo = [a for a in archs if any(self.proxy_record(a, p) is None for p in self.proxies)]
        if not todo:
            return
        batch, targets = self.proxy_batch_tensors()
        previous = torch.get_num_threads()
        if self.setup.threads:
            torch.set_num_threads(self.setup.threads)
        try:
            for arch in tqdm(todo, unit="arch", desc="proxies", disable=not self.progress, dynamic_ncols=True):
                model = self.build(arch, self.seed)
                for name in self.proxies:
                    if self.proxy_record(arch, name) is not None:
                        continue
                    r = proxies.compute(name, model, batch, targets, seed=self.seed)
                    self.proxy_cache.append({
                        "arch_key": arch_key(arch), "arch_name": arch.name, "proxy": name, "batch": self.batch_id(),
                        "value": r.value, "ok": r.ok, "reason": r.reason, "seconds": r.seconds,
                        "date": _now(), "torch": torch.__version__, "threads": torch.get_num_threads(),
                    })
        finally:
            torch.set_num_threads(previous)

    # -- pilot --------------------------------------------------------------------------------------

    def time_steps(self, arch: Arch, *, steps: int = 20, warmup: int = 3) -> dict[str, Any]:
        """Seconds per training step (forward + backward + SGD step, batch ``setup.batch_size``) of
        ``arch``, median over ``steps`` steps after ``warmup``; and the implied seconds per epoch."""
        import torch
        from nas.train.loop import _make_optimizer  # the recipe's optimizer, so the step costs the same

        from nas.model.cost import count_macs

        data = self.data()
        config = self.setup.train_config(1, self.seed)
        previous = torch.get_num_threads()
        if self.setup.threads:
            torch.set_num_threads(self.setup.threads)
        try:
            macs = count_macs(self.build(arch, self.seed), data.resolution, data.in_channels)
            model = self.build(arch, self.seed, for_training=True)
            opt = _make_optimizer(model, config)
            crit = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
            images, labels = data.train.tensors
            model.train()
            times = []
            g = torch.Generator().manual_seed(self.seed)
            for i in range(warmup + steps):
                idx = torch.randint(0, len(labels), (config.batch_size,), generator=g)
                t0 = time.perf_counter()
                loss = crit(model(images[idx]), labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if i >= warmup:
                    times.append(time.perf_counter() - t0)
        finally:
            torch.set_num_threads(previous)
        per_step = float(np.median(times))
        steps_per_epoch = math.ceil(data.train_size / config.batch_size)
        return {"arch_name": arch.name, "params": sum(p.numel() for p in model.parameters()), "macs": macs,
                "s_per_step": per_step, "s_per_epoch": per_step * steps_per_epoch,
                "batch_size": config.batch_size, "train_images": data.train_size, "resolution_px": data.resolution}

    def pilot(self, n: int, *, steps: int = 20) -> dict[str, Any]:
        """Time the smallest, the median and the largest (by MACs) of the first ``n`` archs."""
        from nas.model.cost import count_macs

        data = self.data()
        archs = self.archs(n)
        macs = []
        for a in archs:
            model = self.build(a, self.seed)
            macs.append(count_macs(model, data.resolution, data.in_channels))
        order = np.argsort(macs, kind="stable")
        picks = {"small": order[0], "median": order[len(order) // 2], "large": order[-1]}
        rows = {label: self.time_steps(archs[i], steps=steps) for label, i in picks.items()}
        median_macs = float(np.median(macs))
        return {"date": _now(), "machine": machine_info(), "setup": dataclasses.asdict(self.setup),
                "archs_considered": n, "macs_min": int(min(macs)), "macs_median": median_macs,
                "macs_max": int(max(macs)), "mean_macs": float(np.mean(macs)), "rows": rows}


def _checkpoint_epochs(path: Path) -> int:
    try:
        import torch

        ck = torch.load(path, map_location="cpu", weights_only=True)
        return int(ck["state"]["epoch"])
    except Exception:  # noqa: BLE001 - only for the progress bar
        return 0
