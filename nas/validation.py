"""Validate zero-cost accuracy proxies against trained accuracy (DESIGN.md §6, "Honest numbers").

The program has three parts, all on the same deterministic list of architectures
(``space.sample(seed + i)``, duplicates by :func:`nas.search.arch_key` skipped, so a larger ``n``
extends the list and reuses everything already trained):

* **budget** (stability of the ground truth): the first ``budget_archs`` archs trained at ``E`` and at
  ``multiplier × E`` epochs; Kendall τ between the two accuracy rankings.
* **noise** (noise ceiling): the first ``noise_archs`` archs trained at ``E`` with two training seeds;
  τ between the two rankings. No proxy can be expected to beat it.
* **main**: ``n`` archs trained at ``E``; every proxy (and #params, #MACs) scored on one fixed, seeded
  batch of training images; Kendall τ-b and Spearman ρ with bootstrap 95 % CIs, the paired τ difference
  to #params, failures counted, cost per arch; rank ensembles (mean rank of 2–3 proxies) are evaluated
  the same way and, because the best one is chosen on the archs it is reported on, also by repeated
  half splits (choose on one half, score on the other).

Every finished training is one JSON line in ``runs/proxy-validation/train_cache.jsonl`` (appended,
flushed and fsynced at once), looked up by (arch key, data, sizes, resolution, recipe, epochs, seed);
the training in progress checkpoints to ``runs/proxy-validation/ckpt/`` after every epoch (and on
Ctrl-C), so an interrupted run resumes where it stopped. Proxy values are cached the same way in
``proxy_cache.jsonl`` next to it.

    >>> v = Validator(load_space("search_spaces/mobile_32px.yaml"), Setup(data="fashion-mnist"))
    >>> v.run_main(n=30, epochs=5)                                 # doctest: +SKIP
    >>> a = analyse(v, n=30, epochs=5)                             # doctest: +SKIP
    >>> print(report_markdown(a))                                  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import itertools
import json
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from nas.arch import Arch

__all__ = [
    "BASELINES",
    "CACHE_DIR",
    "Corr",
    "DeadlineReached",
    "JsonlCache",
    "Setup",
    "Validator",
    "analyse",
    "bootstrap_corr",
    "machine_info",
    "mean_rank",
    "paired_tau_diff",
    "report_markdown",
    "sample_archs",
    "selection_cv",
    "train_key",
    "write_scatter",
]

CACHE_DIR = Path("runs/proxy-validation")
TRAIN_CACHE = CACHE_DIR / "train_cache.jsonl"
PROXY_CACHE_NAME = "proxy_cache.jsonl"
PILOT_NAME = "pilot.json"
BASELINES = ("params", "macs")
_FULL = "all"
_NATIVE = "native"
_SUBSET_SEED = 0  # the train subset (if any) is fixed; the training seed only changes init and order


class DeadlineReached(RuntimeError):
    """Raised between epochs/archs once the time budget of a session is used up (state is saved)."""


# ---------------------------------------------------------------------------------------------------
# Setup: data + recipe
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What fixes a training apart from its epochs and seed: the data and the recipe.

    ``train_size``/``test_size`` None mean the whole split, ``resolution`` None the dataset's native
    side. ``lr``/``weight_decay`` None take :class:`nas.train.TrainConfig`'s per-optimizer defaults
    (resolved in :meth:`recipe`, so the cache records the actual values).
    """

    data: str = "fashion-mnist"
    train_size: int | None = None
    test_size: int | None = None
    resolution: int | None = None
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float | None = None
    weight_decay: float | None = None
    schedule: str = "cosine"
    warmup_fraction: float = 0.05
    label_smoothing: float = 0.1
    bn_recalibration_batches: int = 16
    threads: int | None = None
    channels_last: bool = True  # NHWC weights: ~1.8x faster on CPU here; numerics at float-rounding level

    def train_config(self, epochs: int, seed: int) -> Any:
        from nas.train import TrainConfig

        return TrainConfig(
            epochs=epochs, batch_size=self.batch_size, optimizer=self.optimizer, lr=self.lr,
            weight_decay=self.weight_decay, schedule=self.schedule, warmup_fraction=self.warmup_fraction,
            label_smoothing=self.label_smoothing, bn_recalibration_batches=self.bn_recalibration_batches,
            seed=seed, num_threads=self.threads, device="cpu",
        )

    def recipe(self) -> dict[str, Any]:
        """The TrainConfig as a dict without epochs, seed, threads and device (they are not the recipe)."""
        cfg = dataclasses.asdict(self.train_config(1, 0))
        for k in ("epochs", "seed", "num_threads", "device"):
            cfg.pop(k)
        return cfg

    def data_id(self) -> dict[str, Any]:
        """The data part of a cache key: dataset identity, requested sizes and resolution."""
        from nas.data import parse_spec

        spec = parse_spec(self.data)
        if spec.kind in ("fashion-mnist", "mnist", "cifar10", "cifar100"):
            name = spec.kind  # a named dataset is the same wherever its files are
        elif spec.kind == "synthetic":
            name = "synthetic" + "".join(f",{k}={v}" for k, v in sorted(spec.options.items()))
        else:
            name = f"{spec.kind}:{spec.path}"
        return {
            "data": name,
            "train_size": self.train_size if self.train_size is not None else _FULL,
            "test_size": self.test_size if self.test_size is not None else _FULL,
            "resolution": self.resolution if self.resolution is not None else _NATIVE,
            "subset_seed": _SUBSET_SEED,
        }


