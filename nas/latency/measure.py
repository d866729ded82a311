"""Measure the inference latency of a model on this machine, and say when the number is not to be trusted.

:func:`measure_latency` is the one entry point. It

* keeps the process's freed memory (:mod:`nas.allocator`; glibc's defaults re-fault activations every call);
* puts the model in ``eval()`` (each submodule's previous mode restored afterwards) and runs under
  :func:`torch.inference_mode` with a fixed intra-op thread count — 1 unless the caller names another
  (:data:`~nas.latency.noise.DEFAULT_THREADS`; one exceeding the idle cores warns once);
* runs warm-up calls (``cudnn.benchmark`` on CUDA), then ``repeats`` × ``min_run_time`` s in ~25-ms blocks;
* *solo* (default) times the model alone; *paired* (``reference=``) alternates it block by block with a fixed
  reference network and reports ``ratio × the reference's quiet latency`` (:mod:`nas.latency.paired`);
* watches the CPU time other processes use during every attempt (:class:`nas.machine.OtherCpuLoad`) and judges
  the attempt (:class:`~nas.latency.noise.NoisePolicy`): noisy attempts are retried after a pause, at most
  ``noise.retries`` times; every attempt's numbers are kept in :attr:`LatencyResult.attempts`, and the result
  is the first clean attempt or, failing that, the least noisy one with ``noisy=True``;
* records how the number was obtained (device, torch, threads, shape, load, date) in a :class:`LatencyResult`.

Several independent measurements: :func:`repeatability`. A reference for paired timing: :func:`measure_reference`.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime
import math
import time
import warnings
import weakref
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from nas.allocator import keep_freed_memory
from nas.arch.spec import Arch
from nas.device import DeviceInfo, resolve_device
from nas.latency.clock import Runner, calls_per_block, paired_blocks, solo_blocks
from nas.latency.noise import (DEFAULT_THREADS, NoisePolicy, OversubscribedThreadsWarning, attempt_record,
                               check_threads)
from nas.latency.paired import BlockStats, Reference, ratio_stats, solo_stats
from nas.latency.runtimes import check_backend, runtime_step
from nas.machine import CpuUse, OtherCpuLoad
from nas.model.builder import build_model
from nas.model.onnx import to_onnx

__all__ = ["LatencyResult", "measure_latency", "measure_reference", "repeatability"]

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
    mode: str = "solo"  # "solo", or "paired" with a reference network
    others_cpu: float | None = None  # mean cores competing processes used while measuring (None: unknown)
    others_niced_cpu: float | None = None  # mean cores lower-priority (niced) processes used meanwhile
    cores: int = 0  # logical CPUs of the machine (0: not recorded)
    noisy: bool = False  # interference or the spread of the repeats passed the thresholds (see noise_reasons)
    noise_reasons: list[str] = dataclasses.field(default_factory=list)
    attempts: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # every attempt, retries included
    reference: str = ""  # paired: the reference network's name
    reference_ms: float | None = None  # paired: its quiet latency, the scale of every number above
    reference_now_ms: float | None = None  # paired: its median block in this window (how slow the machine was)
    backend: str = "eager"  # "eager" (PyTorch), "onnxruntime" or "openvino"
    runtime: dict[str, Any] = dataclasses.field(default_factory=dict)  # the runtime's settings (not eager)
    allocator: str = ""  # the process's allocator setting (nas.allocator; "": not recorded)

    @property
    def cv(self) -> float:
        """Coefficient of variation (sample std / mean) of :attr:`samples_ms`; ``nan`` with fewer than 2."""
        if len(self.samples_ms) < 2:
            return math.nan
        a = np.asarray(self.samples_ms, dtype=np.float64)
        return float(a.std(ddof=1) / a.mean())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

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
        kw["noise_reasons"] = [str(v) for v in kw.get("noise_reasons", [])]
        kw["attempts"] = [dict(a) for a in kw.get("attempts", [])]
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
    reference: Reference | None = None,
    noise: NoisePolicy | None = None,
    backend: str = "eager",
    exporter: str = "torchscript",
) -> LatencyResult:
    """Median forward latency of ``model`` on a ``(batch_size, in_channels, resolution, resolution)`` input. Args:
        model: the network, or an :class:`~nas.arch.Arch` / YAML path / zoo name to build; measured in place
            when it already lives on ``device`` in its own memory format, otherwise a moved deep copy is.
        resolution, batch_size, in_channels: input size (px), batch, channels (``None``: the first conv's).
        device: ``'auto'`` (cuda if available, else cpu), ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        threads: intra-op threads while measuring; ``None`` -> 1 (more threads than idle cores inflate every
            parallel region). An explicit count is honoured; if it exceeded the idle cores while measuring,
            one :class:`~nas.latency.noise.OversubscribedThreadsWarning` says so. Restored afterwards; recorded.
        repeats, min_run_time: independent repeats per attempt (spread: :attr:`LatencyResult.cv`), seconds each.
        warmup, channels_last: untimed calls before timing; ``torch.channels_last`` for model and input.
        reference: paired mode against this :class:`~nas.latency.paired.Reference` (same batch and threads).
        noise: thresholds and retries (:class:`~nas.latency.noise.NoisePolicy`; ``None``: the defaults).
        backend, exporter: ``eager`` (PyTorch), or ``onnxruntime`` / ``openvino``: the model (and reference) run
            there as exported by ``exporter`` (:func:`nas.model.onnx.to_onnx`), batch 1, ``threads`` threads; the
            same clock, retries and paired mode apply; the settings are :attr:`LatencyResult.runtime`.

    Returns:
        :class:`LatencyResult` of the reported attempt; ``median_ms``/``iqr_ms`` over the per-call times of all
        its blocks pooled (paired: over the per-round ratios, times ``reference.quiet_ms``), ``samples_ms`` one
        per repeat, ``others_cpu``/``noisy`` for that attempt, ``attempts`` every attempt.
    """
    model = _as_module(model)
    _check_arguments(resolution, batch_size, repeats, warmup, threads, min_run_time)
    policy, dev = NoisePolicy() if noise is None else noise, resolve_device(device)
    n_threads = DEFAULT_THREADS if threads is None else threads
    in_channels = _positive_int("in_channels", _infer_in_channels(model) if in_channels is None else in_channels)
    _check_backend(backend, batch_size, channels_last)
    work, x = _placed(model, dev, (batch_size, in_channels, resolution, resolution), bool(channels_last))
    allocator = keep_freed_memory()  # else each call may fault its activations in again (nas.allocator)
    pair = _reference_runner(reference, dev, batch_size, n_threads, bool(channels_last), backend, exporter)
    with _measuring(model, dev, n_threads, [work] + ([pair[1]] if pair else [])):
        cand, runtime = _backend_runner(backend, exporter, work, x, dev, n_threads)
        for _ in range(warmup):
            cand.call()
            if pair:
                pair[0].call()
        cand.sync()
        attempts = _attempts(cand, pair[0] if pair else None, reference, policy, repeats, min_run_time)
    best = _reported(attempts)
    _warn_oversubscribed(threads, dev, best)
    return _result(best, attempts, reference, **DeviceInfo.current(dev, n_threads).to_dict(), batch_size=batch_size,
                   resolution=resolution, in_channels=in_channels, channels_last=bool(channels_last), backend=backend,
                   runtime=runtime, allocator=allocator)


def _result(best: dict[str, Any], attempts: list[dict[str, Any]], reference: Reference | None,
            **fields: Any) -> LatencyResult:
    """The :class:`LatencyResult` of the reported attempt ``best`` (``fields``: device, threads and shape)."""
    stats, use, reasons = best["stats"], best["use"], best["reasons"]
    return LatencyResult(
        median_ms=stats.median_ms, iqr_ms=stats.iqr_ms, samples_ms=stats.samples_ms, **fields, method="measure",
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        mode="solo" if reference is None else "paired",
        others_cpu=None if use is None else round(use.others, 3),
        others_niced_cpu=None if use is None else round(use.niced, 3), cores=use.cores if use else 0,
        noisy=bool(reasons), noise_reasons=list(reasons), attempts=[a["record"] for a in attempts],
        reference="" if reference is None else reference.name,
        reference_ms=None if reference is None else float(reference.quiet_ms),
        reference_now_ms=stats.reference_now_ms)


def _warn_oversubscribed(threads: int | None, dev: torch.device, best: dict[str, Any]) -> None:
    """One warning when an explicit thread count exceeded the idle cores while measuring."""
    if threads is not None and dev.type == "cpu" and best["use"] is not None:
        message = check_threads(threads, cores=best["use"].cores, others_cpu=best["use"].others)
        if message:
            warnings.warn(message, OversubscribedThreadsWarning, stacklevel=3)


def _check_backend(backend: str, batch_size: int, channels_last: bool) -> None:
    check_backend(backend)
    if backend != "eager" and (batch_size != 1 or channels_last):
        raise ValueError(f"backend {backend!r} times batch 1 in the default memory format")


def _check_arguments(resolution: Any, batch_size: Any, repeats: Any, warmup: Any, threads: Any,
                     min_run_time: Any) -> None:
    for name, value, minimum in (("resolution", resolution, 1), ("batch_size", batch_size, 1),
                                 ("repeats", repeats, 1), ("warmup", warmup, 0)):
        _positive_int(name, value, minimum)
    if threads is not None:
        _positive_int("threads", threads)
    if not (isinstance(min_run_time, (int, float)) and math.isfinite(min_run_time) and min_run_time > 0):
        raise ValueError(f"min_run_time must be a positive number of seconds, got {min_run_time!r}")


def _runner(work: nn.Module, x: torch.Tensor, dev: torch.device) -> Runner:
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    return Runner(lambda: work(x), sync)


def _backend_runner(backend: str, exporter: str, work: nn.Module, x: torch.Tensor, dev: torch.device,
                    threads: int) -> tuple[Runner, dict[str, Any]]:
    """The call to time — PyTorch itself, or the ONNX export of ``work`` in a deployment runtime — and the
    runtime's settings (the export's exporter, opset and check included)."""
    if backend == "eager":
        return _runner(work, x, dev), {}
    exported = to_onnx(work, input_shape=tuple(x.shape), exporter=exporter)
    step, settings = runtime_step(backend, exported.data, tuple(x.shape), threads=threads, device=str(dev))
    info = exported.info
    settings["onnx"] = {"exporter": info.exporter, "fallback_reason": info.fallback_reason, "opset": info.opset,
                        "max_abs_diff": info.max_abs_diff}
    return Runner(step), settings


#: The reference's placed copy (CUDA, channels_last) or runtime session (ONNX Runtime, OpenVINO) per setup, kept
#: while its module lives, so that a paired search does not copy or export it again for every candidate.
_REFERENCE_RUNNERS: "weakref.WeakKeyDictionary[nn.Module, dict[tuple[Any, ...], tuple[Runner, nn.Module | None]]]" = \
    weakref.WeakKeyDictionary()


def _reference_runner(reference: Reference | None, dev: torch.device, batch_size: int, threads: int,
                      channels_last: bool, backend: str = "eager",
                      exporter: str = "torchscript") -> tuple[Runner, nn.Module] | None:
    """The reference's runner and placed module, after checking it was measured like the candidate will be;
    built once per module and setup (:data:`_REFERENCE_RUNNERS`): change a reference's weights in place and
    its copies and exports stay as they were."""
    if reference is None:
        return None
    if not isinstance(reference, Reference):
        raise TypeError(f"reference must be a nas.latency.paired.Reference, got {type(reference).__name__}")
    if reference.batch_size != batch_size:
        raise ValueError(f"reference {reference.name!r} was measured at batch size {reference.batch_size}, "
                         f"the candidate at {batch_size}")
    if reference.threads is not None and reference.threads != threads:
        raise ValueError(f"reference {reference.name!r} was measured with {reference.threads} thread(s), the "
                         f"candidate with {threads}")
    module = _as_module(reference.model)
    shape = (batch_size, reference.in_channels, reference.resolution, reference.resolution)
    key = (str(dev), shape, channels_last, backend, exporter, threads)
    kept = _REFERENCE_RUNNERS.get(module, {}).get(key)
    if kept is not None:
        return kept[0], module if kept[1] is None else kept[1]
    work, x = _placed(module, dev, shape, channels_last)  # a module already in place is timed as it is, in eval
    runner = _backend_runner(backend, exporter, work, x, dev, threads)[0]
    if backend != "eager" or work is not module:
        _REFERENCE_RUNNERS.setdefault(module, {})[key] = (runner, None if work is module else work)
    return runner, work


@contextlib.contextmanager
def _measuring(model: nn.Module, dev: torch.device, n_threads: int, works: list[nn.Module]) -> Iterator[None]:
    """Eval and inference mode with ``n_threads`` intra-op threads (cuDNN autotuning on CUDA); threads, cuDNN
    and every submodule's train/eval flag of ``model`` restored afterwards."""
    prev_threads = torch.get_num_threads()
    prev_modes = [(m, m.training) for m in model.modules()]  # per module: a model may mix modes
    prev_cudnn_benchmark = torch.backends.cudnn.benchmark
    try:
        torch.set_num_threads(n_threads)
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True
        for w in works:
            w.eval()
        with torch.inference_mode():
            yield
    finally:
        model.train(prev_modes[0][1])  # honours overridden train(); then fix any mixed-mode submodule
        for m, training in prev_modes:
            if m.training != training:
                m.training = training
        torch.backends.cudnn.benchmark = prev_cudnn_benchmark
        torch.set_num_threads(prev_threads)


