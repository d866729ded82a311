"""Latency: measure models on this machine; parse and format latency values (always milliseconds).

Names are resolved lazily so that ``nas.latency.units`` (used by CLI argument
parsing) does not import torch::

    from nas.latency import measure_latency, parse_latency
    r = measure_latency(model, 224, threads=1)   # -> LatencyResult (median_ms, iqr_ms, samples_ms, ...)
    budget = parse_latency("20ms")               # -> 20.0
    table = LatencyTable.load("lut.json", device="cpu", threads=1)   # lookup table (nas.latency.lut)
    table.predict(arch)                                                # -> ms, without building the model
"""
from __future__ import annotations

from typing import Any

_MEASURE = ("DeviceInfo", "LatencyResult", "device_info", "measure_latency", "repeatability", "resolve_device")
_UNITS = ("format_ms", "latency_arg", "parse_latency")
_LUT = ("LUTError", "LatencyTable", "build_table", "calibrate", "measure_network")
__all__ = sorted(_MEASURE + _UNITS + _LUT)


def __getattr__(name: str) -> Any:
    if name in _MEASURE:
        from nas.latency import measure

        return getattr(measure, name)
    if name in _UNITS:
        from nas.latency import units

        return getattr(units, name)
    if name in _LUT:
        from nas.latency import lut

        return getattr(lut, name)
    raise AttributeError(f"module 'nas.latency' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