def train_key(arch_key: str, data_id: Mapping[str, Any], recipe: Mapping[str, Any], epochs: int, seed: int) -> str:
    """The lookup key of one training (canonical JSON)."""
    return json.dumps({"arch_key": arch_key, "data": dict(data_id), "recipe": dict(recipe),
                       "epochs": int(epochs), "seed": int(seed)}, sort_keys=True, separators=(",", ":"))


def _train_record_key(r: Mapping[str, Any]) -> str:
    return train_key(r["arch_key"], r["data"], r["recipe"], r["epochs"], r["seed"])


def _proxy_record_key(r: Mapping[str, Any]) -> str:
    return json.dumps({"arch_key": r["arch_key"], "proxy": r["proxy"], "batch": r["batch"]},
                      sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------------
# JSONL cache
# ---------------------------------------------------------------------------------------------------


class JsonlCache:
    """An append-only JSON-lines file indexed by ``key_fn(record)``; the last record of a key wins.

    Lines that do not parse (e.g. a write cut short by a crash) are skipped and counted in ``bad_lines``.
    :meth:`append` writes one line, flushes and fsyncs, so a crash loses at most the record being written.
    """

    def __init__(self, path: str | Path, key_fn: Callable[[Mapping[str, Any]], str]) -> None:
        self.path = Path(path)
        self.key_fn = key_fn
        self.records: dict[str, dict[str, Any]] = {}
        self.bad_lines = 0
        self.reload()

    def reload(self) -> None:
        self.records, self.bad_lines = {}, 0
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    self.records[self.key_fn(record)] = record
                except (ValueError, KeyError, TypeError):
                    self.bad_lines += 1

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records.values())

    def append(self, record: Mapping[str, Any]) -> None:
        key = self.key_fn(record)
        line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() > 0:  # a previous write cut short leaves no newline: start a fresh line
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        self.records[key] = dict(record)


# ---------------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------------


def sample_archs(space: Any, n: int, seed: int = 0, *, max_draws: int | None = None) -> list[Arch]:
    """The first ``n`` distinct archs of ``space.sample(seed + i)``, i = 0, 1, … (duplicates skipped).

    Prefix-stable: ``sample_archs(space, m, seed)[:n] == sample_archs(space, n, seed)`` for m ≥ n.
    Raises ValueError if ``max_draws`` (default 50·n + 100) draws give fewer than ``n`` distinct archs.
    """
    from nas.search import arch_key

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

        from nas.builder import build_model
        from nas.train import seed_everything

        data = self.data()
        seed_everything(seed)
        model = build_model(arch, num_classes=data.num_classes, in_channels=data.in_channels)
        if for_training and self.setup.channels_last:
            model = model.to(memory_format=torch.channels_last)
        return model

    # -- training ---------------------------------------------------------------------------------

    def key(self, arch: Arch, epochs: int, seed: int) -> str:
        from nas.search import arch_key

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
        from nas.search import arch_key
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

    def main_jobs(self, epochs: int, n: int) -> list[Job]:
        return [Job(a, epochs, self.seed) for a in self.archs(n)]

    # -- proxies ------------------------------------------------------------------------------------

    def batch_id(self) -> dict[str, Any]:
        return {**self.data_id, "images": self.proxy_batch, "batch_seed": self.seed, "proxy_seed": self.seed}

    def proxy_batch_tensors(self) -> tuple[Any, Any]:
        """``proxy_batch`` training images (and labels) chosen with a generator seeded by ``seed``."""
        import torch

        data = self.data()
        images, labels = data.train.tensors
        g = torch.Generator().manual_seed(self.seed)
        idx = torch.randperm(len(labels), generator=g)[: self.proxy_batch]
        return images[idx].clone(), labels[idx].clone()

    def proxy_record(self, arch: Arch, name: str) -> dict[str, Any] | None:
        from nas.search import arch_key

        return self.proxy_cache.get(_proxy_record_key({"arch_key": arch_key(arch), "proxy": name,
                                                        "batch": self.batch_id()}))

    def score_proxies(self, archs: Sequence[Arch]) -> None:
        """Compute (and cache) every proxy of every arch that is not cached yet."""
        import torch
        from tqdm.auto import tqdm

        from nas import proxies
        from nas.search import arch_key

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
        from nas.train import _make_optimizer  # the recipe's optimizer, so the step costs the same

        from nas.cost import count_macs

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
        from nas.cost import count_macs

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


