"""The latency lookup table as data: :class:`Entry` (one op's timings), :class:`TableMeta` (where and how it
was measured), :class:`Calibration` and :class:`LatencyTable` (prediction, JSON I/O, the check that a table
was measured on this machine). Building one is :mod:`nas.latency.build`; fitting its calibration
:mod:`nas.latency.calibrate`.

Entries are keyed by :attr:`nas.arch.layers.Layer.key`, the same layers :func:`nas.arch.layers.resolve` gives
and the builder turns into modules, so a table entry and a built block always agree. A prediction is
``overhead_ms + scale × Σ entries + Σ coef × term`` (the calibration; the terms — layer count, weight
megabytes — model what an op timed alone does not see inside a network), or the raw sum without one. Every
error is a :class:`LUTError` (a ``ValueError``) with a one-line message.

Files: schema 2 (this version) adds each entry's parameter count and the calibration's terms; schema-1 files
still load (their calibration is ``overhead + scale × Σ``, their entries have no parameter count).
"""
from __future__ import annotations

import dataclasses
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from nas.arch.io import load_arch
from nas.arch.layers import Layer, resolve
from nas.arch.spec import Arch
from nas.device import device_info
from nas.files import atomic_write, read_text
from nas.latency.noise import DEFAULT_THREADS

__all__ = ["BUILD_KEYS", "DEFAULT_SETTINGS", "MACHINE_KEYS", "READABLE_SCHEMAS", "SCHEMA_VERSION", "TERMS",
           "Calibration", "Entry", "LUTError", "LatencyTable", "TableMeta"]

#: The table file format this version writes; :data:`READABLE_SCHEMAS` are the ones it reads.
SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)
#: Per-network terms a calibration may add to ``overhead + scale × Σ entries``: ``layers`` (the number of
#: layers: an op inside a network runs with its module state cold, +12 µs per op measured at 32 px) and
#: ``weight_mb`` (parameter megabytes, float32: weights streamed from a cold cache, +0.08 ms/MB measured).
TERMS = ("layers", "weight_mb")

#: Timing settings for every op and every calibration network: ``passes`` sweeps, each one
#: ``measure_latency(repeats=..., min_run_time=..., warmup=...)`` call per op. Chosen so that the mnasnet
#: space (605 ops at 224 px) builds in a few minutes on one CPU thread (see docs/benchmarks.md).
DEFAULT_SETTINGS: dict[str, Any] = {"passes": 3, "repeats": 1, "min_run_time": 0.05, "warmup": 3}

# Fields of TableMeta that must agree for a table to be resumed (build settings and where it was built).
# (``passes`` is not one of them: resuming with more passes refines a table.)
BUILD_KEYS = ("device", "device_type", "torch_version", "threads", "batch_size", "in_channels", "space",
               "repeats", "min_run_time", "warmup", "backend")
# Fields checked against the current machine (and the runtime the predictions are for) on load.
MACHINE_KEYS = ("device", "device_type", "torch_version", "threads", "backend")


class LUTError(ValueError):
    """A lookup-table problem (missing op, other machine, bad file): one line."""



@dataclass(frozen=True)
class Entry:
    """The measured latency of one op in milliseconds: the median and interquartile range of
    ``samples_ms``, one ``measure_latency`` median per pass; ``params``: the op's parameter count (0: not
    recorded, as in schema-1 files)."""

    median_ms: float
    iqr_ms: float
    samples_ms: tuple[float, ...] = ()
    params: int = 0

    @classmethod
    def from_samples(cls, samples_ms: Sequence[float], params: int = 0) -> "Entry":
        samples = tuple(float(v) for v in samples_ms)
        if not samples:
            raise LUTError("an entry needs at least one measurement")
        p25, p50, p75 = np.percentile(samples, [25, 50, 75])
        return cls(float(p50), float(p75 - p25), samples, int(params))


