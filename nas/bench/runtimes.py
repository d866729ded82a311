"""Eager PyTorch against the runtimes networks ship through (``nas benchmark runtimes``): for ``n`` random
archs per space, each timed by every method, do the methods rank the archs alike?

Methods (:data:`METHODS`): ``eager`` (PyTorch, :func:`nas.latency.cuda.time_torch`), ``cuda-graph`` (the same
on CUDA, replayed from a CUDA graph), ``onnxruntime`` and ``openvino`` (the checked ONNX export,
:mod:`nas.latency.runtimes`). The first method named is the reference. Per space and method:

* Kendall τ against the reference, and how many of the n·(n−1)/2 pairs of archs change order;
* speedup over the reference per arch (median, min, max);
* repeatability: every method times every arch ``passes`` times (one pass over all archs after the other),
  τ between the first two passes and the median relative difference — the noise floor the τ against the
  reference should be read against.

:func:`run_runtimes_benchmark` returns every raw number (:class:`RuntimesBenchResult`), :func:`runtimes_report`
the markdown section. Latencies in milliseconds.
"""
from __future__ import annotations

import datetime
import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy.stats import kendalltau
from tqdm.auto import tqdm

from nas.arch.key import arch_key
from nas.arch.spec import Arch
from nas.bench.common import machine_lines
from nas.bench.latency import sample_distinct
from nas.latency.cuda import time_torch
from nas.latency.runtimes import RuntimeTiming, time_onnxruntime, time_openvino
from nas.machine import OtherCpuLoad, fmt_load, loadavg
from nas.markdown import table
from nas.model.onnx import EXPORTERS, export_onnx, seeded_network
from nas.space.load import load_space

__all__ = ["METHODS", "TITLE", "RuntimesBenchConfig", "RuntimesBenchResult", "compare", "repeatability",
           "run_runtimes_benchmark", "runtimes_report", "time_method"]

METHODS = ("eager", "cuda-graph", "onnxruntime", "openvino")
TITLE = "Eager PyTorch vs deployment runtimes"
_ONNX_METHODS = ("onnxruntime", "openvino")


@dataclass(frozen=True)
class RuntimesBenchConfig:
    """What to run: ``n`` distinct random archs (``seed``) per space, timed by each of ``methods`` (the first
    is the reference) ``passes`` times on ``device`` with ``threads`` intra-op threads; each timing is
    ``repeats`` × ``min_run_time`` s after ``warmup`` calls. ``exporter``: as :func:`nas.model.onnx.to_onnx`."""

    spaces: tuple[str, ...] = ("mnasnet", "mobile_32px")
    n: int = 100
    methods: tuple[str, ...] = ("eager", "onnxruntime")
    device: str = "cpu"
    threads: int = 1
    passes: int = 2
    repeats: int = 5
    min_run_time: float = 0.2
    warmup: int = 10
    seed: int = 0
    exporter: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "spaces", tuple(str(s) for s in self.spaces))
        object.__setattr__(self, "methods", tuple(self.methods))
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods or len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods must be distinct names from {', '.join(METHODS)}, got {list(self.methods)}")
        if "cuda-graph" in self.methods and not self.device.startswith("cuda"):
            raise ValueError(f"method cuda-graph needs a CUDA device, not {self.device!r}")
        if self.exporter not in EXPORTERS:
            raise ValueError(f"unknown ONNX exporter {self.exporter!r}: use {', '.join(EXPORTERS)}")
        for name in ("n", "threads", "passes", "repeats"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)!r}")


@dataclass
class RuntimesBenchResult:
    """Every number of one run: per space, the arch keys, ``ms[method][pass][arch]``, each method's settings
    (of its first timing), the ONNX exports (exporter counts, opsets, largest check difference, seconds), and
    the CPU cores other processes used while that space was timed."""

    config: RuntimesBenchConfig
    spaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    loads: dict[str, Any] = field(default_factory=dict)
    started: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc))
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps({"config": self.config.__dict__, "loads": self.loads, "spaces": self.spaces,
                           "started": self.started.isoformat(), "seconds": self.seconds}, indent=1, default=str) + "\n"


