"""Latency in the runtimes networks ship through: ONNX Runtime (CPU provider; CUDA provider where installed)
and OpenVINO (the optional ``openvino`` package), timed like :func:`nas.latency.measure.measure_latency`.

    >>> from nas.latency.runtimes import time_backend, time_onnxruntime
    >>> t = time_backend("mnasnet_a1", backend="onnxruntime", threads=1)     # export, check, time  # doctest: +SKIP
    >>> t.median_ms, t.iqr_ms, t.settings["graph_optimization"]                                     # doctest: +SKIP
    (3.1, 0.05, 'all')
    >>> time_onnxruntime("net.onnx", (1, 3, 224, 224), threads=1)                                   # doctest: +SKIP

The statistics are measure_latency's: ``warmup`` untimed calls, then ``repeats`` independent
``torch.utils.benchmark.Timer.blocked_autorange`` runs (:func:`time_callable`), each of at least
``min_run_time`` seconds in blocks sized so that timer overhead is negligible; the median and IQR are over
the per-call times of all blocks pooled, ``samples_ms`` holds each repeat's median. Every runtime setting
that changes the number is fixed and recorded in :attr:`RuntimeTiming.settings` with it: threads (intra and
inter op), execution mode, graph optimisation level, execution provider / device, precision, versions.

Backend names: :data:`BACKENDS`; :func:`check_backend` normalises one or raises a one-line
:class:`BackendError`.
"""
from __future__ import annotations

import dataclasses
import datetime
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch.utils import benchmark

from nas.device import check_device_name
from nas.machine import cpu_name
from nas.model.onnx import seeded_input, to_onnx

__all__ = ["BACKENDS", "GRAPH_OPTIMIZATIONS", "BackendError", "RuntimeTiming", "available_backends",
           "check_backend", "check_backend_here", "check_timing", "onnxruntime_providers", "run_settings", "runtime_step", "time_backend",
           "time_callable", "time_onnxruntime", "time_openvino"]

#: ``eager``: PyTorch itself (:func:`nas.latency.measure.measure_latency`); the others run the ONNX export.
BACKENDS = ("eager", "onnxruntime", "openvino")
#: ONNX Runtime graph optimisation levels by the name recorded.
GRAPH_OPTIMIZATIONS = ("disable", "basic", "extended", "all")
_ORT_PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
_NO_OPENVINO = ("backend 'openvino' needs the optional openvino package (the nas[openvino] extra), which is not "
                "installed")



class BackendError(ValueError):
    """An unknown backend or runtime setting, or a runtime this machine does not have: one line."""

    def __init__(self, message: object):
        super().__init__(" ".join(str(message).split()))


def check_backend(name: str) -> str:
    """The normalised backend name (``' ONNXRuntime '`` → ``'onnxruntime'``) if it is one of :data:`BACKENDS`,
    installed or not; a one-line :class:`BackendError` otherwise."""
    key = str(name).strip().lower() if isinstance(name, str) else ""
    if key not in BACKENDS:
        raise BackendError(f"unknown latency backend {name!r}: use {', '.join(map(repr, BACKENDS))}")
    return key


def check_backend_here(name: str, device: str = "cpu") -> str:
    """:func:`check_backend`, and that this machine can run it on ``device`` (its package and provider are
    installed); one-line :class:`BackendError` otherwise."""
    name = check_backend(name)
    if name != "eager":
        dev = check_device_name(device)
        _check_runtime(name, "cpu" if dev == "auto" else dev.partition(":")[0], device)
    return name


def available_backends() -> list[str]:
    """The backends this Python can run: ``eager`` always, the others when their package imports."""
    out = ["eager"]
    for backend, module in (("onnxruntime", "onnxruntime"), ("openvino", "openvino")):
        try:
            __import__(module)
        except ImportError:
            continue
        out.append(backend)
    return out