@dataclass(frozen=True)
class TableMeta:
    """Where and how a table was measured. ``created`` is ISO 8601 UTC."""

    device: str  # CPU model name or CUDA device name (as measure.device_info reports it)
    device_type: str  # "cpu" | "cuda"
    torch_version: str
    threads: int
    batch_size: int = 1
    in_channels: int = 3
    space: str = ""
    resolution: int = 0  # the input resolution the ops were resolved at (0: unknown / mixed)
    passes: int = DEFAULT_SETTINGS["passes"]
    repeats: int = DEFAULT_SETTINGS["repeats"]
    min_run_time: float = DEFAULT_SETTINGS["min_run_time"]
    warmup: int = DEFAULT_SETTINGS["warmup"]
    created: str = ""
    nas_version: str = ""
    busy_other_cores: float = -1.0  # most CPU cores other processes used while measuring (-1: unknown)
    backend: str = "eager"  # the runtime every op ran in: "eager" (PyTorch), "onnxruntime" or "openvino"

    def measure_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for one :func:`~nas.latency.measure.measure_latency` call timed like this table's
        ops (device type, threads, batch size, repeats, min_run_time, warm-up, backend); there are ``passes``
        calls."""
        return dict(device=self.device_type, threads=self.threads, batch_size=self.batch_size,
                    repeats=self.repeats, min_run_time=self.min_run_time, warmup=self.warmup, backend=self.backend)


@dataclass(frozen=True)
class Calibration:
    """``whole-network ms ≈ overhead_ms + scale × Σ entries + Σ coefs[i] × terms[i]``, fitted on ``n_nets``
    networks (:mod:`nas.latency.calibrate`); ``terms`` are names from :data:`TERMS` (none: the linear model).

    Residual statistics are over the fitting networks (in-sample): ``rmse_ms``, ``mean_abs_pct`` and
    ``max_abs_pct`` (|predicted − measured| / measured × 100); ``loo_mean_abs_pct``: the same mean when each
    network is predicted by a fit without it (-1: not computed). ``archs`` names the fitting networks so that
    an evaluation can keep its test set disjoint.
    """

    overhead_ms: float
    scale: float
    n_nets: int
    rmse_ms: float = 0.0
    mean_abs_pct: float = 0.0
    max_abs_pct: float = 0.0
    archs: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    coefs: tuple[float, ...] = ()
    loo_mean_abs_pct: float = -1.0

    def __post_init__(self) -> None:
        unknown = [t for t in self.terms if t not in TERMS]
        if unknown or len(self.terms) != len(self.coefs):
            raise LUTError(f"calibration terms {list(self.terms)} (known: {', '.join(TERMS)}) need one "
                           f"coefficient each, got {len(self.coefs)}")

    def apply(self, raw_ms: float, features: Mapping[str, float] | None = None) -> float:
        """The calibrated latency for a raw sum ``raw_ms`` and the network's ``features`` (by term name)."""
        extra = math.fsum(c * float((features or {}).get(t, 0.0)) for t, c in zip(self.terms, self.coefs))
        return self.overhead_ms + self.scale * raw_ms + extra

    def __str__(self) -> str:
        terms = "".join(f" + {c:.4g} × {t}" for t, c in zip(self.terms, self.coefs))
        loo = f", leave-one-out {self.loo_mean_abs_pct:.2f} %" if self.loo_mean_abs_pct >= 0 else ""
        return (f"{self.overhead_ms:+.3f} ms + {self.scale:.4f} × Σops{terms}  (fit on {self.n_nets} nets: "
                f"RMSE {self.rmse_ms:.3f} ms, mean |err| {self.mean_abs_pct:.2f} %{loo}, "
                f"max |err| {self.max_abs_pct:.2f} %)")


