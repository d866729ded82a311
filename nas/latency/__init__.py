"""Latency, always in milliseconds: measure a model on this machine (:mod:`~nas.latency.measure`), parse and
format user text (:mod:`~nas.latency.units`), and predict from a lookup table built for this device
(:mod:`~nas.latency.table`, :mod:`~nas.latency.build`, :mod:`~nas.latency.calibrate`); interference and paired
timing (:mod:`~nas.latency.noise`, :mod:`~nas.latency.paired`, :mod:`~nas.latency.clock`); deployment runtimes
(ONNX Runtime, OpenVINO: :mod:`~nas.latency.runtimes`) and CUDA graphs (:mod:`~nas.latency.cuda`).

    from nas.latency import measure_latency, measure_reference, parse_latency, LatencyTable
    r = measure_latency(model, 224)              # -> LatencyResult (median_ms, iqr_ms, samples_ms, ...), 1 thread
    r.noisy, r.others_cpu, r.attempts            # was it trustworthy? other processes' cores; every attempt
    ref = measure_reference("mnasnet_b1", 224)   # once, on a quiet machine
    r = measure_latency(model, 224, reference=ref)   # paired: ratio to ref in the same window × ref.quiet_ms
    budget = parse_latency("20ms")               # -> 20.0
    table = LatencyTable.load("lut.json", device="cpu", threads=1)
    table.predict(arch)                          # -> ms, without building the model

Names are resolved lazily so that ``nas.latency.units`` (used while parsing flags) does not import torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "measure": ("LatencyResult", "measure_latency", "measure_reference", "repeatability"),
    "noise": ("DEFAULT_THREADS", "NoisePolicy", "OversubscribedThreadsWarning"),
    "paired": ("Reference",),
    "units": ("format_ms", "latency_arg", "parse_latency"),
    "table": ("DEFAULT_SETTINGS", "Calibration", "Entry", "LUTError", "LatencyTable", "TableMeta"),
    "build": ("BusyMachineWarning", "build_table", "measure_network", "measure_networks", "measure_op"),
    "calibrate": ("calibrate", "calibration_archs", "fit_calibration"),
    "runtimes": ("BACKENDS", "BackendError", "RuntimeTiming", "time_backend", "time_onnxruntime", "time_openvino"),
    "cuda": ("time_torch",),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f"nas.latency.{_MODULE_OF[name]}"), name)
    raise AttributeError(f"module 'nas.latency' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