# ----------------------------------------------------------------------------- timing
def time_method(method: str, arch: Arch, onnx_file: Path | None, config: RuntimesBenchConfig) -> RuntimeTiming:
    """One timing of ``arch`` by ``method`` with the config's settings (``onnx_file``: its checked export)."""
    kw = {"threads": config.threads, "repeats": config.repeats, "min_run_time": config.min_run_time,
          "warmup": config.warmup}
    shape = (1, arch.in_channels, arch.resolution, arch.resolution)
    if method == "onnxruntime":
        provider, _, index = config.device.partition(":")
        return time_onnxruntime(onnx_file, shape, provider=provider, device_id=int(index or 0), **kw)
    if method == "openvino":
        return time_openvino(onnx_file, shape, **kw)
    return time_torch(seeded_network(arch, config.seed), device=config.device, cuda_graph=method == "cuda-graph",
                      seed=config.seed, **kw)


def _exports(archs: list[Arch], folder: Path, config: RuntimesBenchConfig, bar: Any) -> dict[str, Any]:
    exports = []
    for i, arch in enumerate(archs):
        exports.append(export_onnx(arch, folder / f"{i:04d}.onnx", seed=config.seed, exporter=config.exporter))
        bar.update()
    return {"exporters": dict(Counter(e.exporter for e in exports)), "opsets": sorted({e.opset for e in exports}),
            "fallback_reasons": sorted({e.fallback_reason for e in exports if e.fallback_reason}),
            "max_abs_diff": max(e.max_abs_diff for e in exports),
            "seconds_per_export": float(np.mean([e.export_seconds for e in exports]))}


def _run_space(name: str, config: RuntimesBenchConfig, log: Callable[[str], None]) -> dict[str, Any]:
    archs = sample_distinct(load_space(name), config.n, config.seed)
    needs_onnx = any(m in _ONNX_METHODS for m in config.methods)
    ms = {m: [[0.0] * len(archs) for _ in range(config.passes)] for m in config.methods}
    settings: dict[str, Any] = {}
    total = len(archs) * (len(config.methods) * config.passes + needs_onnx)
    with tempfile.TemporaryDirectory(prefix="nas-runtimes-") as tmp, \
            tqdm(total=total, desc=name, unit="timing", disable=not config.progress) as bar:
        exports = _exports(archs, Path(tmp), config, bar) if needs_onnx else {}
        for p in range(config.passes):
            for i, arch in enumerate(archs):
                for method in config.methods:
                    t = time_method(method, arch, Path(tmp) / f"{i:04d}.onnx" if needs_onnx else None, config)
                    ms[method][p][i] = t.median_ms
                    settings.setdefault(method, t.settings)
                    bar.update()
    log(f"{name}: {len(archs)} archs timed by {', '.join(config.methods)} × {config.passes} passes")
    return {"archs": [arch_key(a) for a in archs], "resolution": archs[0].resolution, "ms": ms,
            "settings": settings, "onnx": exports}


def run_runtimes_benchmark(config: RuntimesBenchConfig, log: Callable[[str], None] = print) -> RuntimesBenchResult:
    """Time every space's archs by every method (see the module docstring); loads recorded around each space."""
    out = RuntimesBenchResult(config=config)
    start = time.perf_counter()
    out.loads = {"start": loadavg(), "others": {}}
    monitor = OtherCpuLoad()
    for name in config.spaces:
        out.spaces[name] = _run_space(name, config, log)
        out.loads["others"][name] = monitor.sample()
    out.loads["end"] = loadavg()
    out.seconds = time.perf_counter() - start
    return out


# ----------------------------------------------------------------------------- statistics
def compare(reference: list[float], other: list[float]) -> dict[str, Any]:
    """How ``other`` ranks the archs against ``reference`` (latencies of the same archs, in order): Kendall
    ``tau`` (τ-b; nan below 2 archs), ``changed`` pairs (ordered one way by one and the other way by the other),
    ``pairs`` in all, and ``speedup`` = reference / other per arch (``median``, ``min``, ``max``)."""
    a, b = np.asarray(reference, dtype=float), np.asarray(other, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"compare needs two latency lists of one length, got {a.shape} and {b.shape}")
    i, j = np.triu_indices(len(a), k=1)
    changed = int(np.sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) < 0))
    tau = float(kendalltau(a, b).statistic) if len(a) >= 2 else float("nan")
    speedup = a / b
    return {"tau": tau, "changed": changed, "pairs": int(len(i)), "speedup": {
        "median": float(np.median(speedup)), "min": float(speedup.min()), "max": float(speedup.max())}}


