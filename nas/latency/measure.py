"""Measure the inference latency of a model on this machine.

:func:`measure_latency` is the one entry point. It is built on
:class:`torch.utils.benchmark.Timer` (``blocked_autorange``), which picks a block
size so timer overhead is negligible, pins the thread count while timing and
synchronises CUDA around every block. On top of that this module:

* puts the model in ``eval()`` and restores its previous mode afterwards;
* runs under :func:`torch.inference_mode`;
* fixes the intra-op thread count (and restores the previous one afterwards);
* runs warm-up iterations (and enables ``cudnn.benchmark`` on CUDA);
* takes ``repeats`` *independent* ``blocked_autorange`` measurements, so the
  spread between runs (:attr:`LatencyResult.cv`) can be judged, not only the
  spread inside one run (:attr:`LatencyResult.iqr_ms`);
* records where and how the number was obtained (device name, torch version,
  threads, shape, memory format, UTC date) in a serialisable :class:`LatencyResult`.

Several independent measurements of one model: :func:`repeatability`.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime
import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils import benchmark

from nas.arch.spec import Arch
from nas.device import DeviceInfo, resolve_device
from nas.model.builder import build_model

__all__ = ["LatencyResult", "measure_latency", "repeatability"]

# ----------------------------------------------------------------------------- result
@dataclasses.dataclass
class LatencyResult:
    """One latency measurement (all times in milliseconds, per forward call of one batch)."""

    median_ms: float  # median of all per-block times pooled over the repeats
    iqr_ms: float  # 75th - 25th percentile of the same pooled per-block times
    samples_ms: list[float]  # median of each independent repeat, in order
    device: str
    device_type: str
    torch_version: str
    threads: int
    batch_size: int
    resolution: int
    in_channels: int
    channels_last: bool
    method: str = "measure"
    date: str = ""  # ISO 8601, UTC

    @property
    def cv(self) -> float:
        """Coefficient of variation (sample std / mean) of :attr:`samples_ms`.

        Spread *between* independent measurements; ``nan`` with fewer than 2 samples.
        """
        if len(self.samples_ms) < 2:
            return math.nan
        a = np.asarray(self.samples_ms, dtype=np.float64)
        return float(a.std(ddof=1) / a.mean())

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["samples_ms"] = list(d["samples_ms"])
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LatencyResult":
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing = sorted(required - data.keys())
        unknown = sorted(data.keys() - names)
        if missing or unknown:
            raise ValueError(f"bad LatencyResult dict: missing {missing}, unknown {unknown}")
        kw = dict(data)
        kw["samples_ms"] = [float(v) for v in kw["samples_ms"]]
        return cls(**kw)


# ----------------------------------------------------------------------------- measuring
def _as_module(model: Any) -> nn.Module:
    """A module as is; an :class:`~nas.arch.Arch`, YAML path, dict or zoo name is built first."""
    if isinstance(model, nn.Module):
        return model
    if isinstance(model, (Arch, str, dict)) or hasattr(model, "__fspath__"):
        return build_model(model)
    raise TypeError(f"measure_latency expects an nn.Module or an Arch, got {type(model).__name__}")


def _infer_in_channels(model: nn.Module) -> int:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            if m.in_channels <= 0:  # e.g. an uninitialised LazyConv2d
                break
            return int(m.in_channels)
    raise ValueError(
        f"cannot infer in_channels for {type(model).__name__}: no initialised Conv2d; pass in_channels="
    )


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _tensors(model: nn.Module):
    yield from model.parameters()
    yield from model.buffers()


def measure_latency(
    model: "nn.Module | Arch | str",
    resolution: int,
    *,
    batch_size: int = 1,
    in_channels: int | None = None,
    device: str = "auto",
    threads: int | None = None,
    repeats: int = 5,
    min_run_time: float = 0.2,
    warmup: int = 10,
    channels_last: bool = False,
) -> LatencyResult:
    """Median forward latency of ``model`` on a ``(batch_size, in_channels, resolution, resolution)`` input.

    Args:
        model: the network, or an :class:`~nas.arch.Arch` / YAML path / zoo name to build; put in ``eval()``
            while measuring, each submodule's previous ``training`` flag restored afterwards. Measured in
            place when it already lives on ``device`` in its own memory format; otherwise a deep copy is
            moved/converted, so the caller's model is never relocated.
        resolution: input height and width in pixels.
        batch_size: input batch size.
        in_channels: input channels; ``None`` -> ``in_channels`` of the first ``nn.Conv2d``.
        device: ``'auto'`` (cuda if available, else cpu), ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        threads: intra-op threads while measuring (``torch.set_num_threads``); ``None`` keeps
            the current count. The previous count is restored afterwards; the value used is
            recorded in the result.
        repeats: number of independent ``Timer.blocked_autorange`` measurements.
        min_run_time: seconds of timing per repeat.
        warmup: untimed forward calls before timing.
        channels_last: use ``torch.channels_last`` for model and input (useful on CUDA with
            tensor cores; also valid on CPU).

    Returns:
        :class:`LatencyResult`; ``median_ms``/``iqr_ms`` are over the per-call times of all
        blocks of all repeats pooled, ``samples_ms`` holds each repeat's median.

    Several independent measurements of one model: call this repeatedly, or :func:`repeatability`.
    A noisy machine gives noisy numbers (check :attr:`LatencyResult.cv`).
    """
    model = _as_module(model)
    for name, value, minimum in (("resolution", resolution, 1), ("batch_size", batch_size, 1),
                                 ("repeats", repeats, 1), ("warmup", warmup, 0)):
        _positive_int(name, value, minimum)
    if threads is not None:
        _positive_int("threads", threads)
    if not (isinstance(min_run_time, (int, float)) and math.isfinite(min_run_time) and min_run_time > 0):
        raise ValueError(f"min_run_time must be a positive number of seconds, got {min_run_time!r}")
    dev = resolve_device(device)
    in_channels = _positive_int("in_channels", _infer_in_channels(model) if in_channels is None else in_channels)
    work, x = _placed(model, dev, (batch_size, in_channels, resolution, resolution), bool(channels_last))
    n_threads = threads if threads is not None else torch.get_num_threads()
    measurements = _timed(model, work, x, dev, n_threads, repeats=repeats, min_run_time=min_run_time, warmup=warmup)
    pooled_ms = np.asarray([t for m in measurements for t in m.times], dtype=np.float64) * 1e3
    p25, p50, p75 = np.percentile(pooled_ms, [25, 50, 75])
    return LatencyResult(median_ms=float(p50), iqr_ms=float(p75 - p25),
                         samples_ms=[float(m.median) * 1e3 for m in measurements],
                         **DeviceInfo.current(dev, n_threads).to_dict(), batch_size=batch_size, resolution=resolution,
                         in_channels=in_channels, channels_last=bool(channels_last), method="measure",
                         date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))


def _placed(model: nn.Module, dev: torch.device, shape: tuple[int, int, int, int],
            channels_last: bool) -> tuple[nn.Module, torch.Tensor]:
    """The model to time (a moved/converted deep copy only when it has to move or change layout) and a seeded
    random input of ``shape`` from a private generator (measuring never consumes the global RNG stream)."""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    tensors = list(_tensors(model))
    needs_copy = channels_last or any(t.device != dev for t in tensors)
    work = copy.deepcopy(model).to(device=dev, memory_format=memory_format) if needs_copy else model
    dtype = next((t.dtype for t in tensors if t.is_floating_point()), torch.float32)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0), dtype=dtype)
    return work, x.to(device=dev, memory_format=memory_format)


def _timed(model: nn.Module, work: nn.Module, x: torch.Tensor, dev: torch.device, n_threads: int, *, repeats: int,
           min_run_time: float, warmup: int) -> list[benchmark.Measurement]:
    """``repeats`` independent ``blocked_autorange`` runs of ``work(x)`` in eval and inference mode with
    ``n_threads`` intra-op threads after ``warmup`` calls; threads, cuDNN autotuning and every submodule's
    train/eval flag of ``model`` are restored afterwards."""
    prev_threads = torch.get_num_threads()
    prev_modes = [(m, m.training) for m in model.modules()]  # per module: a model may mix modes
    prev_cudnn_benchmark = torch.backends.cudnn.benchmark
    try:
        torch.set_num_threads(n_threads)
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True
        work.eval()
        with torch.inference_mode():
            for _ in range(warmup):
                work(x)
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            timer = benchmark.Timer(stmt="model(x)", globals={"model": work, "x": x}, num_threads=n_threads)
            return [timer.blocked_autorange(min_run_time=min_run_time) for _ in range(repeats)]
    finally:
        model.train(prev_modes[0][1])  # honours overridden train(); then fix any mixed-mode submodule
        for m, training in prev_modes:
            if m.training != training:
                m.training = training
        torch.backends.cudnn.benchmark = prev_cudnn_benchmark
        torch.set_num_threads(prev_threads)


def repeatability(model: nn.Module, resolution: int, n: int = 5, **kwargs: Any) -> list[LatencyResult]:
    """``n`` independent :func:`measure_latency` calls (same keyword arguments) of one model.

    Use the spread of the returned ``median_ms`` values to judge how reproducible
    latency is on this machine (e.g. their coefficient of variation).
    """
    n = _positive_int("n", n)
    return [measure_latency(model, resolution, **kwargs) for _ in range(n)]
