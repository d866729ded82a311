"""Latency, always in milliseconds: measure a model on this machine (:mod:`~nas.latency.measure`), parse and
format user text (:mod:`~nas.latency.units`), and predict from a lookup table built for this device
(:mod:`~nas.latency.table`, :mod:`~nas.latency.build`, :mod:`~nas.latency.calibrate`).

    from nas.latency import measure_latency, parse_latency, LatencyTable
    r = measure_latency(model, 224, threads=1)   # -> LatencyResult (median_ms, iqr_ms, samples_ms, ...)
    budget = parse_latency("20ms")               # -> 20.0
    table = LatencyTable.load("lut.json", device="cpu", threads=1)
    table.predict(arch)                          # -> ms, without building the model

Names are resolved lazily so that ``nas.latency.units`` (used while parsing flags) does not import torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "measure": ("LatencyResult", "measure_latency", "repeatability"),
    "units": ("format_ms", "latency_arg", "parse_latency"),
    "table": ("DEFAULT_SETTINGS", "Calibration", "Entry", "LUTError", "LatencyTable", "TableMeta"),
    "build": ("BusyMachineWarning", "build_table", "measure_network", "measure_networks", "measure_op"),
    "calibrate": ("calibrate", "calibration_archs", "fit_calibration"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f"nas.latency.{_MODULE_OF[name]}"), name)
    raise AttributeError(f"module 'nas.latency' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
