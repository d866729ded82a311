"""Score one architecture: latency (measured or from a lookup table), costs, and an accuracy proxy.

    >>> from nas.search.evaluate import Evaluator
    >>> from nas.search.specs import LatencyMethod, ProxySpec
    >>> ev = Evaluator(latency=LatencyMethod(), proxy=ProxySpec("params"), device="cpu", threads=1)
    >>> scores = ev.evaluate(nas.zoo.load("mnasnet_b1"))        # doctest: +SKIP
    >>> scores.latency_ms, scores.proxy_value                     # doctest: +SKIP

Each candidate is resolved once (:func:`nas.arch.layers.resolve`) and built once, from a seed: the resolved
layers feed the MAC count and the lookup table, the one model is measured, counted and scored by the proxy
(which works on a copy, or is trained in place). With ``data``, the candidate is scored as the network for
that data — input channels and classes from the dataset.

Anything that keeps a candidate from being scored — it fails to build, runs out of memory, its proxy is
NaN — raises :class:`CandidateError` with a one-line reason; the search turns that into a FAIL trial.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import torch

from nas.arch.layers import Layer, resolve
from nas.arch.spec import Arch
from nas.data import DatasetSplits, load_dataset
from nas.device import device_info, resolve_device
from nas.errors import first_line
from nas.latency.measure import measure_latency
from nas.latency.noise import DEFAULT_THREADS
from nas.latency.paired import Reference
from nas.latency.runtimes import check_backend_here
from nas.latency.table import LatencyTable
from nas.model.builder import ArchNet
from nas.model.cost import arch_macs, count_params
from nas.proxies import compute as compute_proxy
from nas.search.specs import DEFAULT_PROXY_BATCH, LatencyMethod, ProxySpec
from nas.space.space import SearchSpace
from nas.train import TrainConfig, train

__all__ = ["CandidateError", "Evaluator", "Scores", "Timing", "check_table_covers"]


class CandidateError(RuntimeError):
    """A candidate could not be scored; the message is the one-line reason recorded on the trial."""


class Timing(NamedTuple):
    """One candidate's latency (ms): median and IQR; ``noisy`` when the measurement was disturbed (other
    processes busy, or repeats too spread: :mod:`nas.latency.noise`) even after its retries; ``others_cpu`` the
    mean CPU cores other processes used meanwhile (None: not measured, e.g. from a lookup table);
    ``reference_now_ms`` (paired) the reference's median block beside the candidate: how fast the reference ran
    in this window, against the latency it is scaled by."""

    median_ms: float
    iqr_ms: float
    noisy: bool = False
    others_cpu: float | None = None
    attempts: int = 1
    reference_now_ms: float | None = None


@dataclass(frozen=True)
class Scores:
    """Everything measured about one candidate. Latency in milliseconds (batch 1 unless configured)."""

    latency_ms: float
    latency_iqr_ms: float
    latency_method: str  # "measure", "paired" or "lut"
    device: str
    threads: int
    params: int
    macs: int
    proxy: str
    proxy_value: float
    proxy_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
    noisy: bool = False
    others_cpu: float | None = None
    attempts: int = 1
    reference_now_ms: float | None = None  # paired: the reference's median block beside this candidate (ms)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Evaluator:
    """Scores architectures with fixed settings (one device, one thread count, one proxy batch).

    Args:
        latency: measure each network whole, or predict it from a lookup table (:class:`LatencyMethod`).
        proxy: the accuracy proxy (:class:`ProxySpec`); ``train`` needs ``data``.
        data: a dataset spec (:func:`nas.data.load_dataset`) for the proxy batch / short training; ``None``
            uses a seeded N(0, 1) batch (fine for data-free proxies such as ``params``, ``macs`` and ``synflow``).
        device: ``auto`` (CUDA if present), ``cpu`` or ``cuda[:N]``.
        threads: intra-op threads for latency measurement (recorded); ``None``: 1 (more threads than idle cores
            make every parallel region wait for a descheduled thread: ×5–16 on a busy 2-core machine).
        batch_size: latency batch size (1: the usual on-device case).
        proxy_batch: images in the zero-cost proxy batch.
        seed: seeds model construction, the proxy batch and the proxy: the same architecture and seed score
            the same in any process.
        latency_repeats, latency_min_run_time: see :func:`nas.latency.measure_latency`.
        lut_force: load a lookup table measured on another setup (with a warning).
        backend: the runtime latency is measured in (``eager``: PyTorch; ``onnxruntime``, ``openvino``: the
            network's ONNX export there; :func:`nas.latency.measure_latency`), and the runtime a lookup table must
            have been built for.
        predictor: for ``proxy=predictor:K``, the fitted :class:`nas.validation.PredictorProxy` that scores a
            candidate by the accuracy it predicts from the candidate's zero-cost features.

    Raises ``ValueError`` (one line) for settings that cannot work (``train`` without data, a table for
    another machine, an unknown device).
    """

    def __init__(self, *, latency: LatencyMethod = LatencyMethod(), proxy: ProxySpec = ProxySpec(),
                 data: str | None = None, device: str = "auto", threads: int | None = None, batch_size: int = 1,
                 proxy_batch: int = DEFAULT_PROXY_BATCH, seed: int = 0, latency_repeats: int = 3,
                 latency_min_run_time: float = 0.1, lut_force: bool = False, predictor: Any = None,
                 backend: str = "eager"):
        self.latency, self.proxy = latency, proxy
        self.device = str(resolve_device(device))
        self.threads = threads if threads is not None else DEFAULT_THREADS  # never more threads than idle cores
        self.batch_size, self.proxy_batch, self.seed = batch_size, proxy_batch, seed
        self.latency_repeats, self.latency_min_run_time = latency_repeats, latency_min_run_time
        self.data_spec = data
        if (proxy.train is not None or proxy.predictor is not None) and data is None:
            raise ValueError(f"proxy {proxy.label} needs real data: give data (e.g. fashion-mnist)")
        if proxy.predictor is not None and predictor is None:
            raise ValueError(f"proxy {proxy.label}: give the fitted predictor (nas.validation.PredictorProxy.fit)")
        self.predictor = predictor
        self.backend = check_backend_here(backend, self.device)
        self.table = (LatencyTable.load(latency.table, device=self.device, threads=self.threads, backend=self.backend,
                                        force=lut_force) if latency.table is not None else None)
        self._data_cache: dict[tuple[int, int, int], DatasetSplits] = {}
        self.reference: Reference | None = None
        """``paired``: the network every candidate is timed beside, with its quiet latency
        (:func:`nas.search.reference.study_reference` sets the study's)."""

    def describe(self) -> dict[str, Any]:
        """The settings, for run.json and the study's settings: method, proxy, data, batches, seed, device."""
        return dict(latency_method=self.latency.label, latency_backend=self.backend, proxy=self.proxy.label,
                    data=self.data_spec,
                    batch_size=self.batch_size, proxy_batch=self.proxy_batch, seed=self.seed,
                    latency_repeats=self.latency_repeats, latency_min_run_time=self.latency_min_run_time,
                    **device_info(self.device, self.threads))

    # -- the pieces ----------------------------------------------------------------------------------------
    def data(self, resolution: int, train_size: int | None = None, test_size: int | None = None) -> DatasetSplits:
        """The dataset at ``resolution`` px (loaded once per size and resolution)."""
        key = (resolution, train_size or 0, test_size or 0)
        if key not in self._data_cache:
            self._data_cache[key] = load_dataset(self.data_spec, resolution=resolution, train_size=train_size,
                                                 test_size=test_size, seed=self.seed)
        return self._data_cache[key]

    def adapt(self, arch: Arch) -> Arch:
        """``arch`` as the network for the evaluator's data: its input channels and classes (unchanged without
        data)."""
        if self.data_spec is None:
            return arch
        opts = self.proxy.train.options() if self.proxy.train is not None else {}
        data = self.data(arch.resolution, opts.get("train_size"), opts.get("test_size"))
        if (arch.in_channels, arch.num_classes) == (data.in_channels, data.num_classes):
            return arch
        return arch.replace(in_channels=data.in_channels, num_classes=data.num_classes)

    def build(self, arch: Arch, layers: Sequence[Layer] | None = None) -> ArchNet:
        """The model of ``arch``, its weights drawn from a generator seeded with ``seed`` (the global RNG
        state is left as it was)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return ArchNet(arch, layers)

    def measure(self, model: torch.nn.Module | None, arch: Arch, layers: Sequence[Layer]) -> Timing:
        """The :class:`Timing` of ``model`` at the arch's resolution (a lookup table: IQR 0, never noisy)."""
        if self.table is not None:
            return Timing(self.table.predict(layers), 0.0)
        if self.latency.kind == "paired" and self.reference is None:
            raise RuntimeError("paired latency needs a reference network: set Evaluator.reference "
                               "(nas.search.reference.study_reference)")
        r = measure_latency(model, arch.resolution, batch_size=self.batch_size, device=self.device,
                            threads=self.threads, repeats=self.latency_repeats, min_run_time=self.latency_min_run_time,
                            backend=self.backend, reference=self.reference if self.latency.kind == "paired" else None)
        return Timing(r.median_ms, r.iqr_ms, r.noisy, r.others_cpu, len(r.attempts) or 1, r.reference_now_ms)

    def measure_arch(self, arch: Arch) -> Timing:
        """The :class:`Timing` of ``arch`` alone — resolved and built once, no proxy (the scaled baselines of
        :func:`nas.search.scale.scale_to_latency` need only this)."""
        arch = self.adapt(arch)
        layers = resolve(arch)
        return self.measure(self.build(arch, layers) if self.table is None else None, arch, layers)

    def _proxy_batch(self, arch: Arch) -> tuple[torch.Tensor, torch.Tensor]:
        """(images, targets) for a zero-cost proxy: seeded N(0, 1) noise, or the first training images."""
        if self.data_spec is None:
            g = torch.Generator().manual_seed(self.seed)
            images = torch.randn(self.proxy_batch, arch.in_channels, arch.resolution, arch.resolution, generator=g)
            return images, torch.randint(0, arch.num_classes, (self.proxy_batch,), generator=g)
        images, targets = self.data(arch.resolution).train.tensors
        return images[: self.proxy_batch], targets[: self.proxy_batch]

    def score_proxy(self, model: ArchNet, params: int, macs: int) -> tuple[float, float, dict[str, Any]]:
        """(value, seconds, extra) of the configured proxy on ``model`` (trained in place by ``train``)."""
        arch = model.arch
        if self.proxy.name in ("params", "macs") and self.data_spec is None:
            return float(params if self.proxy.name == "params" else macs), 0.0, {}  # the counts just taken
        if self.predictor is not None:
            started = time.perf_counter()
            return float(self.predictor.score(model)), time.perf_counter() - started, {}
        if self.proxy.train is not None:
            opts = self.proxy.train.options()
            data = self.data(arch.resolution, opts.pop("train_size", None), opts.pop("test_size", None))
            config = TrainConfig(seed=self.seed, device=self.device, **opts)
            result = train(model, data, config, progress=False)
            if not math.isfinite(result.test_top1):
                raise CandidateError(f"train: non-finite accuracy ({result.test_top1})")
            return float(result.test_top1), float(result.seconds), {"train_epochs": config.epochs}
        images, targets = self._proxy_batch(arch)
        outcome = compute_proxy(self.proxy.name, model, images, targets, seed=self.seed)
        if not outcome.ok or outcome.value is None:
            raise CandidateError(outcome.reason or f"{self.proxy.name}: failed")
        return float(outcome.value), float(outcome.seconds), {}

    def evaluate(self, arch: Arch) -> Scores:
        """All scores of ``arch``. Raises :class:`CandidateError` with a one-line reason on any failure."""
        try:
            arch = self.adapt(arch)
            layers = resolve(arch)
            model = self.build(arch, layers)
            params, macs = count_params(model), arch_macs(arch, layers=layers)
            timing = self.measure(model, arch, layers)
            value, seconds, extra = self.score_proxy(model, params, macs)
        except CandidateError:
            raise
        except (torch.cuda.OutOfMemoryError, MemoryError) as exc:
            raise CandidateError(f"out of memory: {first_line(exc)}") from exc
        except Exception as exc:  # a candidate must never stop the search: record why and go on
            raise CandidateError(first_line(exc, typed=True, limit=500)) from exc
        if not math.isfinite(timing.median_ms):
            raise CandidateError(f"latency: non-finite value ({timing.median_ms})")
        return Scores(latency_ms=timing.median_ms, latency_iqr_ms=timing.iqr_ms, latency_method=self.latency.label,
                      device=self.device, threads=self.threads, params=params, macs=macs, proxy=self.proxy.label,
                      proxy_value=value, proxy_seconds=seconds, extra=extra, noisy=timing.noisy,
                      others_cpu=timing.others_cpu, attempts=timing.attempts,
                      reference_now_ms=timing.reference_now_ms)


def check_table_covers(table: LatencyTable, space: SearchSpace, path: Path | str | None = None) -> None:
    """Raise ``ValueError`` (one line) unless ``table`` has an entry for every layer ``space`` can produce at its
    resolution — else every trial would fail on its first missing op."""
    ops = space.ops()
    missing = [op.key for op in ops if op.key not in table.entries]
    if missing:
        built_for = f"space {table.meta.space!r}" if table.meta.space else "another op list"
        raise ValueError(f"{path or 'the latency table'}: built for {built_for}, it has no entry for {len(missing)} of "
                         f"the {len(ops)} layers of space {space.name!r} (e.g. {missing[0]}); build one for this "
                         f"space with `nas build-lut --space {space.name}`")