def _attempts(cand: Runner, ref: Runner | None, reference: Reference | None, policy: NoisePolicy, repeats: int,
              min_run_time: float) -> list[dict[str, Any]]:
    """Attempts until one is clean or ``policy.retries`` retries are spent, each with its stats, the load
    other processes put on the machine during it (:class:`~nas.machine.CpuUse`), its reasons and its record."""
    n_cand = calls_per_block(cand)
    n_ref = calls_per_block(ref) if ref is not None else 0
    out: list[dict[str, Any]] = []
    for i in range(policy.retries + 1):
        waited = policy.wait_s if i else 0.0
        if waited:
            time.sleep(waited)
        monitor = OtherCpuLoad()
        if ref is None or reference is None:
            stats = solo_stats([solo_blocks(cand, n_cand, min_run_time) for _ in range(repeats)])
        else:
            stats = ratio_stats([paired_blocks(cand, n_cand, ref, n_ref, min_run_time) for _ in range(repeats)],
                                reference.quiet_ms)
        use = monitor.sample_use()
        out.append(_attempt(stats, use, policy, ref is not None, waited, torch.get_num_threads()))
        if not out[-1]["reasons"]:
            break
    return out


def _attempt(stats: BlockStats, use: CpuUse | None, policy: NoisePolicy, paired: bool, waited: float,
             threads: int) -> dict[str, Any]:
    judged = dict(others_cpu=None if use is None else use.others, cv=stats.cv, paired=paired,
                  cores=use.cores if use else 1, threads=threads)
    reasons = policy.reasons(**judged)
    return {"stats": stats, "use": use, "reasons": reasons, "score": policy.score(**judged),
            "record": attempt_record(median_ms=stats.median_ms, cv=stats.cv, others=use, reasons=reasons,
                                     waited_s=waited, reference_now_ms=stats.reference_now_ms)}