def onnxruntime_providers() -> list[str]:
    """ONNX Runtime's execution providers in this install (``[]`` without onnxruntime)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


# ----------------------------------------------------------------------------- result
@dataclasses.dataclass
class RuntimeTiming:
    """One latency measurement in a runtime (milliseconds per call of one batch)."""

    samples_ms: list[float]  # median per-call time of each independent repeat, in order
    per_call_ms: list[float]  # per-call time of every timed block of every repeat, pooled
    settings: dict[str, Any]  # every setting the number depends on, with versions and the date

    @property
    def median_ms(self) -> float:
        return float(np.median(self.per_call_ms))

    @property
    def iqr_ms(self) -> float:
        p25, p75 = np.percentile(self.per_call_ms, [25, 75])
        return float(p75 - p25)

    @property
    def cv(self) -> float:
        """Spread between the repeats: sample std / mean of :attr:`samples_ms` (``nan`` below 2)."""
        if len(self.samples_ms) < 2:
            return math.nan
        a = np.asarray(self.samples_ms, dtype=np.float64)
        return float(a.std(ddof=1) / a.mean())

    def to_dict(self) -> dict[str, Any]:
        """``median_ms``, ``iqr_ms``, ``samples_ms``, ``per_call_ms`` and ``settings`` (JSON-ready)."""
        return {"median_ms": self.median_ms, "iqr_ms": self.iqr_ms, "samples_ms": list(self.samples_ms),
                "per_call_ms": list(self.per_call_ms), "settings": dict(self.settings)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RuntimeTiming":
        return cls(samples_ms=[float(v) for v in data["samples_ms"]],
                   per_call_ms=[float(v) for v in data["per_call_ms"]], settings=dict(data["settings"]))


# ----------------------------------------------------------------------------- the timing loop
def _whole(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BackendError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_timing(repeats: int, min_run_time: float, warmup: int, threads: int | None = None, **sizes: int) -> None:
    """One-line :class:`BackendError` unless ``repeats`` ≥ 1, ``warmup`` ≥ 0, ``min_run_time`` > 0 seconds and
    ``threads`` (when given) and every named size (``batch_size=1``, ...) are integers ≥ 1."""
    _whole("repeats", repeats, 1)
    _whole("warmup", warmup, 0)
    named = {**sizes, **({"threads": threads} if threads is not None else {})}
    for name, value in named.items():
        _whole(name, value, 1)
    if not (isinstance(min_run_time, (int, float)) and math.isfinite(min_run_time) and min_run_time > 0):
        raise BackendError(f"min_run_time must be a positive number of seconds, got {min_run_time!r}")


def time_callable(fn: Callable[[], Any], *, repeats: int = 5, min_run_time: float = 0.2, warmup: int = 10,
                  torch_threads: int | None = None) -> tuple[list[float], list[float]]:
    """``(samples_ms, per_call_ms)`` of ``fn()``: ``warmup`` untimed calls, then ``repeats`` independent
    ``blocked_autorange(min_run_time)`` runs (the accelerator is synchronised around each block). Torch's
    intra-op threads are ``torch_threads`` while timing (default: left as they are)."""
    check_timing(repeats, min_run_time, warmup, torch_threads)
    for _ in range(warmup):
        fn()
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn},
                            num_threads=torch_threads if torch_threads is not None else torch.get_num_threads())
    runs = [timer.blocked_autorange(min_run_time=min_run_time) for _ in range(repeats)]
    return ([float(m.median) * 1e3 for m in runs], [float(t) * 1e3 for m in runs for t in m.times])


def run_settings(shape: Sequence[int], repeats: int, min_run_time: float, warmup: int) -> dict[str, Any]:
    """The settings every timing records: input shape, repeats, seconds per repeat, warm-up calls, UTC date."""
    return {"input_shape": [int(v) for v in shape], "repeats": repeats, "min_run_time": float(min_run_time),
            "warmup": warmup, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def _source(onnx_model: Any) -> bytes | str:
    if isinstance(onnx_model, (bytes, bytearray)):
        return bytes(onnx_model)
    path = Path(onnx_model)
    if not path.is_file():
        raise BackendError(f"{path}: no such ONNX file")
    return str(path)


# ----------------------------------------------------------------------------- ONNX Runtime
def _ort_session(source: bytes | str, *, provider: str, threads: int, inter_threads: int, level: str,
                 spinning: bool, device_id: int) -> Any:
    import onnxruntime as ort

    name = _ORT_PROVIDERS[provider]
    if name not in ort.get_available_providers():
        raise BackendError(f"ONNX Runtime {ort.__version__} here has no {name} (it has "
                           f"{', '.join(ort.get_available_providers())}); the onnxruntime-gpu package brings it")
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, inter_threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[level]
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.log_severity_level = 3
    providers: list[Any] = [name] if provider == "cpu" else [(name, {"device_id": device_id}), "CPUExecutionProvider"]
    return ort.InferenceSession(source, options, providers=providers)


def _ort_step(session: Any, x: np.ndarray, provider: str, device_id: int) -> Callable[[], Any]:
    """One inference call: plain ``run`` on the CPU; on CUDA the input and output stay on the device
    (I/O binding), so the time is the network's, not a host copy's."""
    import onnxruntime as ort

    feed_name = session.get_inputs()[0].name
    if provider == "cpu":
        feed = {feed_name: x}
        return lambda: session.run(None, feed)
    binding = session.io_binding()
    binding.bind_ortvalue_input(feed_name, ort.OrtValue.ortvalue_from_numpy(x, "cuda", device_id))
    binding.bind_output(session.get_outputs()[0].name, "cuda", device_id)
    return lambda: session.run_with_iobinding(binding)


def time_onnxruntime(onnx_model: "bytes | str | Path", input_shape: Sequence[int], *, threads: int = 1,
                     inter_threads: int = 1, repeats: int = 5, min_run_time: float = 0.2, warmup: int = 10,
                     provider: str = "cpu", graph_optimization: str = "all", spinning: bool = True,
                     device_id: int = 0) -> RuntimeTiming:
    """Time the ONNX model (bytes or a path) in ONNX Runtime on a seeded random input of ``input_shape``.

    ``provider``: ``"cpu"`` or ``"cuda"`` (the CUDA execution provider; :class:`BackendError` where it is not
    installed). ``threads``/``inter_threads``: intra-/inter-op threads of a sequential session;
    ``graph_optimization``: one of :data:`GRAPH_OPTIMIZATIONS`; ``spinning``: ONNX Runtime's busy-waiting
    intra-op threads (its default). All of them, the provider and versions are in ``settings``.
    """
    check_timing(repeats, min_run_time, warmup, threads)
    _whole("inter_threads", inter_threads, 1)
    if provider not in _ORT_PROVIDERS:
        raise BackendError(f"unknown ONNX Runtime provider {provider!r}: use 'cpu' or 'cuda'")
    if graph_optimization not in GRAPH_OPTIMIZATIONS:
        raise BackendError(f"unknown graph optimisation level {graph_optimization!r}: use "
                           f"{', '.join(GRAPH_OPTIMIZATIONS)}")
    try:
        import onnxruntime as ort
    except ImportError:
        raise BackendError("backend 'onnxruntime' needs the onnxruntime package, which is not installed") from None
    session = _ort_session(_source(onnx_model), provider=provider, threads=threads, inter_threads=inter_threads,
                           level=graph_optimization, spinning=spinning, device_id=device_id)
    x = seeded_input(tuple(input_shape)).numpy()
    samples, per_call = time_callable(_ort_step(session, x, provider, device_id), repeats=repeats,
                                      min_run_time=min_run_time, warmup=warmup)
    device = torch.cuda.get_device_name(device_id) if provider == "cuda" else cpu_name()
    settings = {"backend": "onnxruntime", "execution_provider": session.get_providers()[0], "device": device,
                "device_type": provider, "threads": threads, "threads_intra": threads, "threads_inter": inter_threads,
                "execution_mode": "sequential", "graph_optimization": graph_optimization,
                "allow_spinning": bool(spinning), "io_binding": provider == "cuda",
                "onnxruntime_version": ort.__version__, **run_settings(input_shape, repeats, min_run_time, warmup)}
    return RuntimeTiming(samples_ms=samples, per_call_ms=per_call, settings=settings)


# ----------------------------------------------------------------------------- OpenVINO
_OV_CONFIG_KEYS = ("INFERENCE_NUM_THREADS", "NUM_STREAMS", "PERFORMANCE_HINT", "INFERENCE_PRECISION_HINT",
                   "ENABLE_CPU_PINNING", "ENABLE_HYPER_THREADING", "SCHEDULING_CORE_TYPE", "EXECUTION_MODE_HINT")


def time_openvino(onnx_model: "bytes | str | Path", input_shape: Sequence[int], *, threads: int = 1,
                  repeats: int = 5, min_run_time: float = 0.2, warmup: int = 10, precision: str = "f32",
                  device: str = "CPU") -> RuntimeTiming:
    """Time the ONNX model in OpenVINO (the optional ``openvino`` package; :class:`BackendError` without it):
    one synchronous infer request, ``threads`` inference threads, one stream, the latency hint and
    ``precision`` (``f32`` by default: OpenVINO would otherwise pick bf16 on CPUs that have it). The settings
    recorded are read back from the compiled model."""
    check_timing(repeats, min_run_time, warmup, threads)
    try:
        import openvino as ov
    except ImportError:
        raise BackendError(_NO_OPENVINO) from None
    core = ov.Core()
    if device not in core.available_devices:
        raise BackendError(f"OpenVINO has no device {device!r} here (it has {', '.join(core.available_devices)})")
    model = core.read_model(_source(onnx_model))
    compiled = core.compile_model(model, device, {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1,
                                                  "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision})
    request = compiled.create_infer_request()
    feed = {0: seeded_input(tuple(input_shape)).numpy()}
    samples, per_call = time_callable(lambda: request.infer(feed), repeats=repeats, min_run_time=min_run_time,
                                      warmup=warmup)
    config = {}
    for key in _OV_CONFIG_KEYS:
        try:
            value = compiled.get_property(key)
            config[key] = value.to_string() if hasattr(value, "to_string") else str(value)
        except RuntimeError:  # a property this device or version does not have
            continue
    settings = {"backend": "openvino", "device": core.get_property(device, "FULL_DEVICE_NAME"),
                "device_type": device.lower(), "threads": threads, "threads_intra": threads, "threads_inter": 1,
                "precision": config.get("INFERENCE_PRECISION_HINT", precision), "openvino_config": config,
                "openvino_version": ov.get_version(), **run_settings(input_shape, repeats, min_run_time, warmup)}
    return RuntimeTiming(samples_ms=samples, per_call_ms=per_call, settings=settings)


# ----------------------------------------------------------------------------- a prepared call, for measure_latency
def runtime_step(backend: str, onnx_model: "bytes | str | Path", input_shape: Sequence[int], *, threads: int = 1,
                 device: str = "cpu") -> tuple[Callable[[], Any], dict[str, Any]]:
    """One prepared inference call of the ONNX model in ``backend`` (``onnxruntime`` or ``openvino``) on a
    seeded input of ``input_shape`` — session built, input bound — and the runtime's settings, for
    :func:`nas.latency.measure.measure_latency` to time with its own clock, retries and paired mode. ``device``:
    ``cpu``, or ``cuda[:N]`` for ONNX Runtime's CUDA provider. One-line :class:`BackendError` otherwise."""
    name = check_backend(backend)
    dev, _, index = device.partition(":")
    _check_runtime(name, dev, device)
    x = seeded_input(tuple(input_shape)).numpy()
    if name == "onnxruntime":
        import onnxruntime as ort

        session = _ort_session(_source(onnx_model), provider=dev, threads=threads, inter_threads=1, level="all",
                               spinning=True, device_id=int(index or 0))
        return _ort_step(session, x, dev, int(index or 0)), {
            "backend": name, "execution_provider": session.get_providers()[0], "threads_intra": threads,
            "threads_inter": 1, "execution_mode": "sequential", "graph_optimization": "all", "allow_spinning": True,
            "onnxruntime_version": ort.__version__}
    import openvino as ov

    compiled = ov.Core().compile_model(ov.Core().read_model(_source(onnx_model)), "CPU",
                                       {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1,
                                        "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()
    return (lambda: request.infer({0: x})), {"backend": name, "threads_intra": threads, "streams": 1,
                                             "precision": "f32", "openvino_version": ov.get_version()}


# ----------------------------------------------------------------------------- export, then time
def _check_runtime(backend: str, dev: str, device: Any) -> None:
    """Fail before exporting when ``backend`` cannot run on ``dev`` here."""
    if backend == "openvino":
        if dev != "cpu":
            raise BackendError(f"backend 'openvino' times on the CPU here; device {device!r} is not supported")
        if "openvino" not in available_backends():
            raise BackendError(_NO_OPENVINO)
        return
    providers = onnxruntime_providers()
    if not providers:
        raise BackendError("backend 'onnxruntime' needs the onnxruntime package, which is not installed")
    if dev != "cpu" and _ORT_PROVIDERS["cuda"] not in providers:
        raise BackendError(f"device {device!r}: this ONNX Runtime has no CUDAExecutionProvider (it has "
                           f"{', '.join(providers)}); the onnxruntime-gpu package brings it")


def time_backend(model: Any, *, backend: str, resolution: int | None = None, device: str = "cpu",
                 threads: int = 1, repeats: int = 5, min_run_time: float = 0.2, warmup: int = 10, seed: int = 0,
                 exporter: str = "auto", input_shape: tuple[int, ...] | None = None,
                 onnx_model: Any = None) -> RuntimeTiming:
    """Export ``model`` (an Arch, YAML path, zoo name, or a built module with an ``arch``) with
    :func:`nas.model.onnx.to_onnx`, check it, and time it in ``backend`` (``onnxruntime`` or ``openvino``).
    ``resolution``/``input_shape``: as ``to_onnx`` (a module without an arch, e.g. one lookup-table op, needs
    ``input_shape``).
    ``device``: ``cpu``, or ``cuda`` / ``cuda:N`` for ONNX Runtime's CUDA provider. ``onnx_model``: an
    already exported :class:`~nas.model.onnx.OnnxModel` to time instead of exporting again. The export's
    exporter, opset and check are added to ``settings["onnx"]``. ``eager`` is timed by ``measure_latency``:
    asking for it here is a :class:`BackendError`."""
    name = check_backend(backend)
    if name == "eager":
        raise BackendError("backend 'eager' is PyTorch itself: time it with measure_latency")
    try:
        dev = check_device_name(device)
    except ValueError as exc:
        raise BackendError(exc) from None
    if dev == "auto":
        dev = "cuda" if torch.cuda.is_available() and name == "onnxruntime" else "cpu"
    _check_runtime(name, dev, device)
    exported = onnx_model if onnx_model is not None else to_onnx(model, seed=seed, exporter=exporter,
                                                                   resolution=resolution, input_shape=input_shape)
    shape = exported.info.input_shape
    kw = {"threads": threads, "repeats": repeats, "min_run_time": min_run_time, "warmup": warmup}
    if name == "openvino":
        timing = time_openvino(exported.data, shape, **kw)
    else:
        provider, _, index = dev.partition(":")
        timing = time_onnxruntime(exported.data, shape, provider=provider, device_id=int(index or 0), **kw)
    info = exported.info
    timing.settings["onnx"] = {"exporter": info.exporter, "fallback_reason": info.fallback_reason,
                               "opset": info.opset, "max_abs_diff": info.max_abs_diff, "seed": info.seed,
                               "torch_version": info.torch_version}
    return timing
