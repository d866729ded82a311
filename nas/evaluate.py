"""Score one architecture: latency (measured or from a lookup table), costs, and an accuracy proxy.

    >>> from nas.evaluate import Evaluator
    >>> ev = Evaluator(latency="measure", proxy="params")
    >>> scores = ev.evaluate(nas.zoo.load("mnasnet_b1"))        # doctest: +SKIP
    >>> scores.latency_ms, scores.proxy_value                     # doctest: +SKIP

Anything that keeps a candidate from being scored — it fails to build, runs out of memory, its proxy is
NaN — raises :class:`CandidateError` with a one-line reason; the search turns that into a FAIL trial.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from nas.arch import Arch

__all__ = ["CandidateError", "Evaluator", "Scores", "parse_latency_method", "parse_proxy"]

#: The accuracy proxy a search uses unless told otherwise: the one scripts/validate_proxy.py found to beat
#: #params against real training (see README, "Which proxy, and why", and docs/benchmarks.md).
DEFAULT_PROXY = "naswot"
#: Images in a zero-cost proxy's batch: the number the proxies were validated with.
DEFAULT_PROXY_BATCH = 64


class CandidateError(RuntimeError):
    """A candidate could not be scored; the message is the one-line reason recorded on the trial."""


@dataclass(frozen=True)
class Scores:
    """Everything measured about one candidate. Latency in milliseconds (batch 1 unless configured)."""

    latency_ms: float
    latency_iqr_ms: float
    latency_method: str  # "measure" or "lut"
    device: str
    threads: int
    params: int
    macs: int
    proxy: str
    proxy_value: float
    proxy_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_latency_method(text: str) -> tuple[str, Path | None]:
    """``measure`` or ``lut:FILE`` → (method, path). One-line ValueError otherwise."""
    if text == "measure":
        return "measure", None
    if text.startswith("lut:") and len(text) > 4:
        return "lut", Path(text[4:])
    raise ValueError(f"invalid --latency {text!r}: use 'measure' or 'lut:FILE.json'")


_TRAIN = re.compile(r"^train(?::(.*))?$")


def parse_proxy(text: str) -> tuple[str, dict[str, Any]]:
    """A zero-cost proxy name, or ``train:epochs=N[,lr=X,...]`` (short training on ``--data``)."""
    from nas import proxies

    match = _TRAIN.match(text)
    if match:
        options: dict[str, Any] = {}
        for item in filter(None, (match.group(1) or "").split(",")):
            key, _, value = item.partition("=")
            if key not in ("epochs", "lr", "batch_size", "train_size", "test_size", "optimizer") or not value:
                raise ValueError(f"invalid --proxy {text!r}: options are epochs=N, lr=X, batch_size=N, "
                                 "train_size=N, test_size=N, optimizer=sgd|adamw")
            try:
                options[key] = value if key == "optimizer" else (float(value) if key == "lr" else int(value))
            except ValueError:
                raise ValueError(f"invalid --proxy {text!r}: {key} must be a number") from None
        options.setdefault("epochs", 1)
        if options["epochs"] < 1:
            raise ValueError(f"invalid --proxy {text!r}: epochs must be ≥ 1")
        return "train", options
    if text in proxies.names():
        return text, {}
    raise ValueError(f"invalid --proxy {text!r}: use one of {', '.join(proxies.names())} or train:epochs=N")


class Evaluator:
    """Scores architectures with fixed settings (one device, one thread count, one proxy batch).

    Args:
        latency: ``"measure"`` (time the whole network) or ``"lut:FILE"`` (sum of a lookup table).
        proxy: a zero-cost proxy name (``nas.proxies.names()``) or ``"train:epochs=N"``.
        data: a dataset spec (``nas.data``) for the proxy batch / short training; ``None`` uses a seeded
            Gaussian batch (fine for data-free proxies such as ``params``, ``macs`` and ``synflow``).
        device: ``auto`` (CUDA if present), ``cpu`` or ``cuda[:N]``.
        threads: intra-op threads for latency measurement (recorded); ``None`` keeps torch's setting.
        batch_size: latency batch size (1: the usual on-device case).
        proxy_batch: images in the zero-cost proxy batch.
        latency_repeats, latency_min_run_time: see :func:`nas.latency.measure_latency`.
    """

    def __init__(self, *, latency: str = "measure", proxy: str = DEFAULT_PROXY, data: str | None = None,
                 device: str = "auto", threads: int | None = None, batch_size: int = 1,
                 proxy_batch: int = DEFAULT_PROXY_BATCH,
                 seed: int = 0, latency_repeats: int = 3, latency_min_run_time: float = 0.1,
                 lut_force: bool = False):
        from nas.latency.measure import resolve_device

        self.latency_method, lut_path = parse_latency_method(latency)
        self.proxy, self.proxy_options = parse_proxy(proxy)
        self.proxy_spec = proxy
        self.device = str(resolve_device(device))
        self.threads = threads if threads is not None else torch.get_num_threads()
        self.batch_size = batch_size
        self.proxy_batch = proxy_batch
        self.seed = seed
        self.latency_repeats = latency_repeats
        self.latency_min_run_time = latency_min_run_time
        self.data_spec = data
        if self.proxy == "train" and data is None:
            raise ValueError(f"--proxy {proxy} trains on real data: give --data (e.g. --data fashion-mnist)")
        self.table = None
        if lut_path is not None:
            from nas.latency.lut import LatencyTable

            self.table = LatencyTable.load(lut_path, device=self.device, threads=self.threads, force=lut_force)
        self._data_cache: dict[tuple[int, int], Any] = {}

    # -- settings, for run.json and trial attributes -------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        from nas.latency.measure import device_info

        info = device_info(self.device, self.threads)
        return dict(latency_method=self.latency_method, proxy=self.proxy_spec, data=self.data_spec,
                    batch_size=self.batch_size, proxy_batch=self.proxy_batch, seed=self.seed,
                    latency_repeats=self.latency_repeats, latency_min_run_time=self.latency_min_run_time, **info)

    # -- the pieces ----------------------------------------------------------------------------------------
    def _data(self, resolution: int, train_size: int | None = None, test_size: int | None = None) -> Any:
        from nas.data import load_dataset

        key = (resolution, train_size or 0, test_size or 0)
        if key not in self._data_cache:
            self._data_cache[key] = load_dataset(self.data_spec, resolution=resolution, train_size=train_size,
                                                 test_size=test_size, seed=self.seed)
        return self._data_cache[key]

    def _proxy_batch(self, arch: Arch) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        """(images, targets, num_classes, in_channels) for a zero-cost proxy, seeded."""
        if self.data_spec is None:
            g = torch.Generator().manual_seed(self.seed)
            images = torch.randn(self.proxy_batch, arch.in_channels, arch.resolution, arch.resolution, generator=g)
            targets = torch.randint(0, arch.num_classes, (self.proxy_batch,), generator=g)
            return images, targets, arch.num_classes, arch.in_channels
        data = self._data(arch.resolution, train_size=max(self.proxy_batch, 10 * 10), test_size=10)
        images, targets = data.train.tensors
        return images[: self.proxy_batch], targets[: self.proxy_batch], data.num_classes, data.in_channels

    def measure(self, model: torch.nn.Module, arch: Arch) -> tuple[float, float]:
        """(median, IQR) latency in ms of ``model`` at the arch's resolution."""
        if self.table is not None:
            return self.table.predict(arch), 0.0
        from nas.latency.measure import measure_latency

        result = measure_latency(model, arch.resolution, batch_size=self.batch_size, device=self.device,
                                 threads=self.threads, repeats=self.latency_repeats,
                                 min_run_time=self.latency_min_run_time)
        return result.median_ms, result.iqr_ms

    def score_proxy(self, arch: Arch) -> tuple[float, float, dict[str, Any]]:
        """(value, seconds, extra) of the configured proxy; raises CandidateError when it fails."""
        from nas.builder import build_model

        if self.proxy == "train":
            from nas.train import TrainConfig, train

            opts = dict(self.proxy_options)
            data = self._data(arch.resolution, opts.pop("train_size", None), opts.pop("test_size", None))
            model = build_model(arch, num_classes=data.num_classes, in_channels=data.in_channels)
            config = TrainConfig(seed=self.seed, device=self.device, **opts)
            result = train(model, data, config, progress=False)
            if not math.isfinite(result.test_top1):
                raise CandidateError(f"train: non-finite accuracy ({result.test_top1})")
            return float(result.test_top1), float(result.seconds), {"train_epochs": config.epochs}
        from nas import proxies

        images, targets, num_classes, in_channels = self._proxy_batch(arch)
        model = build_model(arch, num_classes=num_classes, in_channels=in_channels)
        outcome = proxies.compute(self.proxy, model, images, targets, seed=self.seed)
        if not outcome.ok or outcome.value is None:
            raise CandidateError(outcome.reason or f"{self.proxy}: failed")
        return float(outcome.value), float(outcome.seconds), {}

    def evaluate(self, arch: Arch) -> Scores:
        """All scores of ``arch``. Raises :class:`CandidateError` with a one-line reason on any failure."""
        from nas.builder import build_model
        from nas.cost import arch_macs, count_params

        try:
            model = build_model(arch)
            params = count_params(model)
            macs = arch_macs(arch)  # fvcore, one trace per distinct layer per process
            latency_ms, iqr_ms = self.measure(model, arch)
            del model
            if self.proxy in ("params", "macs") and self.data_spec is None:
                # the baseline proxies of the very model just counted (the proxy batch would build the same
                # net: same classes, same channels), so no second build
                value, seconds, extra = float(params if self.proxy == "params" else macs), 0.0, {}
            else:
                value, seconds, extra = self.score_proxy(arch)
        except CandidateError:
            raise
        except (torch.cuda.OutOfMemoryError, MemoryError) as exc:
            raise CandidateError(f"out of memory: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
        except Exception as exc:  # a candidate must never stop the search: record why and go on
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise CandidateError(f"{type(exc).__name__}: {first}"[:500]) from exc
        if not math.isfinite(latency_ms):
            raise CandidateError(f"latency: non-finite value ({latency_ms})")
        return Scores(latency_ms=latency_ms, latency_iqr_ms=iqr_ms, latency_method=self.latency_method,
                      device=self.device, threads=self.threads, params=params, macs=macs, proxy=self.proxy_spec,
                      proxy_value=value, proxy_seconds=seconds, extra=extra)