def _reported(attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """The last attempt when it is clean, else the least noisy one (the earliest among equals)."""
    if not attempts[-1]["reasons"]:
        return attempts[-1]
    return min(attempts, key=lambda a: a["score"])


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


def measure_reference(model: "nn.Module | Arch | str", resolution: int, *, name: str | None = None,
                      noise: NoisePolicy | None = None, runs: int = 5, **kwargs: Any) -> Reference:
    """A :class:`~nas.latency.paired.Reference` for paired timing: ``model`` (a module, or an Arch / YAML path /
    zoo name, then also its default ``name``) timed solo by ``runs`` :func:`measure_latency` calls back to back
    (``kwargs``: their settings; ``noise`` default: 1 retry each, the runs being repeats already); its
    quiet latency is the median run (one ~1-s timing on a 2-vCPU VM read 1.13–1.48× the network's mean over
    minutes: docs/benchmarks.md, "Latency 14:08"), and ``quiet["runs_ms"]`` keeps every run. Measure it on a
    quiet machine: :attr:`Reference.noisy` says when most runs were flagged."""
    label = name or (model if isinstance(model, str) else getattr(model, "name", None) or type(model).__name__)
    module = _as_module(model)
    results = [measure_latency(module, resolution, noise=noise or NoisePolicy(retries=1), **kwargs)
               for _ in range(_positive_int("runs", runs))]
    median = sorted(results, key=lambda r: r.median_ms)[(len(results) - 1) // 2]
    quiet = median.to_dict() | {"runs_ms": [round(r.median_ms, 4) for r in results],
                                "noisy": sum(r.noisy for r in results) * 2 > len(results)}
    return Reference(model=module, resolution=resolution, quiet_ms=median.median_ms, name=str(label),
                     in_channels=median.in_channels, batch_size=median.batch_size, threads=median.threads,
                     quiet=quiet)


def repeatability(model: nn.Module, resolution: int, n: int = 5, **kwargs: Any) -> list[LatencyResult]:
    """``n`` independent :func:`measure_latency` calls (same keyword arguments) of one model: the spread of
    their ``median_ms`` (e.g. its CV) says how reproducible latency is on this machine."""
    n = _positive_int("n", n)
    return [measure_latency(model, resolution, **kwargs) for _ in range(n)]