def repeatability(passes: list[list[float]]) -> dict[str, float] | None:
    """τ between the first two passes over the same archs and the median relative difference (%) of one
    arch's two timings; ``None`` with a single pass."""
    if len(passes) < 2:
        return None
    a, b = np.asarray(passes[0], dtype=float), np.asarray(passes[1], dtype=float)
    tau = float(kendalltau(a, b).statistic) if len(a) >= 2 else float("nan")
    return {"tau": tau, "median_diff_pct": float(np.median(np.abs(a - b) / ((a + b) / 2)) * 100)}


# ----------------------------------------------------------------------------- report
def _fmt(v: float, spec: str = ".2f") -> str:
    return "n/a" if v is None or not np.isfinite(v) else format(v, spec)


def _settings_line(method: str, s: dict[str, Any]) -> str:
    keys = ("execution_provider", "graph_optimization", "threads", "threads_inter", "execution_mode",
            "allow_spinning", "precision", "cuda_graph", "channels_last", "onnxruntime_version", "openvino_version",
            "torch_version", "cuda_version")
    parts = [f"{k}={s[k]}" for k in keys if s.get(k) is not None]
    return f"- `{method}`: {s.get('device', '?')}; " + ", ".join(parts)


def _space_section(name: str, data: dict[str, Any], config: RuntimesBenchConfig) -> list[str]:
    ref_name = config.methods[0]
    median_of = {m: np.median(np.asarray(p, dtype=float), axis=0) for m, p in data["ms"].items()}
    rows = []
    for method in config.methods:
        rep = repeatability(data["ms"][method])
        row = [method, _fmt(float(np.median(median_of[method])), ".3f")]
        if method == ref_name:
            row += ["(reference)", "", ""]
        else:
            c = compare(list(median_of[ref_name]), list(median_of[method]))
            s = c["speedup"]
            row += [_fmt(c["tau"]), f"{c['changed']} of {c['pairs']} ({100 * c['changed'] / max(1, c['pairs']):.0f} %)",
                    f"{s['median']:.2f}× ({s['min']:.2f}–{s['max']:.2f})"]
        row += ["n/a" if rep is None else f"{_fmt(rep['tau'])} / {rep['median_diff_pct']:.1f} %"]
        rows.append(row)
    header = ["method", "median latency (ms)", f"τ vs {ref_name}", "pairs that change order",
              f"speedup over {ref_name} (min–max)", "pass 1 vs 2: τ / median |Δ|"]
    lines = ["", f"### {name} — {len(data['archs'])} random archs at {data['resolution']} px", "",
             table(header, rows, "lrrrrr"), "", "Settings:"]
    lines += [_settings_line(m, data["settings"][m]) for m in config.methods if m in data["settings"]]
    onnx = data.get("onnx") or {}
    if onnx:
        lines.append(f"- ONNX export: exporters {onnx['exporters']}, opset {onnx['opsets']}, largest |ONNX Runtime − "
                     f"PyTorch| {onnx['max_abs_diff']:.2g}, {onnx['seconds_per_export']:.1f} s per export"
                     + (f"; fallbacks: {'; '.join(onnx['fallback_reasons'])}" if onnx["fallback_reasons"] else ""))
    return lines


def runtimes_report(result: RuntimesBenchResult, command: str) -> str:
    """The markdown of one run (no ``##`` title: :func:`nas.bench.common.append_section` adds it)."""
    c, loads = result.config, result.loads
    others = ", ".join(f"{k} {_fmt(v)}" for k, v in loads.get("others", {}).items())
    lines = [f"Command: `{command}` ({result.seconds / 60:.1f} min; device {c.device}; {c.passes} pass(es); "
             f"each timing {c.repeats} × {c.min_run_time:g} s after {c.warmup} warm-up calls; latency = median "
             "over the passes).  ", *machine_lines(c.threads),
             f"Load average before: {fmt_load(loads.get('start'))}; after: {fmt_load(loads.get('end'))}; CPU cores "
             f"used by other processes while each space was timed: {others or 'n/a'}."]
    for name, data in result.spaces.items():
        lines += _space_section(name, data, c)
    return "\n".join(lines) + "\n"