# ---------------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corr:
    """Kendall τ-b and Spearman ρ of ``n`` pairs with percentile-bootstrap CIs (NaN if n < 3)."""

    n: int
    tau: float
    tau_lo: float
    tau_hi: float
    rho: float
    rho_lo: float
    rho_hi: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _tau(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(x, y).statistic)  # tau-b


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def _percentile_ci(values: np.ndarray, level: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan
    a = (1 - level) / 2
    return float(np.quantile(values, a)), float(np.quantile(values, 1 - a))


def bootstrap_corr(x: Sequence[float], y: Sequence[float], *, n_boot: int = 2000, seed: int = 0,
                   level: float = 0.95) -> Corr:
    """τ-b and ρ of ``x`` vs ``y`` with percentile-bootstrap CIs: ``n_boot`` resamples of the pairs
    with replacement (seeded); resamples where a statistic is undefined (all ties) are dropped."""
    import warnings

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n != len(y):
        raise ValueError(f"x and y differ in length ({n} vs {len(y)})")
    if n < 3:
        return Corr(n, *(math.nan,) * 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant resamples: scipy warns and returns NaN, dropped below
        tau, rho = _tau(x, y), _rho(x, y)
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
        taus = np.array([_tau(x[i], y[i]) for i in idx])
        rhos = np.array([_rho(x[i], y[i]) for i in idx])
    return Corr(n, tau, *_percentile_ci(taus, level), rho, *_percentile_ci(rhos, level))


def paired_tau_diff(a: Sequence[float], b: Sequence[float], y: Sequence[float], *, n_boot: int = 2000,
                    seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """τ(a, y) − τ(b, y) with a paired percentile-bootstrap CI (the same resampled archs for both)."""
    import warnings

    a, b, y = (np.asarray(v, dtype=float) for v in (a, b, y))
    n = len(y)
    if n < 3:
        return math.nan, math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        point = _tau(a, y) - _tau(b, y)
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
        diffs = np.array([_tau(a[i], y[i]) - _tau(b[i], y[i]) for i in idx])
    return (point, *_percentile_ci(diffs, level))


def mean_rank(columns: Sequence[Sequence[float]]) -> np.ndarray:
    """The mean over columns of each row's rank (average ranks for ties; higher value → higher rank)."""
    from scipy.stats import rankdata

    return np.mean([rankdata(np.asarray(c, dtype=float)) for c in columns], axis=0)


def selection_cv(values: Mapping[str, Sequence[float]], y: Sequence[float], candidates: Sequence[str], *,
                 baseline: str = "params", splits: int = 200, seed: int = 0) -> dict[str, Any]:
    """Honest value of "pick the candidate with the best τ": on each of ``splits`` random halves, choose
    the best candidate on one half and score it (and ``baseline``) on the other half.

    ``values[name]`` are finite scores for the same archs as ``y`` (an ensemble ``"a+b"`` is computed as
    the mean rank within each half). Returns held-out τ median and 2.5/97.5 % quantiles, the baseline's,
    the share of splits where the chosen one beats the baseline, and how often each candidate was chosen.
    """
    import warnings

    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < 8 or not candidates:
        return {"splits": 0}
    rng = np.random.default_rng(seed)
    cols = {k: np.asarray(v, dtype=float) for k, v in values.items()}

    def score(name: str, idx: np.ndarray) -> np.ndarray:
        parts = name.split("+")
        return cols[name][idx] if len(parts) == 1 else mean_rank([cols[p][idx] for p in parts])

    held, base, wins, chosen = [], [], 0, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(splits):
            perm = rng.permutation(n)
            a, b = perm[: n // 2], perm[n // 2:]
            taus = [(_tau(score(c, a), y[a]), c) for c in candidates]
            taus = [(t, c) for t, c in taus if math.isfinite(t)]
            if not taus:
                continue
            best = max(taus, key=lambda tc: tc[0])[1]
            chosen[best] = chosen.get(best, 0) + 1
            t_b, t_base = _tau(score(best, b), y[b]), _tau(score(baseline, b), y[b])
            if math.isfinite(t_b) and math.isfinite(t_base):
                held.append(t_b)
                base.append(t_base)
                wins += t_b > t_base
    if not held:
        return {"splits": 0}
    held_a, base_a = np.array(held), np.array(base)
    return {
        "splits": len(held), "half": n // 2,
        "held_median": float(np.median(held_a)), "held_lo": float(np.quantile(held_a, 0.025)),
        "held_hi": float(np.quantile(held_a, 0.975)),
        "base_median": float(np.median(base_a)), "win_share": wins / len(held),
        "chosen": dict(sorted(chosen.items(), key=lambda kv: -kv[1])),
    }


# ---------------------------------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------------------------------


def _pairs(v: Validator, archs: Sequence[Arch], a: tuple[int, int], b: tuple[int, int]) -> tuple[list, list, list]:
    """Accuracies of the archs trained under both (epochs, seed) settings ``a`` and ``b``."""
    names, xa, xb = [], [], []
    for arch in archs:
        ra, rb = v.accuracy(arch, *a), v.accuracy(arch, *b)
        if ra is not None and rb is not None:
            names.append(arch.name)
            xa.append(ra)
            xb.append(rb)
    return names, xa, xb


def _median_epoch_seconds(v: Validator, archs: Sequence[Arch], settings: Iterable[tuple[int, int]]) -> dict[str, Any]:
    per_epoch = []
    for arch in archs:
        for e, s in settings:
            r = v.lookup(arch, e, s)
            if r and r.get("status") == "ok" and r.get("seconds"):
                per_epoch.append(r["seconds"] / r["epochs"])
    if not per_epoch:
        return {"count": 0}
    p = np.array(per_epoch)
    return {"count": len(p), "median": float(np.median(p)), "min": float(p.min()), "max": float(p.max())}


def analyse(v: Validator, *, n: int, epochs: int, multiplier: int = 3, noise_archs: int = 10, noise_seed: int = 1,
            budget_archs: int = 10, ensembles: Sequence[str] = (), n_boot: int = 2000, cv_splits: int = 200,
            search_ensembles: bool = True) -> dict[str, Any]:
    """Everything the report needs, from the caches only (nothing is trained or scored here)."""
    seed = v.seed
    out: dict[str, Any] = {
        "date": _now(), "machine": machine_info(), "space": v.space.source if hasattr(v.space, "source") else str(v.space),
        "setup": dataclasses.asdict(v.setup), "data_id": v.data_id, "recipe": v.recipe, "epochs": epochs,
        "multiplier": multiplier, "seed": seed, "noise_seed": noise_seed, "n_requested": n,
        "noise_requested": noise_archs, "budget_requested": budget_archs, "n_boot": n_boot,
        "proxy_batch": v.proxy_batch, "bad_cache_lines": v.train_cache.bad_lines,
    }
    # sizes actually used, from any record of this setup
    for r in v.train_cache:
        if r.get("data") == v.data_id and r.get("recipe") == v.recipe:
            out["train_images"], out["test_images"] = r.get("train_images"), r.get("test_images")
            out["resolution_px"] = r.get("resolution_px")
            break

    # (b) budget stability
    names, xa, xb = _pairs(v, v.archs(budget_archs), (epochs, seed), (multiplier * epochs, seed))
    out["budget"] = {"names": names, "short": xa, "long": xb,
                     "corr": bootstrap_corr(xa, xb, n_boot=n_boot, seed=seed).to_dict()}
    # (a) noise ceiling
    names, xa, xb = _pairs(v, v.archs(noise_archs), (epochs, seed), (epochs, noise_seed))
    diffs = np.abs(np.subtract(xa, xb)) if xa else np.array([])
    out["noise"] = {"names": names, "seed_a": xa, "seed_b": xb,
                    "corr": bootstrap_corr(xa, xb, n_boot=n_boot, seed=seed).to_dict(),
                    "mean_abs_diff": float(diffs.mean()) if len(diffs) else math.nan,
                    "max_abs_diff": float(diffs.max()) if len(diffs) else math.nan}
    out["epoch_seconds"] = _median_epoch_seconds(
        v, v.archs(max(n, noise_archs, budget_archs)),
        [(epochs, seed), (epochs, noise_seed), (multiplier * epochs, seed)])
    out["epoch_seconds_main"] = _median_epoch_seconds(v, v.archs(n), [(epochs, seed)])

    # (c)/(d) main
    archs = v.archs(n)
    acc, keep = [], []
    failed_trainings = 0
    for arch in archs:
        r = v.lookup(arch, epochs, seed)
        if r is None:
            continue
        if r.get("status") != "ok":
            failed_trainings += 1
            continue
        acc.append(r["test_top1"])
        keep.append(arch)
    acc_a = np.array(acc)
    out["main"] = {"trained": len(keep), "failed_trainings": failed_trainings,
                   "arch_names": [a.name for a in keep], "acc": acc}
    if len(acc_a):
        q1, q3 = np.quantile(acc_a, [0.25, 0.75])
        out["main"]["spread"] = {"min": float(acc_a.min()), "max": float(acc_a.max()),
                                 "median": float(np.median(acc_a)), "std": float(acc_a.std(ddof=1)) if len(acc_a) > 1 else 0.0,
                                 "iqr": float(q3 - q1)}

    values: dict[str, list[float | None]] = {}
    costs: dict[str, list[float]] = {}
    missing = 0
    for name in v.proxies:
        values[name], costs[name] = [], []
        for arch in keep:
            rec = v.proxy_record(arch, name)
            if rec is None:
                values[name].append(None)
                continue
            values[name].append(rec["value"] if rec.get("ok") else None)
            if rec.get("seconds") is not None:
                costs[name].append(rec["seconds"])
        missing += sum(1 for arch in keep if v.proxy_record(arch, name) is None)
    out["main"]["proxy_missing"] = missing

    def row(name: str, col: Sequence[float | None], cost: float | None, kind: str) -> dict[str, Any]:
        ok = [i for i, x in enumerate(col) if x is not None and math.isfinite(x)]
        x = [col[i] for i in ok]
        yy = [acc[i] for i in ok]
        corr = bootstrap_corr(x, yy, n_boot=n_boot, seed=seed)
        both = [i for i in ok if values["params"][i] is not None]
        if name == "params" or len(both) < 3:
            diff = (math.nan,) * 3
        else:
            diff = paired_tau_diff([col[i] for i in both], [values["params"][i] for i in both],
                                   [acc[i] for i in both], n_boot=n_boot, seed=seed)
        return {"name": name, "kind": kind, "corr": corr.to_dict(), "failed": len(col) - len(ok),
                "cost": cost, "diff_params": diff, "values": [col[i] for i in ok], "acc": yy}

    rows = []
    for name in v.proxies:
        cost = float(np.median(costs[name])) if costs[name] else None
        rows.append(row(name, values[name], cost, "baseline" if name in BASELINES else "proxy"))
    zero_cost = [p for p in v.proxies if p not in BASELINES]

    def ensemble_col(parts: Sequence[str]) -> list[float | None]:
        ok = [i for i in range(len(keep)) if all(values[p][i] is not None for p in parts)]
        ranks = mean_rank([[values[p][i] for i in ok] for p in parts]) if ok else []
        col: list[float | None] = [None] * len(keep)
        for j, i in enumerate(ok):
            col[i] = float(ranks[j])
        return col

    def ens_cost(parts: Sequence[str]) -> float | None:
        c = [float(np.median(costs[p])) for p in parts if costs[p]]
        return float(sum(c)) if len(c) == len(parts) else None

    for spec in ensembles:
        parts = spec.split("+")
        rows.append(row(spec, ensemble_col(parts), ens_cost(parts), "ensemble (declared)"))

    # ensembles of 2-3 of all scored proxies; the best one by in-sample τ is shown (optimistic) and the
    # choice procedure itself is validated on half splits
    complete = [i for i in range(len(keep)) if all(values[p][i] is not None for p in v.proxies)]
    if search_ensembles and len(complete) >= 3:
        combos = ["+".join(c) for k in (2, 3) for c in itertools.combinations(v.proxies, k)]
        cy = [acc[i] for i in complete]
        scored = []
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for c in combos:
                t = _tau(mean_rank([[values[p][i] for i in complete] for p in c.split("+")]), cy)
                if math.isfinite(t):
                    scored.append((t, c))
        if scored:
            best = max(scored)[1]
            if best not in ensembles:
                rows.append(row(best, ensemble_col(best.split("+")), ens_cost(best.split("+")),
                                "ensemble (best of %d, chosen on these archs)" % len(scored)))
            vals = {p: [values[p][i] for i in complete] for p in v.proxies}
            singles = [p for p in zero_cost if all(values[p][i] is not None for i in range(len(keep)))]
            out["cv_singles"] = selection_cv(vals, cy, singles, splits=cv_splits, seed=seed)
            out["cv_all"] = selection_cv(vals, cy, singles + list(BASELINES) + combos, splits=cv_splits, seed=seed)
            out["cv_n"] = len(complete)
            out["ensembles_tried"] = len(scored)
    out["rows"] = rows
    out["recommendation"] = _recommend(out)
    return out


def _recommend(a: Mapping[str, Any]) -> dict[str, Any]:
    """The default-proxy decision, by a rule stated in the report (see ``rule``)."""
    rows = {r["name"]: r for r in a["rows"]}
    rule = ("a zero-cost proxy (or rank ensemble) becomes the default only if it has no failures, "
            "τ ≥ 0.5, and its paired-bootstrap 95% CI of τ − τ(params) lies above 0 on the same archs; "
            "an ensemble chosen on these archs must also win on held-out halves (choose on one half, score "
            "on the other) in ≥ 90% of splits with held-out median τ ≥ 0.5; otherwise the default stays params")
    params = rows.get("params")
    out: dict[str, Any] = {"rule": rule, "default": "params", "why": ""}
    if params is None or params["corr"]["n"] < 3:
        out["why"] = "not enough trained archs to decide"
        return out
    candidates = [r for r in a["rows"] if r["kind"] != "baseline" and r["failed"] == 0 and r["corr"]["n"] >= 3]
    singles = [r for r in candidates if r["kind"] == "proxy"]
    best_single = max(singles, key=lambda r: r["corr"]["tau"]) if singles else None
    out["best_single"] = best_single["name"] if best_single else None

    def passes(r: Mapping[str, Any]) -> bool:
        return r["corr"]["tau"] >= 0.5 and r["diff_params"][1] > 0

    chosen = None
    if best_single is not None and passes(best_single):
        chosen = best_single
    for r in candidates:
        if r["kind"].startswith("ensemble") and passes(r) and (chosen is None or r["corr"]["tau"] > chosen["corr"]["tau"]):
            if r["kind"].startswith("ensemble (best"):
                cv = a.get("cv_all", {})
                if not (cv.get("splits") and cv["win_share"] >= 0.9 and cv["held_median"] >= 0.5):
                    continue
            chosen = r
    if chosen is not None:
        out["default"] = chosen["name"]
        out["why"] = "meets the rule"
    else:
        out["why"] = "no proxy or ensemble meets the rule"
    return out


# ---------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------


def _f(x: float | None, digits: int = 2) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _ci(point: float, lo: float, hi: float, digits: int = 2) -> str:
    if not math.isfinite(point):
        return "–"
    return f"{point:.{digits}f} [{_f(lo, digits)}, {_f(hi, digits)}]"


def _corr_text(c: Mapping[str, Any], what: str = "τ") -> str:
    return _ci(c["tau"], c["tau_lo"], c["tau_hi"]) if what == "τ" else _ci(c["rho"], c["rho_lo"], c["rho_hi"])


def _ep(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _recipe_text(a: Mapping[str, Any]) -> str:
    r = a["recipe"]
    return (f"{r['optimizer']} (lr {r['lr']:g}, weight decay {r['weight_decay']:g}"
            f"{', Nesterov momentum 0.9' if r['optimizer'] == 'sgd' else ''}), {r['schedule']} schedule with "
            f"{r['warmup_fraction']:g} warm-up, batch {r['batch_size']}, label smoothing {r['label_smoothing']:g}, "
            f"BN re-estimated on {r['bn_recalibration_batches']} batches before testing")


def report_markdown(a: Mapping[str, Any], *, command: str | None = None, pilot: Mapping[str, Any] | None = None) -> str:
    """The report as Markdown (also fine as plain text on a terminal). Every number comes from ``a``."""
    m = a["machine"]
    main = a["main"]
    E, M = a["epochs"], a["multiplier"]
    partial = (main["trained"] + main["failed_trainings"] < a["n_requested"]
               or len(a["noise"]["names"]) < a["noise_requested"]
               or len(a["budget"]["names"]) < a["budget_requested"] or main.get("proxy_missing", 0) > 0)
    title = f"## Proxy validation: {a['space']}, {_ep(E)}" + (" — PARTIAL" if partial else "")
    L = [title, ""]
    if partial:
        L += [f"**Partial result**: main {main['trained']}/{a['n_requested']} archs trained"
              f"{', ' + str(main['proxy_missing']) + ' proxy values missing' if main.get('proxy_missing') else ''}; "
              f"noise {len(a['noise']['names'])}/{a['noise_requested']} pairs; budget "
              f"{len(a['budget']['names'])}/{a['budget_requested']} pairs. Rerun the same command to continue "
              "(every finished training is cached).", ""]
    if command:
        L += [f"- Command: `{command}`"]
    d = a["data_id"]
    size = lambda k, img: f"{a.get(img)}" if a.get(img) else str(d[k])  # noqa: E731
    L += [
        f"- Date: {a['date']}",
        f"- Machine: {m['cpu']}, {m['cores']} logical cores, torch {m['torch']}, {m['threads']} threads",
        f"- Data: {d['data']}, train {size('train_size', 'train_images')} images, test "
        f"{size('test_size', 'test_images')} images, {a.get('resolution_px') or d['resolution']} px",
        f"- Budget: {_ep(E)} (stability check against {M * E}); seeds {a['seed']} (noise: {a['seed']} vs "
        f"{a['noise_seed']})",
        f"- Recipe: {_recipe_text(a)}",
        f"- Proxies: one seeded batch of {a['proxy_batch']} training images; statistics: Kendall τ-b and "
        f"Spearman ρ, percentile bootstrap over archs ({a['n_boot']} resamples, seeded), 95% CIs",
    ]
    es = a.get("epoch_seconds", {})
    if es.get("count"):
        L.append(f"- Training cost here: median {_f(es['median'], 0)} s per epoch per arch "
                 f"(range {_f(es['min'], 0)}–{_f(es['max'], 0)} s over {es['count']} trainings)")
    if pilot:
        rows = pilot["rows"]
        parts = ", ".join(f"{k} ({rows[k]['macs'] / 1e6:.1f} M MACs, {rows[k]['params'] / 1e6:.2f} M params) "
                          f"{rows[k]['s_per_step'] * 1e3:.0f} ms/step ≈ {rows[k]['s_per_epoch']:.0f} s/epoch"
                          for k in ("small", "median", "large") if k in rows)
        L.append(f"- Pilot ({pilot['date']}, batch {next(iter(rows.values()))['batch_size']}, "
                 f"{next(iter(rows.values()))['train_images']} images, smallest/median/largest MACs of the first "
                 f"{pilot['archs_considered']} archs): {parts}")
    L.append("")

    nb = a["noise"]
    L += ["### (a) Noise ceiling: two training seeds", ""]
    if nb["names"]:
        L.append(f"τ = {_corr_text(nb['corr'])}, ρ = {_corr_text(nb['corr'], 'ρ')} on {len(nb['names'])} archs "
                 f"(seed {a['seed']} vs {a['noise_seed']}, {_ep(E)}); mean |Δ top-1| between seeds "
                 f"{_pct(nb['mean_abs_diff'])}, max {_pct(nb['max_abs_diff'])}.")
    else:
        L.append("Not run yet.")
    L.append("")
    bb = a["budget"]
    L += [f"### (b) Budget stability: {E} vs {M * E} epochs", ""]
    if bb["names"]:
        t = bb["corr"]["tau"]
        if not math.isfinite(t):
            verdict = "too few archs (or all tied) for a correlation yet"
        else:
            verdict = ("meets" if t >= 0.7 else "does NOT meet") + " the ≥ 0.7 requirement (point estimate)"
        L.append(f"τ = {_corr_text(bb['corr'])}, ρ = {_corr_text(bb['corr'], 'ρ')} on {len(bb['names'])} archs: "
                 f"{verdict}. Mean top-1 {_pct(float(np.mean(bb['short'])))} at {_ep(E)}, "
                 f"{_pct(float(np.mean(bb['long'])))} at {M * E}.")
    else:
        L.append("Not run yet.")
    L.append("")

    L += [f"### (c) Accuracy of the {main['trained']} archs at {_ep(E)}", ""]
    sp = main.get("spread")
    if sp:
        L.append(f"top-1 min {_pct(sp['min'])}, median {_pct(sp['median'])}, max {_pct(sp['max'])}; std "
                 f"{_pct(sp['std'])}, IQR {_pct(sp['iqr'])}"
                 + (f"; failed trainings {main['failed_trainings']}" if main["failed_trainings"] else "")
                 + (f". Seed noise (mean |Δ| {_pct(nb['mean_abs_diff'])}) is "
                    f"{nb['mean_abs_diff'] / sp['std']:.2f}× the spread across archs (std)."
                    if nb["names"] and sp["std"] > 0 else "."))
    else:
        L.append("No arch trained yet.")
    L.append("")

    L += [f"### (d) Proxies vs trained top-1 ({main['trained']} archs)", ""]
    rows = a["rows"]
    if rows and main["trained"] >= 3:
        L += ["| proxy | n | Kendall τ [95% CI] | Spearman ρ [95% CI] | τ − τ(params) [95% CI] | failed | cost/arch (s) |",
              "|---|---|---|---|---|---|---|"]
        for r in rows:
            label = r["name"] if r["kind"] == "proxy" else f"{r['name']} ({r['kind']})"
            diff = "(baseline)" if r["name"] == "params" else _ci(*r["diff_params"])
            cost = "–" if r["cost"] is None else (f"{r['cost']:.3f}" if r["cost"] < 10 else f"{r['cost']:.1f}")
            L.append(f"| {label} | {r['corr']['n']} | {_corr_text(r['corr'])} | {_corr_text(r['corr'], 'ρ')} | "
                     f"{diff} | {r['failed']} | {cost} |")
        L.append("")
        L += _verdict_lines(a)
    else:
        L.append("Fewer than 3 archs trained: no correlations yet.")
    L.append("")
    return "\n".join(L)


def _verdict_lines(a: Mapping[str, Any]) -> list[str]:
    rows = {r["name"]: r for r in a["rows"]}
    rec = a["recommendation"]
    L = []
    params = rows.get("params")
    best = rec.get("best_single")
    if best and params:
        b = rows[best]
        lo = b["diff_params"][1]
        hi = b["diff_params"][2]
        if lo > 0:
            cmp = "beats #params (the CI of the τ difference lies above 0)"
        elif hi < 0:
            cmp = "is worse than #params (the CI of the τ difference lies below 0)"
        elif b["diff_params"][0] > 0:
            cmp = "is ahead of #params in the point estimate only (the CI of the τ difference includes 0)"
        else:
            cmp = "does not beat #params (point estimate not above it; the CI of the difference includes 0)"
        goal = "met" if b["corr"]["tau"] >= 0.5 else "not met"
        L.append(f"Best single zero-cost proxy by τ: **{best}**, τ = {_corr_text(b['corr'])} vs #params "
                 f"τ = {_corr_text(params['corr'])}; Δτ = {_ci(*b['diff_params'])}: it {cmp}. The τ ≥ 0.5 goal is "
                 f"**{goal}**. (Chosen as the best of {sum(1 for r in a['rows'] if r['kind'] == 'proxy')} proxies "
                 "on these archs, so its τ is optimistic.)")
    cs, ca = a.get("cv_singles", {}), a.get("cv_all", {})
    if cs.get("splits"):
        L.append("")
        L.append(f"Choice validated on held-out halves ({cs['splits']} random splits of the {a.get('cv_n')} archs with "
                 f"every proxy value, {cs['half']} to choose on): choosing the best single proxy gives held-out τ "
                 f"median {_f(cs['held_median'])} [{_f(cs['held_lo'])}, {_f(cs['held_hi'])}] vs #params "
                 f"{_f(cs['base_median'])}, ahead of #params in {100 * cs['win_share']:.0f}% of splits; "
                 + (f"choosing among singles, baselines and all {a.get('ensembles_tried')} mean-rank ensembles of 2–3 "
                    f"gives {_f(ca['held_median'])} [{_f(ca['held_lo'])}, {_f(ca['held_hi'])}], ahead in "
                    f"{100 * ca['win_share']:.0f}% (most often chosen: "
                    f"{', '.join(f'{k} {v}×' for k, v in list(ca['chosen'].items())[:3])})."
                    if ca.get("splits") else ""))
    L.append("")
    L.append(f"**Default search proxy: `{rec['default']}`** ({rec['why']}). Rule: {rec['rule']}.")
    b = a["budget"]
    if b["names"] and b["corr"]["tau"] < 0.7:
        L.append("")
        L.append(f"Caveat: the budget-stability τ ({_f(b['corr']['tau'])}) is below 0.7, so the ground truth at "
                 f"{_ep(a['epochs'])} is itself not a stable ranking.")
    return L


def write_scatter(a: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """One scatter PNG per proxy (and baseline) row: proxy value vs trained top-1, τ/ρ in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for r in a["rows"]:
        if r["kind"] not in ("proxy", "baseline") or not r["values"]:
            continue
        fig, ax = plt.subplots(figsize=(4.2, 3.4), dpi=120)
        ax.scatter(r["values"], [100 * y for y in r["acc"]], s=18, alpha=0.8)
        if r["name"] in BASELINES and min(r["values"]) > 0:
            ax.set_xscale("log")
        ax.set_xlabel(r["name"])
        ax.set_ylabel(f"test top-1 (%) after {_ep(a['epochs'])}")
        c = r["corr"]
        ax.set_title(f"{r['name']}: τ={_f(c['tau'])} ρ={_f(c['rho'])} (n={c['n']}, failed {r['failed']})", fontsize=9)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out_dir / f"proxy_{r['name']}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def append_report(path: str | Path, text: str, title: str = "# Benchmarks") -> None:
    """Append ``text`` as a new section of ``path`` (created with ``title`` if missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "" if path.exists() and path.stat().st_size else f"{title}\n\n"
    with open(path, "a", encoding="utf-8") as fh:
        if not head:
            fh.write("\n")
        fh.write(head + text.rstrip() + "\n")


def load_pilot(cache_dir: str | Path) -> dict[str, Any] | None:
    p = Path(cache_dir) / PILOT_NAME
    try:
        return json.loads(p.read_text()) if p.exists() else None
    except ValueError:
        return None


def save_pilot(cache_dir: str | Path, pilot: Mapping[str, Any]) -> Path:
    p = Path(cache_dir) / PILOT_NAME
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(pilot, indent=2) + "\n")
    return p