@dataclass
class LatencyTable:
    """Op latencies of one search space on one device; predicts whole-network latency in ms.

    ``entries`` maps :attr:`Layer.key` to the op's latency; ``networks`` maps arch names to the whole-network
    latencies the calibration was fitted on (timed during the build, see :func:`build_table`).
    """

    meta: TableMeta
    entries: dict[str, Entry] = field(default_factory=dict)
    calibration: Calibration | None = None
    networks: dict[str, Entry] = field(default_factory=dict)

    # -- prediction ----------------------------------------------------------------------------------

    def layer_ms(self, arch: Arch | str | Sequence[Layer]) -> list[tuple[Layer, float]]:
        """Every layer of ``arch`` (or of an already resolved layer list) with its entry's median, in network
        order. Raises :class:`LUTError` naming the first op the table does not cover."""
        layers = arch if isinstance(arch, Sequence) and not isinstance(arch, str) else resolve(load_arch(arch))
        out = []
        for layer in layers:
            entry = self.entries.get(layer.key)
            if entry is None:
                space = f"space {self.meta.space!r}" if self.meta.space else "an unnamed op list"
                raise LUTError(f"no entry for {layer.key}: the table covers {space}; "
                               f"rebuild it with `nas build-lut --space FILE`")
            out.append((layer, entry.median_ms))
        return out

    def predict_raw(self, arch: Arch | str | Sequence[Layer]) -> float:
        """Σ of the entries over the layers of ``arch`` (or its resolved layers), in ms (no calibration)."""
        return math.fsum(ms for _, ms in self.layer_ms(arch))

    def features(self, arch: Arch | str | Sequence[Layer]) -> dict[str, float]:
        """The calibration terms of ``arch`` (:data:`TERMS`): its layer count and its weights in MB (float32,
        from the entries' parameter counts; 0 where the table has none)."""
        layers = arch if isinstance(arch, Sequence) and not isinstance(arch, str) else resolve(load_arch(arch))
        params = sum(self.entries[layer.key].params for layer in layers if layer.key in self.entries)
        return {"layers": float(len(layers)), "weight_mb": params * 4 / 1e6}

    def predict(self, arch: Arch | str | Sequence[Layer]) -> float:
        """Predicted latency of ``arch`` (or of its resolved layers) in ms: calibrated if the table has a
        calibration, else the raw sum."""
        layers = arch if isinstance(arch, Sequence) and not isinstance(arch, str) else resolve(load_arch(arch))
        raw = self.predict_raw(layers)
        if self.calibration is None:
            return raw
        return self.calibration.apply(raw, self.features(layers) if self.calibration.terms else None)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    # -- I/O -----------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        cal = None if self.calibration is None else {**dataclasses.asdict(self.calibration),
                                                     **{k: list(getattr(self.calibration, k))
                                                        for k in ("archs", "terms", "coefs")}}

        def rows(d: dict[str, Entry]) -> dict[str, list]:
            return {k: [e.median_ms, e.iqr_ms, list(e.samples_ms), e.params] for k, e in d.items()}

        return {"schema": SCHEMA_VERSION, "meta": dataclasses.asdict(self.meta), "calibration": cal,
                "networks": rows(self.networks), "entries": rows(self.entries)}

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> "LatencyTable":
        if not isinstance(data, Mapping) or "schema" not in data:
            raise LUTError(f"{source}: not a latency table (no 'schema' field)")
        if data["schema"] not in READABLE_SCHEMAS:
            raise LUTError(f"{source}: schema version {data['schema']!r} is not supported (this nas reads "
                           f"{', '.join(map(str, READABLE_SCHEMAS))}); rebuild it with `nas build-lut`")
        try:
            meta = TableMeta(**data["meta"])
            cal_data = data.get("calibration")
            cal = None if cal_data is None else Calibration(**{
                **cal_data, **{k: tuple(cal_data.get(k, ())) for k in ("archs", "terms", "coefs")}})
            entries, networks = ({str(k): Entry(float(v[0]), float(v[1]), tuple(float(x) for x in v[2]),
                                                int(v[3]) if len(v) > 3 else 0)
                                  for k, v in rows.items()} for rows in (data["entries"], data.get("networks", {})))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise LUTError(f"{source}: malformed latency table: {type(exc).__name__}: {exc}") from None
        return cls(meta=meta, entries=entries, calibration=cal, networks=networks)

    def save(self, path: str | Path) -> None:
        """Write the table as JSON, atomically (temporary file + ``os.replace``)."""
        atomic_write(path, json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> "LatencyTable":
        """The table stored at ``path``, without checking it against this machine."""
        text = read_text(path, error=LUTError)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LUTError(f"{path}: invalid JSON: {exc}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto", threads: int | None = None, backend: str = "eager",
             force: bool = False) -> "LatencyTable":
        """Read a table and check it was measured here, for this runtime: device name and type, torch version,
        threads, backend.

        ``threads`` is the intra-op thread count the predictions are for (``None``: 1, the default of
        :func:`~nas.latency.measure.measure_latency` and :func:`~nas.latency.build.build_table`). A mismatch
        raises :class:`LUTError` listing every difference in one line; with ``force=True`` it is a
        :class:`UserWarning` instead and the table is returned.
        """
        table = cls.read(path)
        diffs = table.mismatches(device=device, threads=threads, backend=backend)
        if diffs:
            message = (f"{path}: table was measured on another setup: {'; '.join(diffs)} "
                       "(rebuild it here with `nas build-lut`; from Python, `LatencyTable.load(..., force=True)` "
                       "uses it anyway)")
            if not force:
                raise LUTError(message)
            warnings.warn(message, UserWarning, stacklevel=2)
        return table

    def mismatches(self, *, device: str = "auto", threads: int | None = None, backend: str = "eager") -> list[str]:
        """Differences between this table's metadata and the current machine, as ``'field table ≠ here'``."""
        try:
            here = {**device_info(device, DEFAULT_THREADS if threads is None else threads), "backend": backend}
        except ValueError as exc:
            raise LUTError(str(exc)) from None
        return [f"{k} {getattr(self.meta, k)!r} ≠ {here[k]!r}" for k in MACHINE_KEYS
                if getattr(self.meta, k) != here[k]]
