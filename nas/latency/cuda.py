"""Eager PyTorch latency on a CUDA device: synchronised timing, optionally replaying the network from a CUDA
graph (at batch 1 a small network is bound by kernel launches, which a graph replay removes).

    >>> from nas.latency.cuda import time_torch
    >>> t = time_torch("mnasnet_a1", device="cuda", cuda_graph=True)      # doctest: +SKIP
    >>> t.median_ms, t.settings["graph_max_abs_diff"]                       # doctest: +SKIP

The statistics are :func:`nas.latency.runtimes.time_callable`'s (measure_latency's): warm-up calls, then
independent ``blocked_autorange`` repeats, the device synchronised around every timed block. ``device="cpu"``
runs the same code without a graph (so the CPU side is tested on machines without a GPU, and eager CPU and CUDA
numbers come out with the same settings record); ``cuda_graph=True`` needs a CUDA device.

The graph is captured the documented way: warm-up calls on a side stream, then one capture of ``model(x)``
into static input/output tensors; each timed call is one ``graph.replay()``. The replayed output is compared
once with an eager call, and the largest difference is recorded (``graph_max_abs_diff``).
"""
from __future__ import annotations

import contextlib
import copy
from typing import Any, Callable, Iterator

import torch
from torch import nn

from nas.device import DeviceInfo, resolve_device
from nas.latency.runtimes import BackendError, RuntimeTiming, check_timing, run_settings, time_callable
from nas.model.onnx import seeded_input, seeded_network

__all__ = ["capture_graph", "eager_step", "time_torch"]


def eager_step(model: nn.Module, x: torch.Tensor) -> Callable[[], torch.Tensor]:
    """One eager forward call of ``model`` on ``x``."""
    return lambda: model(x)


def capture_graph(model: nn.Module, x: torch.Tensor, *, warmup: int = 3) -> tuple[Callable[[], Any], torch.Tensor]:
    """``(replay, static_output)``: ``model(x)`` captured into a CUDA graph after ``warmup`` calls on a side
    stream (allocations and cuDNN autotuning happen there, not in the graph). ``replay()`` reruns the
    network on the contents of the captured input (a private copy of ``x``) into ``static_output``.
    Raises :class:`~nas.latency.runtimes.BackendError` (one line) unless ``x`` lives on a CUDA device."""
    if x.device.type != "cuda":
        raise BackendError(f"a CUDA graph needs a CUDA device; the input is on {x.device}")
    static_x = x.clone()
    side = torch.cuda.Stream(device=x.device)
    side.wait_stream(torch.cuda.current_stream(x.device))
    with torch.cuda.stream(side):
        for _ in range(warmup):
            model(static_x)
    torch.cuda.current_stream(x.device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_y = model(static_x)
    return graph.replay, static_y


def _as_network(model: Any, seed: int) -> nn.Module:
    if isinstance(model, nn.Module):
        return model
    return seeded_network(model, seed)


def _in_channels(model: nn.Module) -> int:
    arch = getattr(model, "arch", None)
    if arch is not None:
        return int(arch.in_channels)
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        raise BackendError(f"cannot infer in_channels for {type(model).__name__}: no Conv2d; pass in_channels=")
    return int(conv.in_channels)


@contextlib.contextmanager
def _cudnn_autotuning(on: bool) -> Iterator[None]:
    """cuDNN autotuning (``cudnn.benchmark``) on while timing on CUDA; the previous flag restored after."""
    previous = torch.backends.cudnn.benchmark
    try:
        torch.backends.cudnn.benchmark = on or previous
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


def _settings(dev: torch.device, threads: int, *, cuda_graph: bool, channels_last: bool) -> dict[str, Any]:
    info = DeviceInfo.current(dev, threads).to_dict()
    cuda = dev.type == "cuda"
    return {"backend": "eager", **info, "cuda_graph": cuda_graph, "channels_last": channels_last,
            "cudnn_benchmark": cuda, "cuda_version": torch.version.cuda if cuda else None,
            "cudnn_version": torch.backends.cudnn.version() if cuda else None,
            "synchronised": "the device is synchronised around every timed block" if cuda else "n/a (cpu)"}


def time_torch(model: Any, resolution: int | None = None, *, device: str = "cuda", cuda_graph: bool = False,
               channels_last: bool = False, batch_size: int = 1, in_channels: int | None = None,
               threads: int | None = None, repeats: int = 5, min_run_time: float = 0.2, warmup: int = 10,
               seed: int = 0) -> RuntimeTiming:
    """Time ``model`` (a module, or an Arch / YAML path / zoo name built by
    :func:`~nas.model.onnx.seeded_network`) on ``device`` at ``resolution`` (default: its arch's).

    A deep copy is moved to the device (``channels_last`` memory format if asked) and timed in eval and
    inference mode on a seeded random input; cuDNN autotuning is on while timing on CUDA; ``threads`` sets
    torch's intra-op threads (recorded; default: the current count). ``cuda_graph``: replay a captured CUDA
    graph instead of eager calls. One-line :class:`~nas.latency.runtimes.BackendError` for settings that
    cannot work here (a graph on the CPU, a device this machine lacks).
    """
    check_timing(repeats, min_run_time, warmup, threads, batch_size=batch_size,
                 **({"in_channels": in_channels} if in_channels is not None else {}))
    try:
        dev = resolve_device(device)
    except ValueError as exc:
        raise BackendError(exc) from None
    if cuda_graph and dev.type != "cuda":
        raise BackendError(f"a CUDA graph needs a CUDA device, not {device!r}")
    net = _as_network(model, seed)
    arch = getattr(net, "arch", None)
    resolution = resolution if resolution is not None else getattr(arch, "resolution", None)
    if resolution is None:
        raise BackendError(f"{type(net).__name__} has no arch: pass resolution=")
    shape = (batch_size, in_channels if in_channels is not None else _in_channels(net), resolution, resolution)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    work = copy.deepcopy(net).to(device=dev, memory_format=memory_format).eval()
    x = seeded_input(shape, seed).to(device=dev, memory_format=memory_format)
    n_threads = threads if threads is not None else torch.get_num_threads()
    settings = _settings(dev, n_threads, cuda_graph=cuda_graph, channels_last=channels_last)
    with _cudnn_autotuning(dev.type == "cuda"), torch.inference_mode():
        step = eager_step(work, x)
        if cuda_graph:
            step, static_y = capture_graph(work, x)
            step()
            torch.cuda.synchronize(dev)
            settings["graph_max_abs_diff"] = float((static_y - work(x)).abs().max())
        samples, per_call = time_callable(step, repeats=repeats, min_run_time=min_run_time, warmup=warmup,
                                          torch_threads=n_threads)
    settings.update(run_settings(shape, repeats, min_run_time, warmup))
    return RuntimeTiming(samples_ms=samples, per_call_ms=per_call, settings=settings)
